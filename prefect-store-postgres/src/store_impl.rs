//! The store capabilities for [`PostgresStore`]: each call runs on the
//! store's runtime with a pooled connection.

use std::time::Duration;

use chrono::{DateTime, Utc};
use prefect_model::{DependencyEdge, Event, FlowRunId, RunId, StateMeta, StateType, TaskRunId};
use prefect_store::{
    BatchId, ClaimRequest, ConcurrencyLimit, ConcurrencySlots, Deployment, DeploymentId, DeploymentSpec,
    Error, EventWriter, FlowRunDetail, FlowRunFilter, FlowRunSummary, FlowSummary, Lease, LeaseId,
    LeaseOwner, LogEntry, LogFilter, NewFlowRun, PruneReport, QueuedRun, Retention, RunQuery, RunQueue,
    RunScope, SlotDecision, SlotHolder, StoreFuture, TaskRunDetail, TaskRunFilter, TaskRunSummary, Upkeep,
    WorkQueue, WorkQueueUpdate, WorkerBeat, WorkerInfo,
};

use crate::changes::Change;
use crate::{PostgresStore, lease, prune, query, queue, slots, write};

impl PostgresStore {
    /// Stores `events` as batch `batch`, trying again while the server
    /// cannot be reached: the batch's id makes a try whose commit went
    /// through (its answer lost) count once.
    fn store_batch(
        &self,
        batch: uuid::Uuid,
        lease: Option<LeaseId>,
        events: &[Event],
    ) -> StoreFuture<'_, bool> {
        let (kind, events) = (write::change_of(events), std::sync::Arc::new(events.to_vec()));
        let (lease, channel) = (lease.map(|l| l.0), std::sync::Arc::new(self.channel()));
        let stored = self.db.run_retrying(move |mut client| {
            let (events, channel) = (events.clone(), channel.clone());
            async move { write::write_events(&mut client, batch, lease, &events, (&channel, kind)).await }
        });
        self.written(kind, stored)
    }
}

impl EventWriter for PostgresStore {
    fn write_events<'a>(&'a self, lease: Option<LeaseId>, events: &'a [Event]) -> StoreFuture<'a, ()> {
        let stored = self.store_batch(uuid::Uuid::now_v7(), lease, events);
        Box::pin(async move { stored.await.map(drop) })
    }

    fn write_events_once<'a>(
        &'a self,
        batch: BatchId,
        lease: Option<LeaseId>,
        events: &'a [Event],
    ) -> StoreFuture<'a, bool> {
        self.store_batch(batch.0, lease, events)
    }

    fn acquire_lease<'a>(&'a self, owner: &'a LeaseOwner, ttl: Duration) -> StoreFuture<'a, Lease> {
        let owner = owner.clone();
        Box::pin(self.db.run(move |client| lease::acquire(client, owner, ttl)))
    }

    fn renew_lease<'a>(&'a self, held: &'a Lease, ttl: Duration) -> StoreFuture<'a, bool> {
        let held = held.clone();
        Box::pin(self.db.run(move |client| lease::renew(client, held, ttl)))
    }

    fn release_lease(&self, held: LeaseId) -> StoreFuture<'_, Vec<RunId>> {
        Box::pin(self.db.run(move |client| lease::release(client, held)))
    }
}

impl RunQuery for PostgresStore {
    fn list_flows(&self) -> StoreFuture<'_, Vec<FlowSummary>> {
        Box::pin(self.db.run(query::list_flows))
    }

    fn list_flow_runs<'a>(&'a self, filter: &'a FlowRunFilter) -> StoreFuture<'a, Vec<FlowRunSummary>> {
        let filter = filter.clone();
        Box::pin(self.db.run(move |client| query::list_flow_runs(client, filter)))
    }

    fn inspect_flow_run(&self, id: FlowRunId, task_run_limit: usize) -> StoreFuture<'_, FlowRunDetail> {
        Box::pin(self.db.run(move |client| query::inspect_flow_run(client, id, task_run_limit)))
    }

    fn list_task_runs<'a>(&'a self, filter: &'a TaskRunFilter) -> StoreFuture<'a, Vec<TaskRunSummary>> {
        let filter = filter.clone();
        Box::pin(self.db.run(move |client| query::list_task_runs(client, filter)))
    }

    fn inspect_task_run(&self, id: TaskRunId) -> StoreFuture<'_, TaskRunDetail> {
        Box::pin(self.db.run(move |client| query::inspect_task_run(client, id)))
    }

    fn dependency_edges(&self, flow_run: FlowRunId, limit: usize) -> StoreFuture<'_, Vec<DependencyEdge>> {
        Box::pin(self.db.run(move |client| query::dependency_edges(client, flow_run, limit)))
    }

    fn logs<'a>(&'a self, filter: &'a LogFilter) -> StoreFuture<'a, Vec<LogEntry>> {
        let filter = filter.clone();
        Box::pin(self.db.run(move |client| query::logs(client, filter)))
    }

    fn resolve_run<'a>(&'a self, reference: &'a str, scope: RunScope) -> StoreFuture<'a, RunId> {
        let reference = reference.to_owned();
        Box::pin(self.db.run(move |client| query::resolve_run(client, reference, scope)))
    }
}

