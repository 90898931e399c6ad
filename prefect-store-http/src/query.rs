//! The capabilities besides recording, through the server's JSON API:
//! reads of runs and logs, tag concurrency slots and limits. What the API
//! does not offer is [`prefect_store::Error::Unsupported`].

use std::time::Duration;

use chrono::{DateTime, Utc};
use prefect_model::{DependencyEdge, FlowRunId, RunId, StateMeta, StateType, TaskRunId};
use prefect_store::wire::{Claim, QueueCall};
use prefect_store::{
    ClaimRequest, ConcurrencyLimit, ConcurrencySlots, Deployment, DeploymentId, DeploymentSpec,
    FlowRunDetail, FlowRunFilter, FlowRunSummary, FlowSummary, LogEntry, LogFilter, NewFlowRun, PruneReport,
    QueuedRun, Retention, RunQuery, RunQueue, RunScope, SlotDecision, SlotHolder, StoreFuture, TaskRunDetail,
    TaskRunFilter, TaskRunScope, TaskRunSummary, Upkeep, WorkQueue, WorkQueueUpdate, WorkerBeat, WorkerInfo,
};
use reqwest::Method;
use serde::de::DeserializeOwned;
use serde_json::json;

use crate::HttpStore;
use crate::client::CallError;

/// The most rows one list call of the API returns.
const MAX_PAGE: usize = 1_000;
/// The most edges `GET /api/flow_runs/{id}/dependencies` returns.
const MAX_EDGES: usize = 100_000;

impl HttpStore {
    /// `GET path` (under the API), its answer's `key` (the whole answer
    /// when `None`) as `T`.
    fn get<T: DeserializeOwned + Send + 'static>(
        &self,
        path: String,
        key: Option<&'static str>,
    ) -> StoreFuture<'_, T> {
        self.send(Method::GET, path, None, key)
    }

    /// A run-queue call (`POST /api/queue`), its `result` as `T`.
    fn queue<T: DeserializeOwned + Send + 'static>(&self, call: QueueCall) -> StoreFuture<'_, T> {
        match serde_json::to_value(&call) {
            Ok(body) => self.send(Method::POST, "/queue".into(), Some(body), Some("result")),
            Err(e) => Box::pin(std::future::ready(Err(prefect_store::Error::InvalidArgument {
                what: "run-queue call",
                reason: format!("it does not serialize: {e}"),
            }))),
        }
    }

    fn send<T: DeserializeOwned + Send + 'static>(
        &self,
        method: Method,
        path: String,
        body: Option<serde_json::Value>,
        key: Option<&'static str>,
    ) -> StoreFuture<'_, T> {
        let answer = self.client.call(method, &path, body.map(|b| b.to_string().into_bytes()));
        let api = self.client.api().to_owned();
        Box::pin(async move {
            let answer = answer.await.map_err(|e| e.into_store_error(&api))?;
            let value = match key {
                Some(key) => answer[key].clone(),
                None => answer,
            };
            serde_json::from_value(value).map_err(|e| {
                CallError::Refused {
                    status: reqwest::StatusCode::BAD_GATEWAY,
                    message: format!("an answer this client does not understand ({e}) to `{path}`"),
                }
                .into_store_error(&api)
            })
        })
    }
}

/// `failed,crashed`.
fn states_param(states: &[StateType]) -> String {
    states.iter().map(|s| format!("{s:?}").to_ascii_lowercase()).collect::<Vec<_>>().join(",")
}

/// A query string from the pairs that are set.
fn query(pairs: &[(&str, Option<String>)]) -> String {
    let parts: Vec<String> = pairs
        .iter()
        .filter_map(|(key, value)| value.as_ref().map(|v| format!("{key}={}", encode(v))))
        .collect();
    if parts.is_empty() { String::new() } else { format!("?{}", parts.join("&")) }
}

/// Percent-encodes a query value.
fn encode(value: &str) -> String {
    percent_encoding::utf8_percent_encode(value, percent_encoding::NON_ALPHANUMERIC).to_string()
}

