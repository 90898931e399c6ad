//! [`Store`] for [`SqliteStore`]: each method runs its query on the
//! calling thread.

use std::time::Duration;

use prefect_core::record::Event;
use prefect_core::{FlowRunId, RunId, TaskRunId};

use super::{SqliteStore, crash, limits, logs, prune, runs, tasks, write};
use crate::error::Result;
use crate::filter::{FlowRunFilter, LogFilter, TaskRunFilter};
use crate::lease::{Lease, LeaseId, LeaseOwner};
use crate::model::{
    ConcurrencyLimit, FlowRunDetail, FlowRunSummary, FlowSummary, LogEntry, PruneReport, Retention,
    TaskRunDetail, TaskRunSummary,
};
use crate::store::Store;

impl Store for SqliteStore {
    async fn write_events(&self, lease: Option<LeaseId>, events: &[Event]) -> Result<()> {
        self.with_conn(|c| write::write_events(c, lease.map(|l| l.0), events))
    }

    async fn list_flows(&self) -> Result<Vec<FlowSummary>> {
        self.with_conn(|c| runs::list_flows(&c.db))
    }

    async fn list_flow_runs(&self, filter: &FlowRunFilter) -> Result<Vec<FlowRunSummary>> {
        self.with_conn(|c| runs::list_flow_runs(&c.db, filter))
    }

    async fn inspect_flow_run(&self, id: FlowRunId, task_run_limit: usize) -> Result<FlowRunDetail> {
        self.with_conn(|c| runs::inspect_flow_run(&c.db, id, task_run_limit))
    }

    async fn list_task_runs(&self, filter: &TaskRunFilter) -> Result<Vec<TaskRunSummary>> {
        self.with_conn(|c| tasks::list_task_runs(&c.db, filter))
    }

    async fn inspect_task_run(&self, id: TaskRunId) -> Result<TaskRunDetail> {
        self.with_conn(|c| tasks::inspect_task_run(&c.db, id))
    }

    async fn logs(&self, filter: &LogFilter) -> Result<Vec<LogEntry>> {
        self.with_conn(|c| logs::logs(&c.db, filter))
    }

    async fn resolve_run(&self, prefix: &str) -> Result<RunId> {
        self.with_conn(|c| runs::resolve_run(&c.db, prefix))
    }

    async fn set_concurrency_limit(&self, tag: &str, limit: u32) -> Result<ConcurrencyLimit> {
        self.with_conn(|c| limits::set(&c.db, tag, limit))
    }

    async fn concurrency_limit(&self, tag: &str) -> Result<Option<ConcurrencyLimit>> {
        self.with_conn(|c| limits::get(&c.db, tag))
    }

    async fn list_concurrency_limits(&self) -> Result<Vec<ConcurrencyLimit>> {
        self.with_conn(|c| limits::list(&c.db))
    }

    async fn reset_concurrency_limit(&self, tag: &str) -> Result<bool> {
        self.with_conn(|c| limits::reset(&c.db, tag))
    }

    async fn delete_concurrency_limit(&self, tag: &str) -> Result<bool> {
        self.with_conn(|c| limits::delete(&c.db, tag))
    }

    async fn acquire_lease(&self, owner: &LeaseOwner, ttl: Duration) -> Result<Lease> {
        self.with_conn(|c| crash::acquire(&c.db, owner, ttl))
    }

    async fn renew_lease(&self, lease: &Lease, ttl: Duration) -> Result<bool> {
        self.with_conn(|c| crash::renew(&c.db, lease, ttl))
    }

    async fn release_lease(&self, lease: LeaseId) -> Result<Vec<RunId>> {
        self.with_conn(|c| crash::release(&mut c.db, lease))
    }

    async fn mark_crashed_stale_runs(&self) -> Result<Vec<RunId>> {
        self.with_conn(|c| crash::mark_crashed_stale_runs(&mut c.db))
    }

    async fn prune(&self, older_than: Duration) -> Result<PruneReport> {
        self.with_conn(|c| prune::prune(&mut c.db, older_than))
    }

    async fn prune_if_due(&self, retention: Retention) -> Result<Option<PruneReport>> {
        self.with_conn(|c| prune::prune_if_due(&mut c.db, retention))
    }
}
