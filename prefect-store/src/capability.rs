//! The capabilities a store driver offers, one trait each, all object safe
//! (`Arc<dyn Store>` is what [`crate::AnyStore`] holds):
//!
//! - [`EventWriter`]: storing run events and the leases that own runs;
//! - [`RunQuery`]: what the CLI and UI ask: runs, states, logs, edges;
//! - [`ConcurrencySlots`]: tag concurrency limits shared by processes;
//! - [`Upkeep`]: schema, integrity, crash detection, retention;
//! - [`RunQueue`]: deployments, their scheduled runs, work queues and the
//!   workers that claim runs.
//!
//! [`Store`] is all five.
//!
//! Methods return boxed futures so network backends fit; the SQLite driver
//! answers on the calling thread and returns a ready future.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use chrono::{DateTime, Utc};
use prefect_model::{DependencyEdge, Event, FlowRunId, RunId, StateMeta, StateType, TaskRunId};

use crate::batch::BatchId;
use crate::error::Result;
use crate::filter::{FlowRunFilter, LogFilter, TaskRunFilter};
use crate::lease::{Lease, LeaseId, LeaseOwner};
use crate::model::{
    ConcurrencyLimit, FlowRunDetail, FlowRunSummary, FlowSummary, LogEntry, PruneProgress, PruneReport,
    Retention, SlotDecision, SlotHolder, TaskRunDetail, TaskRunSummary,
};
use crate::queue::{
    ClaimRequest, Deployment, DeploymentId, DeploymentSpec, NewFlowRun, QueuedRun, WorkQueue,
    WorkQueueUpdate, WorkerBeat, WorkerInfo,
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

    /// Stores a batch like [`write_events`](EventWriter::write_events),
    /// unless a batch with the id `batch` was stored before: returns
    /// whether it stored the events. What a server calls for a remote
    /// recorder, which sends a batch again when it did not hear the answer
    /// (the id is stored in the same transaction as the events, so a batch
    /// is stored exactly once). Stores keep batch ids at least as long as
    /// the runs they recorded.
    ///
    /// # Errors
    /// When the batch could not be stored; nothing of it is then stored.
    fn write_events_once<'a>(
        &'a self,
        batch: BatchId,
        lease: Option<LeaseId>,
        events: &'a [Event],
    ) -> StoreFuture<'a, bool>;

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

    /// The dependency edges whose downstream task run belongs to
    /// `flow_run` (the run graph's edges), at most `limit`, in recording
    /// order. An edge may point upstream outside the flow run (to the flow
    /// run itself, or to a run of another flow).
    fn dependency_edges(&self, flow_run: FlowRunId, limit: usize) -> StoreFuture<'_, Vec<DependencyEdge>>;

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

    /// Who holds the slots taken now: every holder of every tag, by tag,
    /// then oldest first (slots of processes known to be dead are left out).
    fn list_slot_holders(&self) -> StoreFuture<'_, Vec<SlotHolder>>;
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

    /// Deletes one flow run with its task runs, states, log lines and
    /// edges (its subflows' runs stay). Returns what was deleted, `None`
    /// when there was no such run. Whether the run may be deleted is the
    /// caller's to decide ([`crate::control::delete_flow_run`] refuses a
    /// run that is still going).
    fn delete_flow_run(&self, id: FlowRunId) -> StoreFuture<'_, Option<PruneReport>>;

    /// Prunes with `retention.keep` unless the store was pruned less than
    /// `retention.every` ago. Returns `None` when it was not due.
    fn prune_if_due(&self, retention: Retention) -> StoreFuture<'_, Option<PruneReport>>;

    /// Makes the store's files complete in themselves (SQLite: folds the
    /// write-ahead log into the database file). A no-op for stores without
    /// such files.
    fn checkpoint(&self) -> StoreFuture<'_, ()> {
        Box::pin(std::future::ready(Ok(())))
    }

    /// Checks that the store can be read and written now, so a program
    /// that serves it can say at start what is wrong rather than at the
    /// first request (SQLite: another process holding the file's lock past
    /// the busy timeout is an error naming the file). `Ok` by default.
    ///
    /// # Errors
    /// Why the store cannot be used, naming it.
    fn check_ready(&self) -> StoreFuture<'_, ()> {
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

