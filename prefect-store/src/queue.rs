//! What the run queue holds: deployments, their scheduled flow runs, work
//! queues and workers (see [`crate::RunQueue`]).
//!
//! A deployment's schedules are kept as JSON the store does not read
//! (prefect-deploy writes and reads them); everything the store filters or
//! orders on has a column: a run's scheduled time, its work queue, its
//! deployment, the lease of the worker that claimed it.

use chrono::{DateTime, Utc};
use prefect_model::{FlowRunId, StateMeta};
use uuid::Uuid;

use crate::lease::LeaseId;

/// The work queue a deployment without one sends its runs to.
pub const DEFAULT_WORK_QUEUE: &str = "default";

/// A deployment's id, kept when the deployment is registered again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
pub struct DeploymentId(pub Uuid);

impl std::fmt::Display for DeploymentId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// What is registered for a deployment: a flow, the parameters and
/// schedules its runs get, and where they are queued.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct DeploymentSpec {
    /// The flow's name.
    pub flow_name: String,
    /// The deployment's name, unique per flow (`etl/daily` is flow `etl`,
    /// deployment `daily`).
    pub name: String,
    /// A description for people.
    pub description: Option<String>,
    /// The version of the code that registered it.
    pub version: Option<String>,
    /// Tags every run of the deployment gets.
    pub tags: Vec<String>,
    /// The work queue its runs go to.
    pub work_queue: String,
    /// Labels a worker must all have to take its runs (Prefect 1's agent
    /// labels: `staging`, `production`, `gpu`); none: any worker of the queue.
    pub labels: Vec<String>,
    /// The parameters of its runs, a JSON object (schedules and callers
    /// override single fields).
    pub parameters: serde_json::Value,
    /// The JSON Schema of the flow's parameters, when known.
    pub parameter_schema: Option<serde_json::Value>,
    /// Its schedules, as prefect-deploy writes them (opaque to the store).
    pub schedules: serde_json::Value,
    /// What happens to runs missed while nothing served it (`"all"`,
    /// `"latest"`, `"skip"`; read by prefect-deploy).
    pub catchup: String,
    /// Whether its schedules are paused.
    pub paused: bool,
}

impl DeploymentSpec {
    /// `flow/name`, as the CLI and `run_deployment` name it.
    pub fn full_name(&self) -> String {
        format!("{}/{}", self.flow_name, self.name)
    }
}

/// A registered deployment.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Deployment {
    /// Its id.
    pub id: DeploymentId,
    /// What was registered.
    pub spec: DeploymentSpec,
    /// When it was first registered.
    pub created: DateTime<Utc>,
    /// When it was last registered or changed.
    pub updated: DateTime<Utc>,
}

impl Deployment {
    /// `flow/name`.
    pub fn full_name(&self) -> String {
        self.spec.full_name()
    }
}

/// A flow run to create for a deployment, in state Scheduled.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct NewFlowRun {
    /// The run's id: for a scheduled time, the same in every process
    /// (`prefect_deploy::scheduled_run_id`), so a run is created once.
    pub id: FlowRunId,
    /// The deployment it belongs to.
    pub deployment: DeploymentId,
    /// The run's name.
    pub name: String,
    /// Its parameters, a JSON object.
    pub parameters: serde_json::Value,
    /// When it is due.
    pub scheduled: DateTime<Utc>,
    /// Whether a schedule made it (such runs are deleted while still
    /// Scheduled when the deployment's schedules change or are paused);
    /// false for a run someone asked for.
    pub auto_scheduled: bool,
    /// The flow run that started it (`run_deployment` inside a flow): it
    /// is listed as that run's subflow.
    pub parent_flow_run_id: Option<FlowRunId>,
    /// When it was created.
    pub created: DateTime<Utc>,
}

/// A flow run of a deployment that waits for a worker.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct QueuedRun {
    /// The run's id.
    pub id: FlowRunId,
    /// Its name.
    pub name: String,
    /// The flow's name.
    pub flow_name: String,
    /// Its deployment.
    pub deployment: DeploymentId,
    /// `flow/name` of the deployment.
    pub deployment_name: String,
    /// The work queue it waits in.
    pub work_queue: String,
    /// Its parameters.
    pub parameters: serde_json::Value,
    /// Its tags.
    pub tags: Vec<String>,
    /// When it is (or was) due.
    pub scheduled: DateTime<Utc>,
    /// Its current state (Scheduled, Late, AwaitingRetry).
    pub state: StateMeta,
    /// How many times it has run before (a run crashed and rescheduled).
    pub run_count: u32,
}

/// What a worker asks for when it claims runs.
#[derive(Debug, Clone, Copy)]
pub struct ClaimRequest<'a> {
    /// The queues it serves; empty: every queue.
    pub queues: &'a [String],
    /// The flows its binary can run.
    pub flows: &'a [String],
    /// Its labels: runs of deployments whose labels it does not all have
    /// are left for another worker.
    pub labels: &'a [String],
    /// Runs due at or before this time are claimed.
    pub now: DateTime<Utc>,
    /// At most this many.
    pub limit: usize,
    /// The worker's lease: claimed runs are owned by it, and crash with it.
    pub lease: LeaseId,
}

/// A work queue: where deployments send runs and workers take them from.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct WorkQueue {
    /// Its name.
    pub name: String,
    /// Runs of queues with a lower number are claimed first (1 is highest).
    pub priority: u32,
    /// At most this many of its runs are Pending or Running at once.
    pub concurrency_limit: Option<u32>,
    /// A paused queue's runs are not claimed.
    pub paused: bool,
    /// A description for people.
    pub description: Option<String>,
    /// When it was created.
    pub created: DateTime<Utc>,
}

/// A change to a work queue, created with defaults when missing (priority
/// 1, no limit, not paused). `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct WorkQueueUpdate {
    /// The new priority.
    pub priority: Option<u32>,
    /// The new limit (`Some(None)` removes it; in JSON, `null` removes it
    /// and a missing field leaves it).
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "present")]
    pub concurrency_limit: Option<Option<u32>>,
    /// Pauses or resumes it.
    pub paused: Option<bool>,
    /// The new description.
    pub description: Option<String>,
}

/// A worker's report of itself, sent with each heartbeat.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct WorkerBeat {
    /// Its name, unique per store (a new worker of the same name replaces it).
    pub name: String,
    /// The queues it serves (empty: all).
    pub queues: Vec<String>,
    /// The flows it can run.
    pub flows: Vec<String>,
    /// Its labels.
    pub labels: Vec<String>,
    /// Its lease.
    pub lease: LeaseId,
    /// `online`, `stopping` or `offline`.
    pub status: String,
    /// When it sent this.
    pub time: DateTime<Utc>,
}

/// A worker as listed.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct WorkerInfo {
    /// Its last report.
    pub beat: WorkerBeat,
    /// When it first reported.
    pub started: DateTime<Utc>,
    /// Its process id and host.
    pub pid: Option<u32>,
    /// The host it runs on.
    pub host: Option<String>,
    /// Whether its lease is still alive (its process runs, or its lease
    /// has not lapsed).
    pub alive: bool,
}

/// A field that is present, `null` included: `Some(value)`.
fn present<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::Deserialize<'de>,
{
    <Option<T> as serde::Deserialize>::deserialize(deserializer).map(Some)
}