impl ConcurrencySlots for PostgresStore {
    fn set_concurrency_limit<'a>(&'a self, tag: &'a str, limit: u32) -> StoreFuture<'a, ConcurrencyLimit> {
        let tag = tag.to_owned();
        Box::pin(self.db.run(move |client| slots::set(client, tag, limit)))
    }

    fn concurrency_limit<'a>(&'a self, tag: &'a str) -> StoreFuture<'a, Option<ConcurrencyLimit>> {
        let tag = tag.to_owned();
        Box::pin(self.db.run(move |client| slots::get(client, tag)))
    }

    fn list_concurrency_limits(&self) -> StoreFuture<'_, Vec<ConcurrencyLimit>> {
        Box::pin(self.db.run(slots::list))
    }

    fn reset_concurrency_limit<'a>(&'a self, tag: &'a str) -> StoreFuture<'a, bool> {
        let tag = tag.to_owned();
        Box::pin(self.db.run(move |client| slots::reset(client, tag)))
    }

    fn delete_concurrency_limit<'a>(&'a self, tag: &'a str) -> StoreFuture<'a, bool> {
        let tag = tag.to_owned();
        Box::pin(self.db.run(move |client| slots::delete(client, tag)))
    }

    fn try_acquire_slots<'a>(
        &'a self,
        tags: &'a [String],
        holder: TaskRunId,
    ) -> StoreFuture<'a, SlotDecision> {
        let (tags, owner) = (tags.to_vec(), self.owner.clone());
        let (lease, pool) = (self.slot_lease.clone(), self.db.pool().clone());
        Box::pin(self.db.run(move |client| slots::try_acquire(client, tags, holder, owner, lease, pool)))
    }

    fn release_slots(&self, holder: TaskRunId) -> StoreFuture<'_, ()> {
        Box::pin(self.db.run(move |client| slots::release(client, holder)))
    }

    fn list_slot_holders(&self) -> StoreFuture<'_, Vec<SlotHolder>> {
        let here = self.owner.clone();
        Box::pin(self.db.run(move |client| slots::holders(client, here)))
    }
}

impl Upkeep for PostgresStore {
    fn location(&self) -> String {
        self.db.location().to_owned()
    }

    fn schema_version(&self) -> StoreFuture<'_, i64> {
        Box::pin(self.db.run(|client| async move {
            let row =
                client.query_one("SELECT value FROM prefect_meta WHERE key = 'schema_version'", &[]).await?;
            Ok(row.get(0))
        }))
    }

    fn integrity_check(&self) -> StoreFuture<'_, Vec<String>> {
        // PostgreSQL keeps its own pages consistent; nothing to report.
        Box::pin(std::future::ready(Ok(Vec::new())))
    }

    fn mark_crashed_stale_runs(&self) -> StoreFuture<'_, Vec<RunId>> {
        Box::pin(self.db.run(lease::mark_crashed_stale_runs))
    }

    fn prune(&self, older_than: Duration) -> StoreFuture<'_, PruneReport> {
        Box::pin(self.db.run(move |client| prune::prune(client, older_than)))
    }

    fn delete_flow_run(&self, id: FlowRunId) -> StoreFuture<'_, Option<PruneReport>> {
        Box::pin(self.db.run(move |client| prune::delete_one(client, id)))
    }

    fn prune_if_due(&self, retention: Retention) -> StoreFuture<'_, Option<PruneReport>> {
        Box::pin(self.db.run(move |client| prune::prune_if_due(client, retention)))
    }
}