/// Deployments, the flow runs they schedule, the work queues those runs
/// wait in, and the workers that claim them.
///
/// A run of a deployment is created Scheduled with no lease. A worker
/// claims it (atomically: of several workers claiming at once, one gets
/// it), which moves it to Pending under the worker's lease; from then on
/// the worker's recorder records it like any run, and if the worker dies
/// the run is marked Crashed with its lease
/// ([`Upkeep::mark_crashed_stale_runs`]).
pub trait RunQueue: Send + Sync {
    /// Registers `spec`, or updates the deployment of the same flow and
    /// name (keeping its id). When its schedules change or it is paused,
    /// the runs its schedules created that are still Scheduled and not
    /// claimed are deleted (the scheduler creates the new ones).
    ///
    /// # Errors
    /// [`crate::Error::InvalidArgument`] for an empty flow or deployment name.
    fn upsert_deployment<'a>(&'a self, spec: &'a DeploymentSpec) -> StoreFuture<'a, Deployment>;

    /// Every deployment, by flow and name.
    fn list_deployments(&self) -> StoreFuture<'_, Vec<Deployment>>;

    /// The deployment named `flow/name`, if registered.
    fn deployment<'a>(&'a self, full_name: &'a str) -> StoreFuture<'a, Option<Deployment>>;

    /// Pauses or resumes a deployment's schedules; pausing deletes the runs
    /// they created that are still Scheduled. Returns false when there is
    /// no such deployment.
    fn set_deployment_paused<'a>(&'a self, full_name: &'a str, paused: bool) -> StoreFuture<'a, bool>;

    /// Deletes a deployment with its runs that are still Scheduled; its
    /// other runs stay in the history. Returns false when there is none.
    fn delete_deployment<'a>(&'a self, full_name: &'a str) -> StoreFuture<'a, bool>;

    /// Creates runs in state Scheduled, each in its deployment's work
    /// queue with its flow and tags; a run whose id exists is left as it
    /// is. Returns the ids created.
    ///
    /// # Errors
    /// [`crate::Error::NotFound`] when a run's deployment is not registered
    /// (nothing is created then).
    fn create_flow_runs<'a>(&'a self, runs: &'a [NewFlowRun]) -> StoreFuture<'a, Vec<FlowRunId>>;

