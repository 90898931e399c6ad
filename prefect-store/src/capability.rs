//! The capabilities a store driver offers, one trait each, all object safe
//! (`Arc<dyn Store>` is what [`crate::AnyStore`] holds):
//!
//! - [`EventWriter`]: storing run events and the leases that own runs;
//! - [`RunQuery`]: what the CLI and UI ask: runs, states, logs, edges;
//! - [`ConcurrencySlots`]: tag concurrency limits shared by processes;
//! - [`Upkeep`]: schema, integrity, crash detection, retention.
//!
//! [`Store`] is all four. The run queue of scheduled runs (deployments and
//! workers) is the next capability; it gets its own trait when it lands.
//!
//! Methods return boxed futures so network backends fit; the SQLite driver
//! answers on the calling thread and returns a ready future.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use prefect_model::{Event, FlowRunId, RunId, TaskRunId};

use crate::error::Result;
use crate::filter::{FlowRunFilter, LogFilter, TaskRunFilter};
use crate::lease::{Lease, LeaseId, LeaseOwner};
use crate::model::{
    ConcurrencyLimit, FlowRunDetail, FlowRunSummary, FlowSummary, LogEntry, PruneProgress, PruneReport,
    Retention, SlotDecision, TaskRunDetail, TaskRunSummary,
};
use crate::reference::RunScope;

/// What every store method returns: a boxed, sendable future of a
/// [`Result`].
pub type StoreFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T>> + Send + 'a>>;

/// Stores run events, and the leases that tell whether the process
/// recording a run is alive (see [`crate::lease`]).
///
/// Timestamps are kept to the microsecond. Within one run, a state stamped
/// no later than the run's previous state (two states in the same
/// microsecond) is stored one microsecond after it, so a run's history is
/// strictly ordered by time (the rule is [`crate::transition`]).
pub trait EventWriter: Send + Sync {
    /// Stores a batch of events in one transaction. Runs created by the
    /// batch are owned by `lease`. Events for runs the store does not know
    /// are ignored; a repeated run-created event is ignored.
    ///
    /// # Errors
    /// When the batch could not be stored; nothing of it is then stored.
    fn write_events<'a>(&'a self, lease: Option<LeaseId>, events: &'a [Event]) -> StoreFuture<'a, ()>;

    /// Stores a batch like [`write_events`](EventWriter::write_events) if
    /// that needs no waiting for another writer's lock; `Ok(false)` when it
    /// would have to wait, and then nothing is stored. The
    /// [batching recorder](crate::BatchingRecorder) calls it on the thread
    /// of a root run waiting for its events to be durable, which spares the
    /// hand-off to its writer thread and back. The default always answers
    /// "would wait", so the writer thread stores everything.
    ///
    /// # Errors
    /// When the batch could not be stored for another reason.
    fn write_events_now<'a>(&'a self, lease: Option<LeaseId>, events: &'a [Event]) -> StoreFuture<'a, bool> {
        let _ = (lease, events);
        Box::pin(std::future::ready(Ok(false)))
    }

    /// Registers `owner` as a writer for `ttl` (a `ttl` reaching past the
    /// latest time the store represents makes a lease that never expires).
    fn acquire_lease<'a>(&'a self, owner: &'a LeaseOwner, ttl: Duration) -> StoreFuture<'a, Lease>;

    /// Extends `lease` by `ttl` from now. Returns false when the lease had
    /// been judged dead (its unfinished runs were marked Crashed); it is
    /// then taken again under the same id, so the runs its holder goes on
    /// recording stay owned.
    fn renew_lease<'a>(&'a self, lease: &'a Lease, ttl: Duration) -> StoreFuture<'a, bool>;

    /// Gives `lease` up: runs it owns that have not ended are marked
    /// Crashed (nothing will record their end any more).
    fn release_lease(&self, lease: LeaseId) -> StoreFuture<'_, Vec<RunId>>;
}

/// Answers the questions of the CLI and UI.
pub trait RunQuery: Send + Sync {
    /// Every flow with recorded runs, by name.
    fn list_flows(&self) -> StoreFuture<'_, Vec<FlowSummary>>;

    /// Flow runs matching `filter`, newest first.
    fn list_flow_runs<'a>(&'a self, filter: &'a FlowRunFilter) -> StoreFuture<'a, Vec<FlowRunSummary>>;

    /// One flow run with its parameters, state history and its first
    /// `task_run_limit` task runs.
    ///
    /// # Errors
    /// [`crate::Error::NotFound`] when no such run is stored.
    fn inspect_flow_run(&self, id: FlowRunId, task_run_limit: usize) -> StoreFuture<'_, FlowRunDetail>;

    /// Task runs matching `filter`, in creation order.
    fn list_task_runs<'a>(&'a self, filter: &'a TaskRunFilter) -> StoreFuture<'a, Vec<TaskRunSummary>>;

    /// One task run with its state history and upstream edges.
    ///
    /// # Errors
    /// [`crate::Error::NotFound`] when no such run is stored.
    fn inspect_task_run(&self, id: TaskRunId) -> StoreFuture<'_, TaskRunDetail>;

    /// Log lines matching `filter`, in recording order.
    fn logs<'a>(&'a self, filter: &'a LogFilter) -> StoreFuture<'a, Vec<LogEntry>>;

