//! Run identifiers: time-ordered UUIDs (v7), typed by what they name.

use std::fmt;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The id of a flow run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct FlowRunId(pub Uuid);

/// The id of a task run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TaskRunId(pub Uuid);

/// Either kind of run id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", content = "id", rename_all = "snake_case")]
pub enum RunId {
    /// A flow run.
    Flow(FlowRunId),
    /// A task run.
    Task(TaskRunId),
}

impl FlowRunId {
    /// A fresh, time-ordered id.
    pub fn new() -> Self {
        FlowRunId(Uuid::now_v7())
    }
}

impl TaskRunId {
    /// A fresh, time-ordered id.
    pub fn new() -> Self {
        TaskRunId(Uuid::now_v7())
    }
}

impl Default for FlowRunId {
    fn default() -> Self {
        Self::new()
    }
}

impl Default for TaskRunId {
    fn default() -> Self {
        Self::new()
    }
}

impl RunId {
    /// The underlying UUID.
    pub fn uuid(self) -> Uuid {
        match self {
            RunId::Flow(id) => id.0,
            RunId::Task(id) => id.0,
        }
    }
}

impl From<FlowRunId> for RunId {
    fn from(id: FlowRunId) -> Self {
        RunId::Flow(id)
    }
}

impl From<TaskRunId> for RunId {
    fn from(id: TaskRunId) -> Self {
        RunId::Task(id)
    }
}

impl fmt::Display for FlowRunId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl fmt::Display for TaskRunId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl fmt::Display for RunId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.uuid().fmt(f)
    }
}
