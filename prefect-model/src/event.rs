//! Run events: what the engine emits for every run (created, state
//! changes, dependency edges, log lines), and the records they carry.

use std::borrow::Cow;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::{FlowRunId, RunId, TaskRunId};
use crate::level::LogLevel;
use crate::state::StateMeta;

/// One thing that happened to a run.
///
/// Its serde form (`{"kind": "state_changed", "event": {..}}`) is what a
/// remote recorder sends to a server.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "kind", content = "event", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Event {
    /// A flow run was created.
    FlowRunCreated(Arc<FlowRunRecord>),
    /// A task run was created.
    TaskRunCreated(Arc<TaskRunRecord>),
    /// A run entered a state.
    StateChanged(StateChange),
    /// A task run depends on another run.
    Dependency(DependencyEdge),
    /// A log line was emitted inside a run.
    Log(Arc<LogRecord>),
    /// A run's value was persisted, or served from a persisted record.
    ResultStored(Arc<ResultReference>),
}

/// Where a run's value is kept: the record it wrote, or the record a cache
/// hit read in place of running the body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResultReference {
    /// The run.
    pub run: RunId,
    /// The flow run it belongs to: the run itself for a flow run, the flow
    /// run it ran in for a task run (`None` outside any flow).
    pub flow_run_id: Option<FlowRunId>,
    /// The record's location, as its storage names it (a file path or a URL).
    pub location: String,
    /// The cache key the record was written under (hex), if the run was cached.
    pub cache_key: Option<String>,
    /// True when the value was read from the record (a cache hit), false when
    /// the run wrote it.
    pub from_cache: bool,
    /// When it was written or read.
    pub timestamp: DateTime<Utc>,
}

/// A flow run as created.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FlowRunRecord {
    /// The run's id.
    pub id: FlowRunId,
    /// The run's name, e.g. `"hilarious-collie"`.
    pub name: String,
    /// The flow's name.
    pub flow_name: Cow<'static, str>,
    /// The flow's version, if given.
    pub flow_version: Option<Cow<'static, str>>,
    /// The call's parameters as a JSON object.
    pub parameters: serde_json::Value,
    /// The run's tags.
    pub tags: Arc<[String]>,
    /// The flow run this one is a subflow of.
    pub parent_flow_run_id: Option<FlowRunId>,
    /// The placeholder task run in the parent flow that stands for this run.
    pub parent_task_run_id: Option<TaskRunId>,
    /// When the run was created.
    pub created: DateTime<Utc>,
}

/// A task run as created.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskRunRecord {
    /// The run's id.
    pub id: TaskRunId,
    /// The run's name, e.g. `"fetch-3f2"`.
    pub name: String,
    /// The task's name.
    pub task_name: Cow<'static, str>,
    /// The flow run it ran in, if any.
    pub flow_run_id: Option<FlowRunId>,
    /// The task run it was called from, if any (nested tasks).
    pub parent_task_run_id: Option<TaskRunId>,
    /// The run's tags (the task's plus those of enclosing tag scopes).
    pub tags: Arc<[String]>,
    /// Its position in a map, if it is one child of a map.
    pub map_index: Option<u32>,
    /// For the placeholder task run of a subflow: the subflow's run.
    pub subflow_run_id: Option<FlowRunId>,
    /// When the run was created.
    pub created: DateTime<Utc>,
}

/// A run entered a state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StateChange {
    /// The run.
    pub run: RunId,
    /// The state it entered.
    pub state: StateMeta,
    /// How many times the run has entered Running so far.
    pub run_count: u32,
}

/// How a task run depends on an upstream run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DependencyKind {
    /// The upstream's value is passed as the named argument.
    Data {
        /// The argument name.
        argument: Cow<'static, str>,
    },
    /// Ordering only (`wait_for`).
    WaitFor,
    /// The upstream's `Result` is passed, whether or not it completed
    /// (`allow_failure`).
    AllowFailure,
}

/// A dependency edge between two runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DependencyEdge {
    /// The run that waits.
    pub downstream: TaskRunId,
    /// The run it waits for.
    pub upstream: RunId,
    /// Data or ordering.
    pub kind: DependencyKind,
}

/// A log line emitted inside a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogRecord {
    /// When it was emitted.
    pub timestamp: DateTime<Utc>,
    /// Its level.
    pub level: LogLevel,
    /// The message.
    pub message: String,
    /// Structured fields other than the message.
    pub fields: serde_json::Map<String, serde_json::Value>,
    /// The emitting module (tracing target).
    pub target: String,
    /// The flow run it belongs to.
    pub flow_run_id: Option<FlowRunId>,
    /// The task run it belongs to.
    pub task_run_id: Option<TaskRunId>,
}
