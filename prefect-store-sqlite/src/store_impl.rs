//! The store capabilities for [`SqliteStore`]: each method runs its query
//! on the calling thread and returns a ready future.

use std::future::ready;
use std::time::Duration;

use prefect_model::{Event, FlowRunId, RunId, TaskRunId};
use prefect_store::{
    ConcurrencyLimit, ConcurrencySlots, EventWriter, FlowRunDetail, FlowRunFilter, FlowRunSummary,
    FlowSummary, Lease, LeaseId, LeaseOwner, LogEntry, LogFilter, PruneProgress, PruneReport, Retention,
    RunQuery, RunScope, SlotDecision, StoreFuture, TaskRunDetail, TaskRunFilter, TaskRunSummary, Upkeep,
};

use crate::{SqliteStore, crash, limits, logs, prune, runs, slots, tasks, write};

impl EventWriter for SqliteStore {
    fn write_events<'a>(&'a self, lease: Option<LeaseId>, events: &'a [Event]) -> StoreFuture<'a, ()> {
        Box::pin(ready(self.with_conn(|c| write::write_events(c, lease.map(|l| l.0), events))))
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
}

impl Upkeep for SqliteStore {
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