impl RunQuery for HttpStore {
    fn list_flows(&self) -> StoreFuture<'_, Vec<FlowSummary>> {
        self.get("/flows".into(), Some("flows"))
    }

    fn list_flow_runs<'a>(&'a self, filter: &'a FlowRunFilter) -> StoreFuture<'a, Vec<FlowRunSummary>> {
        if filter.limit > MAX_PAGE {
            return self.unsupported("listing more than 1,000 flow runs at once");
        }
        let limit = filter.limit;
        let path = format!(
            "/flow_runs{}",
            query(&[
                ("state", (!filter.states.is_empty()).then(|| states_param(&filter.states))),
                ("flow", filter.flow_name.clone()),
                ("since", filter.since.map(|t| t.to_rfc3339())),
                ("until", filter.until.map(|t| t.to_rfc3339())),
                ("name", filter.name_contains.clone()),
                ("tag", filter.tag.clone()),
                ("deployment", filter.deployment.map(|d| d.0.to_string())),
                ("after", filter.after.map(|c| c.to_string())),
                ("limit", Some(limit.to_string())),
            ])
        );
        self.get(path, Some("flow_runs"))
    }

    fn inspect_flow_run(&self, id: FlowRunId, task_run_limit: usize) -> StoreFuture<'_, FlowRunDetail> {
        self.get(format!("/flow_runs/{}?task_runs={}", id.0, task_run_limit.min(MAX_PAGE)), None)
    }

    fn list_task_runs<'a>(&'a self, filter: &'a TaskRunFilter) -> StoreFuture<'a, Vec<TaskRunSummary>> {
        if filter.limit > MAX_PAGE {
            return self.unsupported("listing more than 1,000 task runs at once");
        }
        if filter.limit == 0 {
            return Box::pin(std::future::ready(Ok(Vec::new())));
        }
        let (flow_run, standalone) = match filter.scope {
            TaskRunScope::FlowRun(id) => (Some(id.0.to_string()), None),
            TaskRunScope::Standalone => (None, Some("true".to_owned())),
            TaskRunScope::Any => (None, None),
        };
        let path = format!(
            "/task_runs{}",
            query(&[
                ("flow_run", flow_run),
                ("standalone", standalone),
                ("state", (!filter.states.is_empty()).then(|| states_param(&filter.states))),
                ("flow", filter.flow_name.clone()),
                ("deployment", filter.deployment.map(|d| d.0.to_string())),
                ("name", filter.name_contains.clone()),
                ("tag", filter.tag.clone()),
                ("since", filter.since.map(|t| t.to_rfc3339())),
                ("until", filter.until.map(|t| t.to_rfc3339())),
                ("after", filter.after.map(|id| id.0.to_string())),
                ("limit", Some(filter.limit.to_string())),
            ])
        );
        self.get(path, Some("task_runs"))
    }

    fn inspect_task_run(&self, id: TaskRunId) -> StoreFuture<'_, TaskRunDetail> {
        self.get(format!("/task_runs/{}", id.0), None)
    }

    fn dependency_edges(&self, flow_run: FlowRunId, limit: usize) -> StoreFuture<'_, Vec<DependencyEdge>> {
        if limit > MAX_EDGES {
            return self.unsupported("reading more than 100,000 dependency edges at once");
        }
        if limit == 0 {
            return Box::pin(std::future::ready(Ok(Vec::new())));
        }
        self.get(format!("/flow_runs/{}/dependencies?limit={limit}", flow_run.0), Some("dependencies"))
    }

    fn logs<'a>(&'a self, filter: &'a LogFilter) -> StoreFuture<'a, Vec<LogEntry>> {
        let RunId::Flow(run) = filter.run else {
            return self.unsupported("reading a task run's logs");
        };
        if !filter.include_task_runs || filter.since.is_some() || filter.limit > MAX_PAGE {
            return self.unsupported("reading logs with this filter");
        }
        let path = format!(
            "/flow_runs/{}/logs{}",
            run.0,
            query(&[
                ("after", filter.after.map(|c| c.0.to_string())),
                ("level", filter.min_level.map(|l| l.to_string())),
                ("limit", Some(filter.limit.to_string())),
            ])
        );
        self.get(path, Some("logs"))
    }

    fn resolve_run<'a>(&'a self, reference: &'a str, scope: RunScope) -> StoreFuture<'a, RunId> {
        let scope = match scope {
            RunScope::FlowRuns => "flow_runs",
            RunScope::TaskRuns => "task_runs",
            _ => "any",
        };
        let path = format!("/runs/resolve?reference={}&scope={scope}", encode(reference));
        self.get(path, Some("run"))
    }
}