impl PostgresStore {
    /// `work`, counted as a change of `kind` once it succeeded.
    fn written<T: Send + 'static>(&self, kind: Change, work: StoreFuture<'static, T>) -> StoreFuture<'_, T> {
        Box::pin(async move {
            let done = work.await?;
            self.changes.bump(kind);
            Ok(done)
        })
    }

    /// Waits on the counter of `kind` (see [`RunQueue::wait_for_change`]).
    fn wait_on(&self, kind: Change, seen: u64, timeout: Duration) -> StoreFuture<'_, Option<u64>> {
        self.changes.current(kind, self.db.handle(), self.db.config());
        let mut changes = self.changes.subscribe(kind);
        // The timer runs on the store's runtime: the caller may have none.
        let waited = self.db.handle().spawn(async move {
            let _ = tokio::time::timeout(timeout, changes.wait_for(|now| *now != seen)).await;
            *changes.borrow()
        });
        // A waiter given up on (a worker woken by a run ending instead)
        // stops its wait too.
        let mut waited = AbortOnDrop(waited);
        let location = self.db.location().to_owned();
        Box::pin(async move {
            let now = (&mut waited.0).await.map_err(|e| Error::Database {
                location,
                source: format!("the wait was dropped: {e}").into(),
                busy: false,
            })?;
            Ok(Some(now))
        })
    }

    fn channel(&self) -> String {
        self.changes.channel().to_owned()
    }
}

impl RunQueue for PostgresStore {
    fn upsert_deployment<'a>(&'a self, spec: &'a DeploymentSpec) -> StoreFuture<'a, Deployment> {
        let (spec, channel) = (spec.clone(), self.channel());
        self.written(
            Change::Queue,
            self.db.run(move |client| queue::upsert_deployment(client, spec, channel)),
        )
    }

