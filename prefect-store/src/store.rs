//! The [`Store`] trait: what every run database backend offers.

use std::future::Future;
use std::time::Duration;

use prefect_core::record::Event;
use prefect_core::{FlowRunId, RunId, TaskRunId};

use crate::error::Result;
use crate::filter::{FlowRunFilter, LogFilter, TaskRunFilter};
use crate::lease::{Lease, LeaseId, LeaseOwner};
use crate::model::{
    ConcurrencyLimit, FlowRunDetail, FlowRunSummary, FlowSummary, LogEntry, PruneReport, Retention,
    TaskRunDetail, TaskRunSummary,
};

/// A run database: stores run events and answers the queries of the CLI
/// and UI.
///
/// Every backend (SQLite now, PostgreSQL later) implements this trait and
/// passes the same conformance suite (`prefect_store::conformance`, feature
/// `conformance`). Methods are async so network backends fit; the SQLite
/// backend answers on the calling thread (its queries take microseconds to
/// milliseconds).
///
/// Timestamps are kept to the microsecond. Within one run, a state stamped
/// no later than the run's previous state (two states in the same
/// microsecond) is stored one microsecond after it, so a run's history is
/// strictly ordered by time.
///
/// The engine does not call a store directly: it emits events into a
/// recorder (such as [`crate::SqliteRecorder`]), which batches them into
/// [`Store::write_events`].
pub trait Store: Send + Sync {
    /// Stores a batch of events in one transaction. Runs created by the
    /// batch are owned by `lease` (see [`crate::lease`]). Events for
    /// runs the store does not know are ignored; a repeated run-created event
    /// is ignored.
    ///
    /// # Errors
    /// When the batch could not be stored; nothing of it is then stored.
    fn write_events(
        &self,
        lease: Option<LeaseId>,
        events: &[Event],
    ) -> impl Future<Output = Result<()>> + Send;

    /// Every flow with recorded runs, by name.
    fn list_flows(&self) -> impl Future<Output = Result<Vec<FlowSummary>>> + Send;

    /// Flow runs matching `filter`, newest first.
    fn list_flow_runs(
        &self,
        filter: &FlowRunFilter,
    ) -> impl Future<Output = Result<Vec<FlowRunSummary>>> + Send;

    /// One flow run with its parameters, state history and its first
    /// `task_run_limit` task runs.
    ///
    /// # Errors
    /// [`crate::Error::NotFound`] when no such run is stored.
    fn inspect_flow_run(
        &self,
        id: FlowRunId,
        task_run_limit: usize,
    ) -> impl Future<Output = Result<FlowRunDetail>> + Send;

    /// Task runs matching `filter`, in creation order.
    fn list_task_runs(
        &self,
        filter: &TaskRunFilter,
    ) -> impl Future<Output = Result<Vec<TaskRunSummary>>> + Send;

    /// One task run with its state history and upstream edges.
    ///
    /// # Errors
    /// [`crate::Error::NotFound`] when no such run is stored.
    fn inspect_task_run(&self, id: TaskRunId) -> impl Future<Output = Result<TaskRunDetail>> + Send;

    /// Log lines matching `filter`, in recording order.
    fn logs(&self, filter: &LogFilter) -> impl Future<Output = Result<Vec<LogEntry>>> + Send;

    /// The flow run or task run whose id starts with `prefix` (hex digits,
    /// dashes ignored).
    ///
    /// # Errors
    /// [`crate::Error::NotFound`] when none matches,
    /// [`crate::Error::AmbiguousPrefix`] when several do,
    /// [`crate::Error::InvalidArgument`] for a prefix that is not hex.
    fn resolve_run(&self, prefix: &str) -> impl Future<Output = Result<RunId>> + Send;

    /// Creates the limit for `tag`, or changes it, keeping its active slots.
    ///
    /// # Errors
    /// [`crate::Error::InvalidArgument`] for an empty tag.
    fn set_concurrency_limit(
        &self,
        tag: &str,
        limit: u32,
    ) -> impl Future<Output = Result<ConcurrencyLimit>> + Send;

    /// The limit for `tag`, if one is set.
    fn concurrency_limit(&self, tag: &str) -> impl Future<Output = Result<Option<ConcurrencyLimit>>> + Send;

    /// Every concurrency limit, by tag.
    fn list_concurrency_limits(&self) -> impl Future<Output = Result<Vec<ConcurrencyLimit>>> + Send;

    /// Frees every slot of `tag`'s limit. Returns false if no limit is set.
    fn reset_concurrency_limit(&self, tag: &str) -> impl Future<Output = Result<bool>> + Send;

    /// Deletes `tag`'s limit. Returns false if none was set.
    fn delete_concurrency_limit(&self, tag: &str) -> impl Future<Output = Result<bool>> + Send;

    /// Registers `owner` as a writer for `ttl`.
    fn acquire_lease(&self, owner: &LeaseOwner, ttl: Duration) -> impl Future<Output = Result<Lease>> + Send;

    /// Extends `lease` by `ttl` from now. Returns false when the lease had
    /// been judged dead (its unfinished runs were marked Crashed); it is
    /// then taken again under the same id, so the runs its holder goes on
    /// recording stay owned.
    fn renew_lease(&self, lease: &Lease, ttl: Duration) -> impl Future<Output = Result<bool>> + Send;

    /// Gives `lease` up: runs it owns that have not ended are marked
    /// Crashed (nothing will record their end any more).
    fn release_lease(&self, lease: LeaseId) -> impl Future<Output = Result<Vec<RunId>>> + Send;

    /// Marks Crashed every run that has not ended and whose owning process
    /// is gone (see [`crate::lease`]), and drops the dead leases. Returns the
    /// runs it marked. Runs that ended are never touched.
    fn mark_crashed_stale_runs(&self) -> impl Future<Output = Result<Vec<RunId>>> + Send;

    /// Deletes flow runs (with their task runs) and task runs outside flows
    /// that ended more than `older_than` ago, with their states, logs and
    /// dependency edges. Runs that have not ended are kept.
    fn prune(&self, older_than: Duration) -> impl Future<Output = Result<PruneReport>> + Send;

    /// Prunes with `retention.keep` unless the store was pruned less than
    /// `retention.every` ago. Returns `None` when it was not due.
    fn prune_if_due(&self, retention: Retention) -> impl Future<Output = Result<Option<PruneReport>>> + Send;
}