impl ConcurrencySlots for HttpStore {
    fn set_concurrency_limit<'a>(&'a self, _tag: &'a str, _limit: u32) -> StoreFuture<'a, ConcurrencyLimit> {
        self.unsupported("setting a concurrency limit")
    }

    fn concurrency_limit<'a>(&'a self, tag: &'a str) -> StoreFuture<'a, Option<ConcurrencyLimit>> {
        let all = self.list_concurrency_limits();
        Box::pin(async move { Ok(all.await?.into_iter().find(|l| l.tag == tag)) })
    }

    fn list_concurrency_limits(&self) -> StoreFuture<'_, Vec<ConcurrencyLimit>> {
        self.get("/concurrency_limits".into(), Some("concurrency_limits"))
    }

    fn reset_concurrency_limit<'a>(&'a self, _tag: &'a str) -> StoreFuture<'a, bool> {
        self.unsupported("resetting a concurrency limit")
    }

    fn delete_concurrency_limit<'a>(&'a self, _tag: &'a str) -> StoreFuture<'a, bool> {
        self.unsupported("deleting a concurrency limit")
    }

    fn try_acquire_slots<'a>(
        &'a self,
        tags: &'a [String],
        holder: TaskRunId,
    ) -> StoreFuture<'a, SlotDecision> {
        let body = json!({ "tags": tags, "holder": holder });
        self.send(Method::POST, "/concurrency_limits/slots".into(), Some(body), Some("decision"))
    }

    fn release_slots(&self, holder: TaskRunId) -> StoreFuture<'_, ()> {
        let freed = self.send::<serde_json::Value>(
            Method::DELETE,
            format!("/concurrency_limits/slots/{}", holder.0),
            None,
            None,
        );
        Box::pin(async move { freed.await.map(drop) })
    }

    fn list_slot_holders(&self) -> StoreFuture<'_, Vec<SlotHolder>> {
        self.get("/concurrency_limits/holders".into(), Some("holders"))
    }
}

impl Upkeep for HttpStore {
    fn location(&self) -> String {
        self.client.api().to_owned()
    }

    fn schema_version(&self) -> StoreFuture<'_, i64> {
        self.unsupported("reading the schema version")
    }

    fn integrity_check(&self) -> StoreFuture<'_, Vec<String>> {
        self.unsupported("checking the database's integrity")
    }

    /// The server's own job: it judges leases, remote ones by expiry.
    fn mark_crashed_stale_runs(&self) -> StoreFuture<'_, Vec<RunId>> {
        Box::pin(std::future::ready(Ok(Vec::new())))
    }

    fn prune(&self, _older_than: Duration) -> StoreFuture<'_, PruneReport> {
        self.unsupported("pruning")
    }

    fn delete_flow_run(&self, id: FlowRunId) -> StoreFuture<'_, Option<PruneReport>> {
        let deleted = self.send::<serde_json::Value>(
            Method::DELETE,
            format!("/flow_runs/{}", id.0),
            Some(json!({})),
            None,
        );
        Box::pin(async move {
            match deleted.await {
                Ok(answer) => Ok(serde_json::from_value(answer["deleted"].clone()).ok()),
                Err(error) if error.is_not_found() => Ok(None),
                Err(error) => Err(error),
            }
        })
    }

    /// Retention is the server's: a client never prunes it.
    fn prune_if_due(&self, _retention: Retention) -> StoreFuture<'_, Option<PruneReport>> {
        Box::pin(std::future::ready(Ok(None)))
    }
}

impl RunQueue for HttpStore {
    fn upsert_deployment<'a>(&'a self, spec: &'a DeploymentSpec) -> StoreFuture<'a, Deployment> {
        self.queue(QueueCall::UpsertDeployment { spec: spec.clone() })
    }

