//! What queries return: flows, runs with their current state, state
//! histories, log lines, concurrency limits and maintenance reports.

use std::time::Duration;

use chrono::{DateTime, Utc};
use prefect_model::{DependencyEdge, LogRecord, ResultReference};
use prefect_model::{FlowRunId, RunId, StateMeta, StateType, TaskRunId};

/// A flow that has at least one recorded run.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct FlowSummary {
    /// The flow's name.
    pub name: String,
    /// When its first run was recorded.
    pub created: DateTime<Utc>,
    /// When its latest run was created, if any run is still stored.
    pub last_run: Option<DateTime<Utc>>,
}

/// A flow run as listed: its row, without history or parameters.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct FlowRunSummary {
    /// The run's id.
    pub id: FlowRunId,
    /// The run's name.
    pub name: String,
    /// The flow's name.
    pub flow_name: String,
    /// The flow's version, if given.
    pub flow_version: Option<String>,
    /// The run's tags.
    pub tags: Vec<String>,
    /// The flow run this one is a subflow of.
    pub parent_flow_run_id: Option<FlowRunId>,
    /// The task run in the parent flow that stands for this run.
    pub parent_task_run_id: Option<TaskRunId>,
    /// When the run was created.
    pub created: DateTime<Utc>,
    /// When it first entered Running.
    pub start_time: Option<DateTime<Utc>>,
    /// When it entered its final state, while it is in one.
    pub end_time: Option<DateTime<Utc>>,
    /// How many times it entered Running.
    pub run_count: u32,
    /// Its current state, once it has one.
    pub state: Option<StateMeta>,
    /// The deployment it is a run of, if any.
    pub deployment_id: Option<crate::DeploymentId>,
    /// The work queue it was sent to, for a run of a deployment.
    pub work_queue: Option<String>,
    /// When it was due, for a run of a deployment.
    pub expected_start: Option<DateTime<Utc>>,
}

/// A task run as listed: its row, without history.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct TaskRunSummary {
    /// The run's id.
    pub id: TaskRunId,
    /// The run's name.
    pub name: String,
    /// The task's name.
    pub task_name: String,
    /// The flow run it ran in, if any.
    pub flow_run_id: Option<FlowRunId>,
    /// The task run it was called from, if any.
    pub parent_task_run_id: Option<TaskRunId>,
    /// For the placeholder task run of a subflow: the subflow's run.
    pub subflow_run_id: Option<FlowRunId>,
    /// Its position in a map.
    pub map_index: Option<u32>,
    /// The run's tags.
    pub tags: Vec<String>,
    /// When the run was created.
    pub created: DateTime<Utc>,
    /// When it first entered Running.
    pub start_time: Option<DateTime<Utc>>,
    /// When it entered its final state, while it is in one.
    pub end_time: Option<DateTime<Utc>>,
    /// How many times it entered Running.
    pub run_count: u32,
    /// Its current state, once it has one.
    pub state: Option<StateMeta>,
}

/// A run that a name matched, as [`crate::Error::AmbiguousName`] lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunMatch {
    /// The run.
    pub id: RunId,
    /// Its name.
    pub name: String,
    /// When it was created.
    pub created: DateTime<Utc>,
}

/// One flow run with everything `flow-run inspect` shows.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct FlowRunDetail {
    /// The run's row.
    pub run: FlowRunSummary,
    /// The call's parameters as a JSON object.
    pub parameters: serde_json::Value,
    /// Every state it entered, oldest first.
    pub states: Vec<StateMeta>,
    /// Its task runs in creation order, up to the limit asked for.
    pub task_runs: Vec<TaskRunSummary>,
    /// How many task runs it has in all.
    pub task_run_count: u64,
    /// How many of its task runs are in each current state type.
    pub task_run_states: Vec<(StateType, u64)>,
    /// Where the values of the run and of its task runs are kept, for the
    /// runs whose results were persisted or served from a cache, oldest
    /// first, up to the task-run limit asked for (plus the run's own).
    #[serde(default)]
    pub results: Vec<ResultReference>,
}