    /// The run of `scope` that `reference` names, as a person types it:
    ///
    /// - its full id, or a unique prefix of it (hex digits in either case,
    ///   dashes ignored): `0193ab4f-1c2d-…`, `0193ab4f1c2d7e`;
    /// - its short id ([`crate::ShortId`], the last 12 hex digits):
    ///   `9600997dad45`;
    /// - its exact name: `brave-otter`, `fetch-3f2`.
    ///
    /// The id forms win: names are looked up only when no id matches (a
    /// run named like another run's id is reached by its own id).
    ///
    /// Short ids and names are not indexed in every store: the SQLite
    /// driver scans the runs of the scope for them (about 150 ms per
    /// million task runs), so scope lookups to flow runs where only flow
    /// runs make sense.
    ///
    /// # Errors
    /// [`crate::Error::NotFound`] when nothing matches,
    /// [`crate::Error::AmbiguousPrefix`] when an id form matches several
    /// runs, [`crate::Error::AmbiguousName`] when several runs have the
    /// name (it lists the newest), [`crate::Error::InvalidArgument`] for
    /// an empty reference.
    fn resolve_run<'a>(&'a self, reference: &'a str, scope: RunScope) -> StoreFuture<'a, RunId>;
}

/// Tag concurrency limits kept in the store, shared by every process that
/// uses it.
pub trait ConcurrencySlots: Send + Sync {
    /// Creates the limit for `tag`, or changes it, keeping its active slots.
    ///
    /// # Errors
    /// [`crate::Error::InvalidArgument`] for an empty tag.
    fn set_concurrency_limit<'a>(&'a self, tag: &'a str, limit: u32) -> StoreFuture<'a, ConcurrencyLimit>;

    /// The limit for `tag`, if one is set.
    fn concurrency_limit<'a>(&'a self, tag: &'a str) -> StoreFuture<'a, Option<ConcurrencyLimit>>;

    /// Every concurrency limit, by tag.
    fn list_concurrency_limits(&self) -> StoreFuture<'_, Vec<ConcurrencyLimit>>;

    /// Frees every slot of `tag`'s limit. Returns false if no limit is set.
    fn reset_concurrency_limit<'a>(&'a self, tag: &'a str) -> StoreFuture<'a, bool>;

    /// Deletes `tag`'s limit. Returns false if none was set.
    fn delete_concurrency_limit<'a>(&'a self, tag: &'a str) -> StoreFuture<'a, bool>;

    /// Takes a slot of every tag among `tags` that has a limit, for the task
    /// run `holder` of the calling process, or none at all. Slots held by
    /// processes that have died are freed first.
    fn try_acquire_slots<'a>(
        &'a self,
        tags: &'a [String],
        holder: TaskRunId,
    ) -> StoreFuture<'a, SlotDecision>;

    /// Frees the slots the task run `holder` took.
    fn release_slots(&self, holder: TaskRunId) -> StoreFuture<'_, ()>;
}

/// Keeping the store healthy: its schema, crash detection and retention.
pub trait Upkeep: Send + Sync {
    /// Where the store is, for messages: a file path, `:memory:`, a URL
    /// without its password.
    fn location(&self) -> String;

    /// The schema version the store holds.
    fn schema_version(&self) -> StoreFuture<'_, i64>;

    /// Checks the store's integrity; returns the problems found (empty when
    /// sound).
    fn integrity_check(&self) -> StoreFuture<'_, Vec<String>>;

    /// Marks Crashed every run that has not ended and whose owning process
    /// is gone (see [`crate::lease`]), and drops the dead leases. Returns the
    /// runs it marked. Runs that ended are never touched.
    fn mark_crashed_stale_runs(&self) -> StoreFuture<'_, Vec<RunId>>;

    /// Deletes flow runs (with their task runs) and task runs outside flows
    /// that ended more than `older_than` ago, with their states, logs and
    /// dependency edges. Runs that have not ended are kept.
    ///
    /// An `older_than` reaching back before the earliest time the store
    /// can represent (say 300,000 years, or [`Duration::MAX`]) prunes
    /// nothing, as no run ended that long ago: it is not an error.
    fn prune(&self, older_than: Duration) -> StoreFuture<'_, PruneReport>;

    /// [`Upkeep::prune`], calling `progress` with what has been deleted so
    /// far after each transaction: a store that prunes in batches reports
    /// each one (and may first report how many runs are due, with nothing
    /// deleted yet), so a long prune can show how far it has got. Same
    /// contract and result as `prune`, and the last report is that result;
    /// the default prunes in one call and reports once, at the end.
    fn prune_with_progress<'a>(
        &'a self,
        older_than: Duration,
        progress: &'a (dyn Fn(PruneProgress) + Send + Sync),
    ) -> StoreFuture<'a, PruneReport> {
        Box::pin(async move {
            let report = self.prune(older_than).await?;
            progress(PruneProgress { deleted: report, runs_due: None });
            Ok(report)
        })
    }

    /// Prunes with `retention.keep` unless the store was pruned less than
    /// `retention.every` ago. Returns `None` when it was not due.
    fn prune_if_due(&self, retention: Retention) -> StoreFuture<'_, Option<PruneReport>>;

    /// Makes the store's files complete in themselves (SQLite: folds the
    /// write-ahead log into the database file). A no-op for stores without
    /// such files.
    fn checkpoint(&self) -> StoreFuture<'_, ()> {
        Box::pin(std::future::ready(Ok(())))
    }

    /// Folds what it can of the write-ahead log into the database file
    /// without waiting for readers or writers (SQLite: a PASSIVE
    /// checkpoint). The batching recorder calls it on its writer thread as
    /// the log grows, so commits made on the engine's threads never pay
    /// for a checkpoint. A no-op by default.
    fn checkpoint_passive(&self) -> StoreFuture<'_, ()> {
        Box::pin(std::future::ready(Ok(())))
    }
}

/// A complete run database: every capability. Implemented for anything
/// that has them all; `dyn Store` is what [`crate::AnyStore`] holds.
pub trait Store: EventWriter + RunQuery + ConcurrencySlots + Upkeep {}

impl<T: EventWriter + RunQuery + ConcurrencySlots + Upkeep + ?Sized> Store for T {}