    fn list_deployments(&self) -> StoreFuture<'_, Vec<Deployment>> {
        self.get("/deployments".into(), Some("deployments"))
    }

    fn deployment<'a>(&'a self, full_name: &'a str) -> StoreFuture<'a, Option<Deployment>> {
        let all = self.list_deployments();
        Box::pin(async move { Ok(all.await?.into_iter().find(|d| d.full_name() == full_name)) })
    }

    fn set_deployment_paused<'a>(&'a self, full_name: &'a str, paused: bool) -> StoreFuture<'a, bool> {
        let action = if paused { "pause" } else { "resume" };
        let sent = self.send::<serde_json::Value>(
            Method::POST,
            format!("/deployments/{full_name}/{action}"),
            Some(json!({})),
            None,
        );
        Box::pin(async move {
            match sent.await {
                Ok(_) => Ok(true),
                Err(e) if e.is_not_found() => Ok(false),
                Err(e) => Err(e),
            }
        })
    }

    fn delete_deployment<'a>(&'a self, full_name: &'a str) -> StoreFuture<'a, bool> {
        self.queue(QueueCall::DeleteDeployment { full_name: full_name.to_owned() })
    }

    fn create_flow_runs<'a>(&'a self, runs: &'a [NewFlowRun]) -> StoreFuture<'a, Vec<FlowRunId>> {
        self.queue(QueueCall::CreateFlowRuns { runs: runs.to_vec() })
    }

    fn queued_runs<'a>(
        &'a self,
        deployment: Option<DeploymentId>,
        due_before: Option<DateTime<Utc>>,
        limit: usize,
    ) -> StoreFuture<'a, Vec<QueuedRun>> {
        self.queue(QueueCall::QueuedRuns { deployment, due_before, limit })
    }

    fn claim_flow_runs<'a>(&'a self, request: ClaimRequest<'a>) -> StoreFuture<'a, Vec<QueuedRun>> {
        self.queue(QueueCall::ClaimFlowRuns(Claim::of(&request)))
    }

    fn next_due<'a>(&'a self, request: ClaimRequest<'a>) -> StoreFuture<'a, Option<DateTime<Utc>>> {
        self.queue(QueueCall::NextDue(Claim::of(&request)))
    }

    fn set_flow_run_state<'a>(
        &'a self,
        run: FlowRunId,
        state: &'a StateMeta,
        expected: &'a [StateType],
    ) -> StoreFuture<'a, Option<StateMeta>> {
        self.queue(QueueCall::SetFlowRunState { run, state: state.clone(), expected: expected.to_vec() })
    }

    fn latest_expected_start(&self, deployment: DeploymentId) -> StoreFuture<'_, Option<DateTime<Utc>>> {
        self.queue(QueueCall::LatestExpectedStart { deployment })
    }

    fn resume_flow_run<'a>(
        &'a self,
        run: FlowRunId,
        input: Option<&'a serde_json::Value>,
    ) -> StoreFuture<'a, Option<StateMeta>> {
        self.queue(QueueCall::ResumeFlowRun { run, input: input.cloned() })
    }

    fn take_resume_input(&self, run: FlowRunId) -> StoreFuture<'_, Option<serde_json::Value>> {
        self.queue(QueueCall::TakeResumeInput { run })
    }

    fn crashed_runs(&self, ended_after: DateTime<Utc>) -> StoreFuture<'_, Vec<QueuedRun>> {
        self.queue(QueueCall::CrashedRuns { ended_after })
    }

    fn mark_late_runs(&self, due_before: DateTime<Utc>) -> StoreFuture<'_, Vec<FlowRunId>> {
        self.queue(QueueCall::MarkLateRuns { due_before })
    }

    fn cancelling_runs(&self, lease: prefect_store::LeaseId) -> StoreFuture<'_, Vec<FlowRunId>> {
        self.queue(QueueCall::CancellingRuns { lease })
    }

    fn update_work_queue<'a>(
        &'a self,
        name: &'a str,
        update: &'a WorkQueueUpdate,
    ) -> StoreFuture<'a, WorkQueue> {
        self.queue(QueueCall::UpdateWorkQueue { name: name.to_owned(), update: update.clone() })
    }

    fn list_work_queues(&self) -> StoreFuture<'_, Vec<WorkQueue>> {
        self.get("/work_queues".into(), Some("work_queues"))
    }

    fn worker_heartbeat<'a>(&'a self, beat: &'a WorkerBeat) -> StoreFuture<'a, ()> {
        self.queue(QueueCall::WorkerHeartbeat { beat: beat.clone() })
    }

    fn list_workers(&self) -> StoreFuture<'_, Vec<WorkerInfo>> {
        self.get("/workers".into(), Some("workers"))
    }
}