/// One task run with its state history and upstream edges.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct TaskRunDetail {
    /// The run's row.
    pub run: TaskRunSummary,
    /// Every state it entered, oldest first.
    pub states: Vec<StateMeta>,
    /// The runs it depends on.
    pub upstream: Vec<DependencyEdge>,
    /// Where its value is kept, if it was persisted or served from a cache.
    #[serde(default)]
    pub result: Option<ResultReference>,
}

/// A position in the log table: lines after it are newer in recording
/// order. Used to follow a run's logs (`--follow`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
pub struct LogCursor(pub i64);

/// A stored log line and its cursor.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct LogEntry {
    /// Pass it as `after` to get the lines recorded after this one.
    pub cursor: LogCursor,
    /// The line.
    pub record: LogRecord,
}

/// A tag concurrency limit: at most `limit` task runs carrying `tag` run at
/// once.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ConcurrencyLimit {
    /// The tag.
    pub tag: String,
    /// How many runs with the tag may run at once.
    pub limit: u32,
    /// How many slots are taken now.
    pub active_slots: u32,
    /// When the limit was created.
    pub created: DateTime<Utc>,
    /// When it was last changed.
    pub updated: DateTime<Utc>,
}

/// A task run holding a slot of a tag's concurrency limit.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SlotHolder {
    /// The limit's tag.
    pub tag: String,
    /// The task run holding the slot.
    pub holder: TaskRunId,
    /// Its name, when the task run is recorded.
    pub task_run_name: Option<String>,
    /// Its flow run, when the task run is recorded in one.
    pub flow_run_id: Option<FlowRunId>,
    /// The process that took the slot.
    pub pid: u32,
    /// That process's machine.
    pub host: String,
    /// When the slot was taken.
    pub acquired: DateTime<Utc>,
}

/// What [`crate::Store::prune`] deleted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PruneReport {
    /// Flow runs deleted.
    pub flow_runs: u64,
    /// Task runs deleted.
    pub task_runs: u64,
    /// State history rows deleted.
    pub states: u64,
    /// Log lines deleted.
    pub logs: u64,
    /// Dependency edges deleted.
    pub dependencies: u64,
}

impl PruneReport {
    /// Adds `other`'s counts to this report.
    pub fn add(&mut self, other: PruneReport) {
        self.flow_runs += other.flow_runs;
        self.task_runs += other.task_runs;
        self.states += other.states;
        self.logs += other.logs;
        self.dependencies += other.dependencies;
    }
}

/// How far a prune has got: what [`crate::Upkeep::prune_with_progress`]
/// reports after each of its transactions.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PruneProgress {
    /// What has been deleted so far.
    pub deleted: PruneReport,
    /// How many runs (flow runs, their task runs, and task runs outside
    /// flows) were due for deletion when the prune started, when the store
    /// counts them; compare with `deleted.flow_runs + deleted.task_runs`.
    pub runs_due: Option<u64>,
}

impl PruneProgress {
    /// The runs deleted so far: flow runs and task runs.
    pub fn runs_deleted(&self) -> u64 {
        self.deleted.flow_runs + self.deleted.task_runs
    }
}

/// An automatic retention policy: keep finished runs for `keep`, and prune
/// at most once every `every`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    /// How long finished runs are kept.
    pub keep: Duration,
    /// How often pruning runs.
    pub every: Duration,
}

impl Retention {
    /// Keep finished runs for `keep`, pruning at most hourly.
    pub fn keep(keep: Duration) -> Self {
        Retention { keep, every: Duration::from_secs(3600) }
    }

    /// Prune at most once every `every`.
    pub fn every(mut self, every: Duration) -> Self {
        self.every = every;
        self
    }
}

/// The answer to [`crate::SqliteStore::try_acquire_slots`].
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum SlotDecision {
    /// None of the tags has a limit: run unblocked.
    NoLimits,
    /// A slot of every limited tag is now held.
    Acquired,
    /// Some limited tag has no free slot; nothing was taken.
    Busy,
    /// The tag's limit is 0: the run must not start.
    Abort(String),
}
