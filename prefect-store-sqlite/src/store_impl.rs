//! The store capabilities for [`SqliteStore`]: each method runs its query
//! on the calling thread and returns a ready future.

use std::future::ready;
use std::time::Duration;

use chrono::{DateTime, Utc};
use prefect_model::{DependencyEdge, Event, FlowRunId, RunId, StateMeta, StateType, TaskRunId};
use prefect_store::{
    BatchId, ClaimRequest, ConcurrencyLimit, ConcurrencySlots, Deployment, DeploymentId, DeploymentSpec,
    EventWriter, FlowRunDetail, FlowRunFilter, FlowRunSummary, FlowSummary, Lease, LeaseId, LeaseOwner,
    LogEntry, LogFilter, NewFlowRun, PruneProgress, PruneReport, QueuedRun, Retention, RunQuery, RunQueue,
    RunScope, SlotDecision, SlotHolder, StoreFuture, TaskRunDetail, TaskRunFilter, TaskRunSummary, Upkeep,
    WorkQueue, WorkQueueUpdate, WorkerBeat, WorkerInfo,
};

use crate::{SqliteStore, crash, limits, logs, prune, queue, runs, slots, tasks, write};

impl EventWriter for SqliteStore {
    fn write_events<'a>(&'a self, lease: Option<LeaseId>, events: &'a [Event]) -> StoreFuture<'a, ()> {
        Box::pin(ready(self.with_conn(|c| write::write_events(c, lease.map(|l| l.0), events))))
    }

    fn write_events_once<'a>(
        &'a self,
        batch: BatchId,
        lease: Option<LeaseId>,
        events: &'a [Event],
    ) -> StoreFuture<'a, bool> {
        Box::pin(ready(self.with_conn(|c| write::write_events_once(c, batch.0, lease.map(|l| l.0), events))))
    }

    fn write_events_now<'a>(&'a self, lease: Option<LeaseId>, events: &'a [Event]) -> StoreFuture<'a, bool> {
        Box::pin(ready(self.write_events_without_waiting(lease.map(|l| l.0), events)))
    }

    fn acquire_lease<'a>(&'a self, owner: &'a LeaseOwner, ttl: Duration) -> StoreFuture<'a, Lease> {
        Box::pin(ready(self.with_conn(|c| crash::acquire(&c.db, owner, ttl))))
    }

    fn renew_lease<'a>(&'a self, lease: &'a Lease, ttl: Duration) -> StoreFuture<'a, bool> {
        Box::pin(ready(self.with_conn(|c| crash::renew(&c.db, lease, ttl))))
    }

    fn release_lease(&self, lease: LeaseId) -> StoreFuture<'_, Vec<RunId>> {
        Box::pin(ready(self.with_conn(|c| {
            let crashed = crash::release(&mut c.db, lease)?;
            // A recorder closing: a good moment for SQLite to refresh its
            // query planner statistics.
            let _ = c.db.execute_batch("PRAGMA optimize");
            Ok(crashed)
        })))
    }
}

impl RunQuery for SqliteStore {
    fn list_flows(&self) -> StoreFuture<'_, Vec<FlowSummary>> {
        Box::pin(ready(self.with_conn(|c| runs::list_flows(&c.db))))
    }

    fn list_flow_runs<'a>(&'a self, filter: &'a FlowRunFilter) -> StoreFuture<'a, Vec<FlowRunSummary>> {
        Box::pin(ready(self.with_conn(|c| runs::list_flow_runs(&c.db, filter))))
    }

    fn inspect_flow_run(&self, id: FlowRunId, task_run_limit: usize) -> StoreFuture<'_, FlowRunDetail> {
        Box::pin(ready(self.with_conn(|c| runs::inspect_flow_run(&c.db, id, task_run_limit))))
    }

    fn list_task_runs<'a>(&'a self, filter: &'a TaskRunFilter) -> StoreFuture<'a, Vec<TaskRunSummary>> {
        Box::pin(ready(self.with_conn(|c| tasks::list_task_runs(&c.db, filter))))
    }

    fn inspect_task_run(&self, id: TaskRunId) -> StoreFuture<'_, TaskRunDetail> {
        Box::pin(ready(self.with_conn(|c| tasks::inspect_task_run(&c.db, id))))
    }

    fn dependency_edges(&self, flow_run: FlowRunId, limit: usize) -> StoreFuture<'_, Vec<DependencyEdge>> {
        Box::pin(ready(self.with_conn(|c| tasks::dependency_edges(&c.db, flow_run, limit))))
    }

    fn logs<'a>(&'a self, filter: &'a LogFilter) -> StoreFuture<'a, Vec<LogEntry>> {
        Box::pin(ready(self.with_conn(|c| logs::logs(&c.db, filter))))
    }

    fn resolve_run<'a>(&'a self, reference: &'a str, scope: RunScope) -> StoreFuture<'a, RunId> {
        Box::pin(ready(self.with_conn(|c| runs::resolve_run(&c.db, reference, scope))))
    }
}