    /// Runs of deployments waiting for a worker (Scheduled and not
    /// claimed), the earliest due first: of one deployment when given, due
    /// at or before `due_before` when given, at most `limit`.
    fn queued_runs<'a>(
        &'a self,
        deployment: Option<DeploymentId>,
        due_before: Option<DateTime<Utc>>,
        limit: usize,
    ) -> StoreFuture<'a, Vec<QueuedRun>>;

    /// Claims up to `request.limit` due runs for a worker: runs of the
    /// given queues (all when empty) and flows, in queues that are not
    /// paused and below their concurrency limit, highest queue priority
    /// first, then earliest due. Each moves to Pending under
    /// `request.lease`. A run is claimed by one worker only.
    fn claim_flow_runs<'a>(&'a self, request: ClaimRequest<'a>) -> StoreFuture<'a, Vec<QueuedRun>>;

    /// The earliest time after `request.now` at which a run `request` could
    /// claim falls due (its limit aside): when a waiting worker looks again.
    fn next_due<'a>(&'a self, request: ClaimRequest<'a>) -> StoreFuture<'a, Option<DateTime<Utc>>>;

    /// Moves `run` into `state` if its current state type is one of
    /// `expected` (all when empty); a run that left Scheduled loses its
    /// claim when it goes back to it (a crashed run rescheduled). Returns
    /// the state it was in, or `None` (and changes nothing) when it was in
    /// another one.
    ///
    /// # Errors
    /// [`crate::Error::NotFound`] when there is no such flow run.
    fn set_flow_run_state<'a>(
        &'a self,
        run: FlowRunId,
        state: &'a StateMeta,
        expected: &'a [StateType],
    ) -> StoreFuture<'a, Option<StateMeta>>;

    /// The latest time a run of `deployment` was due, of all its runs
    /// stored (what a scheduler that was down catches up from).
    fn latest_expected_start(&self, deployment: DeploymentId) -> StoreFuture<'_, Option<DateTime<Utc>>>;

    /// Resumes a Paused flow run: it moves to Running, with `input` kept
    /// for the paused flow to take ([`RunQueue::take_resume_input`]).
    /// Returns the Paused state it left, or `None` (and changes nothing)
    /// when it was not paused.
    ///
    /// # Errors
    /// [`crate::Error::NotFound`] when there is no such flow run.
    fn resume_flow_run<'a>(
        &'a self,
        run: FlowRunId,
        input: Option<&'a serde_json::Value>,
    ) -> StoreFuture<'a, Option<StateMeta>>;

    /// The input a resumed run was given, taken (a second call gives `None`).
    fn take_resume_input(&self, run: FlowRunId) -> StoreFuture<'_, Option<serde_json::Value>>;

    /// Runs of deployments that ended Crashed at or after `ended_after`
    /// (their worker died): a worker sends those whose flow has retries
    /// left back to the queue, moving them from Crashed to Scheduled with
    /// [`RunQueue::set_flow_run_state`] (so one worker does it once).
    fn crashed_runs(&self, ended_after: DateTime<Utc>) -> StoreFuture<'_, Vec<QueuedRun>>;

    /// Renames Late the runs still Scheduled (not claimed, not awaiting a
    /// retry) that were due before `due_before`. Returns them.
    fn mark_late_runs(&self, due_before: DateTime<Utc>) -> StoreFuture<'_, Vec<FlowRunId>>;

    /// Flow runs owned by `lease` that someone asked to cancel (moved to
    /// Cancelling by [`RunQueue::set_flow_run_state`]) and that have not
    /// ended: the worker holding the lease cancels them. A run stays listed
    /// even if its process records another state after the request (a
    /// Running state recorded late).
    fn cancelling_runs(&self, lease: LeaseId) -> StoreFuture<'_, Vec<FlowRunId>>;

    /// Changes (or creates) the work queue `name`.
    ///
    /// # Errors
    /// [`crate::Error::InvalidArgument`] for an empty name or priority 0.
    fn update_work_queue<'a>(
        &'a self,
        name: &'a str,
        update: &'a WorkQueueUpdate,
    ) -> StoreFuture<'a, WorkQueue>;

    /// Every work queue, highest priority first; a queue a deployment names
    /// but nobody created is listed with the defaults.
    fn list_work_queues(&self) -> StoreFuture<'_, Vec<WorkQueue>>;

    /// Records a worker's heartbeat.
    fn worker_heartbeat<'a>(&'a self, beat: &'a WorkerBeat) -> StoreFuture<'a, ()>;

    /// Every worker that has reported, most recent heartbeat first.
    fn list_workers(&self) -> StoreFuture<'_, Vec<WorkerInfo>>;

    /// A number that changes when anything was written to the store, by
    /// another connection or through this handle, for workers waiting for
    /// new runs and pages following a run, which poll it cheaply (SQLite:
    /// `PRAGMA data_version` plus the connection's own `total_changes()`).
    /// `None` when the store cannot tell: then poll the queue itself.
    fn change_counter(&self) -> StoreFuture<'_, Option<u64>> {
        Box::pin(std::future::ready(Ok(None)))
    }

    /// Waits until the [change counter](RunQueue::change_counter) is no
    /// longer `seen`, or until `timeout` has passed, and returns it then:
    /// how a store that is told of changes (PostgreSQL's `LISTEN/NOTIFY`)
    /// wakes a waiting worker at once instead of at its next poll. `None`,
    /// at once, from a store that cannot wait (the default): the caller
    /// polls [`RunQueue::change_counter`].
    fn wait_for_change(&self, seen: u64, timeout: Duration) -> StoreFuture<'_, Option<u64>> {
        let _ = (seen, timeout);
        Box::pin(std::future::ready(Ok(None)))
    }

    /// A number that changes when the run queue changed: runs queued or
    /// sent back to it, a cancellation asked for, a work queue or
    /// deployment changed, a flow run ended (room in a limited queue). What
    /// a waiting worker follows, so that it is not woken by every state
    /// another worker records. By default the
    /// [change counter](RunQueue::change_counter).
    fn queue_change_counter(&self) -> StoreFuture<'_, Option<u64>> {
        self.change_counter()
    }

    /// [`RunQueue::wait_for_change`] for the
    /// [queue change counter](RunQueue::queue_change_counter). `None`, at
    /// once, from a store that cannot wait (the default).
    fn wait_for_queue_change(&self, seen: u64, timeout: Duration) -> StoreFuture<'_, Option<u64>> {
        let _ = (seen, timeout);
        Box::pin(std::future::ready(Ok(None)))
    }
}

/// A complete run database: every capability. Implemented for anything
/// that has them all; `dyn Store` is what [`crate::AnyStore`] holds.
pub trait Store: EventWriter + RunQuery + ConcurrencySlots + Upkeep + RunQueue {}

impl<T: EventWriter + RunQuery + ConcurrencySlots + Upkeep + RunQueue + ?Sized> Store for T {}