    fn list_deployments(&self) -> StoreFuture<'_, Vec<Deployment>> {
        Box::pin(self.db.run(queue::list_deployments))
    }

    fn deployment<'a>(&'a self, full_name: &'a str) -> StoreFuture<'a, Option<Deployment>> {
        let full_name = full_name.to_owned();
        Box::pin(self.db.run(move |client| queue::deployment(client, full_name)))
    }

    fn set_deployment_paused<'a>(&'a self, full_name: &'a str, paused: bool) -> StoreFuture<'a, bool> {
        let (full_name, channel) = (full_name.to_owned(), self.channel());
        self.written(
            Change::Queue,
            self.db.run(move |client| queue::set_deployment_paused(client, full_name, paused, channel)),
        )
    }

    fn delete_deployment<'a>(&'a self, full_name: &'a str) -> StoreFuture<'a, bool> {
        let (full_name, channel) = (full_name.to_owned(), self.channel());
        self.written(
            Change::Queue,
            self.db.run(move |client| queue::delete_deployment(client, full_name, channel)),
        )
    }

    fn create_flow_runs<'a>(&'a self, runs: &'a [NewFlowRun]) -> StoreFuture<'a, Vec<FlowRunId>> {
        let (runs, channel) = (runs.to_vec(), self.channel());
        self.written(Change::Queue, self.db.run(move |client| queue::create_flow_runs(client, runs, channel)))
    }

    fn queued_runs<'a>(
        &'a self,
        deployment: Option<DeploymentId>,
        due_before: Option<DateTime<Utc>>,
        limit: usize,
    ) -> StoreFuture<'a, Vec<QueuedRun>> {
        Box::pin(self.db.run(move |client| queue::queued_runs(client, deployment, due_before, limit)))
    }

    fn claim_flow_runs<'a>(&'a self, request: ClaimRequest<'a>) -> StoreFuture<'a, Vec<QueuedRun>> {
        let (request, channel) = (prefect_store::wire::Claim::of(&request), self.channel());
        // Tried again while the server cannot be reached; a try whose
        // commit went through unheard is found, not claimed again.
        let attempt = std::sync::Arc::new(std::sync::Mutex::new(queue::ClaimAttempt::default()));
        let claimed = self.db.run_retrying(move |client| {
            queue::claim_flow_runs(client, request.clone(), channel.clone(), attempt.clone())
        });
        self.written(Change::Record, claimed)
    }

    fn next_due<'a>(&'a self, request: ClaimRequest<'a>) -> StoreFuture<'a, Option<DateTime<Utc>>> {
        let request = prefect_store::wire::Claim::of(&request);
        Box::pin(self.db.run(move |client| queue::next_due(client, request)))
    }

    fn set_flow_run_state<'a>(
        &'a self,
        run: FlowRunId,
        state: &'a StateMeta,
        expected: &'a [StateType],
    ) -> StoreFuture<'a, Option<StateMeta>> {
        let (state, expected, channel) = (state.clone(), expected.to_vec(), self.channel());
        self.written(
            Change::Queue,
            self.db.run(move |client| queue::set_flow_run_state(client, run, state, expected, channel)),
        )
    }

    fn latest_expected_start(&self, deployment: DeploymentId) -> StoreFuture<'_, Option<DateTime<Utc>>> {
        Box::pin(self.db.run(move |client| queue::latest_expected_start(client, deployment)))
    }

    fn resume_flow_run<'a>(
        &'a self,
        run: FlowRunId,
        input: Option<&'a serde_json::Value>,
    ) -> StoreFuture<'a, Option<StateMeta>> {
        let (input, channel) = (input.cloned(), self.channel());
        self.written(
            Change::Record,
            self.db.run(move |client| queue::resume_flow_run(client, run, input, channel)),
        )
    }

    fn take_resume_input(&self, run: FlowRunId) -> StoreFuture<'_, Option<serde_json::Value>> {
        Box::pin(self.db.run(move |client| queue::take_resume_input(client, run)))
    }

    fn crashed_runs(&self, ended_after: DateTime<Utc>) -> StoreFuture<'_, Vec<QueuedRun>> {
        Box::pin(self.db.run(move |client| queue::crashed_runs(client, ended_after)))
    }

    fn mark_late_runs(&self, due_before: DateTime<Utc>) -> StoreFuture<'_, Vec<FlowRunId>> {
        let channel = self.channel();
        self.written(
            Change::Record,
            self.db.run(move |client| queue::mark_late_runs(client, due_before, channel)),
        )
    }

    fn cancelling_runs(&self, lease: LeaseId) -> StoreFuture<'_, Vec<FlowRunId>> {
        Box::pin(self.db.run(move |client| queue::cancelling_runs(client, lease)))
    }

    fn update_work_queue<'a>(
        &'a self,
        name: &'a str,
        update: &'a WorkQueueUpdate,
    ) -> StoreFuture<'a, WorkQueue> {
        let (name, update, channel) = (name.to_owned(), update.clone(), self.channel());
        self.written(
            Change::Queue,
            self.db.run(move |client| queue::update_work_queue(client, name, update, channel)),
        )
    }

    fn list_work_queues(&self) -> StoreFuture<'_, Vec<WorkQueue>> {
        Box::pin(self.db.run(queue::list_work_queues))
    }

    fn worker_heartbeat<'a>(&'a self, beat: &'a WorkerBeat) -> StoreFuture<'a, ()> {
        let beat = beat.clone();
        Box::pin(self.db.run(move |client| queue::worker_heartbeat(client, beat)))
    }

    fn list_workers(&self) -> StoreFuture<'_, Vec<WorkerInfo>> {
        let here = self.owner.clone();
        Box::pin(self.db.run(move |client| queue::list_workers(client, here)))
    }

    fn change_counter(&self) -> StoreFuture<'_, Option<u64>> {
        let now = self.changes.current(Change::Record, self.db.handle(), self.db.config());
        Box::pin(std::future::ready(Ok(Some(now))))
    }

    fn wait_for_change(&self, seen: u64, timeout: Duration) -> StoreFuture<'_, Option<u64>> {
        self.wait_on(Change::Record, seen, timeout)
    }

    fn queue_change_counter(&self) -> StoreFuture<'_, Option<u64>> {
        let now = self.changes.current(Change::Queue, self.db.handle(), self.db.config());
        Box::pin(std::future::ready(Ok(Some(now))))
    }

    fn wait_for_queue_change(&self, seen: u64, timeout: Duration) -> StoreFuture<'_, Option<u64>> {
        self.wait_on(Change::Queue, seen, timeout)
    }
}

/// A task on the store's runtime, aborted when its caller stops waiting.
struct AbortOnDrop<T>(tokio::task::JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}