impl ConcurrencySlots for SqliteStore {
    fn set_concurrency_limit<'a>(&'a self, tag: &'a str, limit: u32) -> StoreFuture<'a, ConcurrencyLimit> {
        Box::pin(ready(self.with_conn(|c| limits::set(&c.db, tag, limit))))
    }

    fn concurrency_limit<'a>(&'a self, tag: &'a str) -> StoreFuture<'a, Option<ConcurrencyLimit>> {
        Box::pin(ready(self.with_conn(|c| limits::get(&c.db, tag))))
    }

    fn list_concurrency_limits(&self) -> StoreFuture<'_, Vec<ConcurrencyLimit>> {
        Box::pin(ready(self.with_conn(|c| limits::list(&c.db))))
    }

    fn reset_concurrency_limit<'a>(&'a self, tag: &'a str) -> StoreFuture<'a, bool> {
        Box::pin(ready(self.with_conn(|c| limits::reset(&mut c.db, tag))))
    }

    fn delete_concurrency_limit<'a>(&'a self, tag: &'a str) -> StoreFuture<'a, bool> {
        Box::pin(ready(self.with_conn(|c| limits::delete(&c.db, tag))))
    }

    fn try_acquire_slots<'a>(
        &'a self,
        tags: &'a [String],
        holder: TaskRunId,
    ) -> StoreFuture<'a, SlotDecision> {
        let owner = LeaseOwner::current();
        Box::pin(ready(self.with_conn(|c| slots::try_acquire(&mut c.db, tags, holder, &owner))))
    }

    fn release_slots(&self, holder: TaskRunId) -> StoreFuture<'_, ()> {
        Box::pin(ready(self.with_conn(|c| slots::release(&mut c.db, holder))))
    }

    fn list_slot_holders(&self) -> StoreFuture<'_, Vec<SlotHolder>> {
        let here = LeaseOwner::current();
        Box::pin(ready(self.with_conn(|c| slots::holders(&c.db, &here))))
    }
}

impl Upkeep for SqliteStore {
    fn check_ready(&self) -> StoreFuture<'_, ()> {
        Box::pin(ready(self.with_conn(|c| {
            // A read, then the write lock taken and given back: each waits
            // for another process's lock up to the busy timeout.
            c.db.query_row("SELECT count(*) FROM sqlite_master", [], |_| Ok(()))?;
            if !c.db.is_readonly(rusqlite::MAIN_DB)? {
                c.db.execute_batch("BEGIN IMMEDIATE; ROLLBACK;")?;
            }
            Ok(())
        })))
    }

    fn location(&self) -> String {
        self.location_name()
    }

    fn schema_version(&self) -> StoreFuture<'_, i64> {
        Box::pin(ready(SqliteStore::schema_version(self)))
    }

    fn integrity_check(&self) -> StoreFuture<'_, Vec<String>> {
        Box::pin(ready(SqliteStore::integrity_check(self)))
    }

    fn mark_crashed_stale_runs(&self) -> StoreFuture<'_, Vec<RunId>> {
        Box::pin(ready(self.with_conn(|c| crash::mark_crashed_stale_runs(&mut c.db))))
    }

    fn prune(&self, older_than: Duration) -> StoreFuture<'_, PruneReport> {
        Box::pin(ready(self.with_conn(|c| prune::prune(&mut c.db, older_than, None))))
    }

    fn prune_with_progress<'a>(
        &'a self,
        older_than: Duration,
        progress: &'a (dyn Fn(PruneProgress) + Send + Sync),
    ) -> StoreFuture<'a, PruneReport> {
        Box::pin(ready(self.with_conn(|c| prune::prune(&mut c.db, older_than, Some(progress)))))
    }

    fn delete_flow_run(&self, id: FlowRunId) -> StoreFuture<'_, Option<PruneReport>> {
        Box::pin(ready(self.with_conn(|c| prune::delete_one(&mut c.db, id))))
    }

    fn prune_if_due(&self, retention: Retention) -> StoreFuture<'_, Option<PruneReport>> {
        Box::pin(ready(self.with_conn(|c| prune::prune_if_due(&mut c.db, retention))))
    }

    fn checkpoint_passive(&self) -> StoreFuture<'_, ()> {
        Box::pin(ready(self.with_conn(|c| {
            c.db.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))?;
            Ok(())
        })))
    }

    fn checkpoint(&self) -> StoreFuture<'_, ()> {
        Box::pin(ready(self.with_conn(|c| {
            c.db.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
            Ok(())
        })))
    }
}

impl RunQueue for SqliteStore {
    fn upsert_deployment<'a>(&'a self, spec: &'a DeploymentSpec) -> StoreFuture<'a, Deployment> {
        Box::pin(ready(self.with_conn(|c| queue::upsert_deployment(&mut c.db, spec))))
    }

