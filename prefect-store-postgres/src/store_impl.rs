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

use crate::{PostgresStore, lease, prune, query, slots, write};

impl PostgresStore {
    /// A call this version does not do, as an error naming it.
    fn unsupported<T: Send + 'static>(&self, operation: &'static str) -> StoreFuture<'static, T> {
        let store = format!("the PostgreSQL store at `{}`", self.db.location());
        Box::pin(std::future::ready(Err(Error::Unsupported { operation, store })))
    }
}

impl EventWriter for PostgresStore {
    fn write_events<'a>(&'a self, lease: Option<LeaseId>, events: &'a [Event]) -> StoreFuture<'a, ()> {
        let events = events.to_vec();
        let lease = lease.map(|l| l.0);
        let stored = self.db.run(move |mut client| async move {
            write::write_events(&mut client, None, lease, &events).await.map(drop)
        });
        Box::pin(stored)
    }

    fn write_events_once<'a>(
        &'a self,
        batch: BatchId,
        lease: Option<LeaseId>,
        events: &'a [Event],
    ) -> StoreFuture<'a, bool> {
        let events = events.to_vec();
        let lease = lease.map(|l| l.0);
        Box::pin(self.db.run(move |mut client| async move {
            write::write_events(&mut client, Some(batch.0), lease, &events).await
        }))
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
        Box::pin(self.db.run(move |client| slots::try_acquire(client, tags, holder, owner)))
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

impl RunQueue for PostgresStore {
    fn upsert_deployment<'a>(&'a self, _: &'a DeploymentSpec) -> StoreFuture<'a, Deployment> {
        self.unsupported("registering a deployment")
    }

    fn list_deployments(&self) -> StoreFuture<'_, Vec<Deployment>> {
        self.unsupported("listing deployments")
    }

    fn deployment<'a>(&'a self, _: &'a str) -> StoreFuture<'a, Option<Deployment>> {
        self.unsupported("reading a deployment")
    }

    fn set_deployment_paused<'a>(&'a self, _: &'a str, _: bool) -> StoreFuture<'a, bool> {
        self.unsupported("pausing a deployment")
    }

    fn delete_deployment<'a>(&'a self, _: &'a str) -> StoreFuture<'a, bool> {
        self.unsupported("deleting a deployment")
    }

    fn create_flow_runs<'a>(&'a self, _: &'a [NewFlowRun]) -> StoreFuture<'a, Vec<FlowRunId>> {
        self.unsupported("creating scheduled runs")
    }

    fn queued_runs<'a>(
        &'a self,
        _: Option<DeploymentId>,
        _: Option<DateTime<Utc>>,
        _: usize,
    ) -> StoreFuture<'a, Vec<QueuedRun>> {
        self.unsupported("listing queued runs")
    }

    fn claim_flow_runs<'a>(&'a self, _: ClaimRequest<'a>) -> StoreFuture<'a, Vec<QueuedRun>> {
        self.unsupported("claiming runs")
    }

    fn next_due<'a>(&'a self, _: ClaimRequest<'a>) -> StoreFuture<'a, Option<DateTime<Utc>>> {
        self.unsupported("reading the next due run")
    }

    fn set_flow_run_state<'a>(
        &'a self,
        _: FlowRunId,
        _: &'a StateMeta,
        _: &'a [StateType],
    ) -> StoreFuture<'a, Option<StateMeta>> {
        self.unsupported("setting a flow run's state")
    }

    fn latest_expected_start(&self, _: DeploymentId) -> StoreFuture<'_, Option<DateTime<Utc>>> {
        self.unsupported("reading a deployment's latest run")
    }

    fn resume_flow_run<'a>(
        &'a self,
        _: FlowRunId,
        _: Option<&'a serde_json::Value>,
    ) -> StoreFuture<'a, Option<StateMeta>> {
        self.unsupported("resuming a flow run")
    }

    fn take_resume_input(&self, _: FlowRunId) -> StoreFuture<'_, Option<serde_json::Value>> {
        self.unsupported("reading a resume input")
    }

    fn crashed_runs(&self, _: DateTime<Utc>) -> StoreFuture<'_, Vec<QueuedRun>> {
        self.unsupported("listing crashed runs")
    }

    fn mark_late_runs(&self, _: DateTime<Utc>) -> StoreFuture<'_, Vec<FlowRunId>> {
        self.unsupported("marking late runs")
    }

    fn cancelling_runs(&self, _: LeaseId) -> StoreFuture<'_, Vec<FlowRunId>> {
        self.unsupported("listing cancelling runs")
    }

    fn update_work_queue<'a>(&'a self, _: &'a str, _: &'a WorkQueueUpdate) -> StoreFuture<'a, WorkQueue> {
        self.unsupported("changing a work queue")
    }

    fn list_work_queues(&self) -> StoreFuture<'_, Vec<WorkQueue>> {
        self.unsupported("listing work queues")
    }

    fn worker_heartbeat<'a>(&'a self, _: &'a WorkerBeat) -> StoreFuture<'a, ()> {
        self.unsupported("recording a worker's heartbeat")
    }

    fn list_workers(&self) -> StoreFuture<'_, Vec<WorkerInfo>> {
        self.unsupported("listing workers")
    }
}