    fn list_deployments(&self) -> StoreFuture<'_, Vec<Deployment>> {
        Box::pin(ready(self.with_conn(|c| queue::list_deployments(&c.db))))
    }

    fn deployment<'a>(&'a self, full_name: &'a str) -> StoreFuture<'a, Option<Deployment>> {
        Box::pin(ready(self.with_conn(|c| queue::deployment(&c.db, full_name))))
    }

    fn set_deployment_paused<'a>(&'a self, full_name: &'a str, paused: bool) -> StoreFuture<'a, bool> {
        Box::pin(ready(self.with_conn(|c| queue::set_deployment_paused(&mut c.db, full_name, paused))))
    }

    fn delete_deployment<'a>(&'a self, full_name: &'a str) -> StoreFuture<'a, bool> {
        Box::pin(ready(self.with_conn(|c| queue::delete_deployment(&mut c.db, full_name))))
    }

    fn create_flow_runs<'a>(&'a self, runs: &'a [NewFlowRun]) -> StoreFuture<'a, Vec<FlowRunId>> {
        Box::pin(ready(self.with_conn(|c| {
            let created = queue::create_flow_runs(c, runs);
            if created.is_err() {
                c.flows.clear();
            }
            created
        })))
    }

    fn queued_runs<'a>(
        &'a self,
        deployment: Option<DeploymentId>,
        due_before: Option<DateTime<Utc>>,
        limit: usize,
    ) -> StoreFuture<'a, Vec<QueuedRun>> {
        Box::pin(ready(self.with_conn(|c| queue::queued_runs(&c.db, deployment, due_before, limit))))
    }

    fn claim_flow_runs<'a>(&'a self, request: ClaimRequest<'a>) -> StoreFuture<'a, Vec<QueuedRun>> {
        Box::pin(ready(self.with_conn(|c| queue::claim_flow_runs(&mut c.db, request))))
    }

    fn next_due<'a>(&'a self, request: ClaimRequest<'a>) -> StoreFuture<'a, Option<DateTime<Utc>>> {
        Box::pin(ready(self.with_conn(|c| queue::next_due(&c.db, request))))
    }

    fn set_flow_run_state<'a>(
        &'a self,
        run: FlowRunId,
        state: &'a StateMeta,
        expected: &'a [StateType],
    ) -> StoreFuture<'a, Option<StateMeta>> {
        Box::pin(ready(self.with_conn(|c| queue::set_flow_run_state(&mut c.db, run, state, expected))))
    }

    fn latest_expected_start(&self, deployment: DeploymentId) -> StoreFuture<'_, Option<DateTime<Utc>>> {
        Box::pin(ready(self.with_conn(|c| queue::latest_expected_start(&c.db, deployment))))
    }

    fn resume_flow_run<'a>(
        &'a self,
        run: FlowRunId,
        input: Option<&'a serde_json::Value>,
    ) -> StoreFuture<'a, Option<StateMeta>> {
        Box::pin(ready(self.with_conn(|c| queue::resume_flow_run(&mut c.db, run, input))))
    }

    fn take_resume_input(&self, run: FlowRunId) -> StoreFuture<'_, Option<serde_json::Value>> {
        Box::pin(ready(self.with_conn(|c| queue::take_resume_input(&mut c.db, run))))
    }

    fn crashed_runs(&self, ended_after: DateTime<Utc>) -> StoreFuture<'_, Vec<QueuedRun>> {
        Box::pin(ready(self.with_conn(|c| queue::crashed_runs(&c.db, ended_after))))
    }

    fn mark_late_runs(&self, due_before: DateTime<Utc>) -> StoreFuture<'_, Vec<FlowRunId>> {
        Box::pin(ready(self.with_conn(|c| queue::mark_late_runs(&mut c.db, due_before))))
    }

    fn cancelling_runs(&self, lease: LeaseId) -> StoreFuture<'_, Vec<FlowRunId>> {
        Box::pin(ready(self.with_conn(|c| queue::cancelling_runs(&c.db, lease.0))))
    }

    fn update_work_queue<'a>(
        &'a self,
        name: &'a str,
        update: &'a WorkQueueUpdate,
    ) -> StoreFuture<'a, WorkQueue> {
        Box::pin(ready(self.with_conn(|c| queue::update_work_queue(&mut c.db, name, update))))
    }

    fn list_work_queues(&self) -> StoreFuture<'_, Vec<WorkQueue>> {
        Box::pin(ready(self.with_conn(|c| queue::list_work_queues(&c.db))))
    }

    fn worker_heartbeat<'a>(&'a self, beat: &'a WorkerBeat) -> StoreFuture<'a, ()> {
        Box::pin(ready(self.with_conn(|c| queue::worker_heartbeat(&c.db, beat))))
    }

    fn list_workers(&self) -> StoreFuture<'_, Vec<WorkerInfo>> {
        Box::pin(ready(self.with_conn(|c| queue::list_workers(&c.db))))
    }

    fn change_counter(&self) -> StoreFuture<'_, Option<u64>> {
        Box::pin(ready(self.with_conn(|c| queue::change_counter(&c.db))))
    }
}
