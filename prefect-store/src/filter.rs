//! Query filters, built with chained methods.

use chrono::{DateTime, Utc};
use prefect_model::LogLevel;
use prefect_model::{FlowRunId, RunId, StateType};

use crate::model::LogCursor;

/// The number of rows a query returns when no limit is given.
pub const DEFAULT_LIMIT: usize = 100;

/// Which flow runs to list, newest first.
///
/// # Examples
/// ```
/// use prefect_model::StateType;
/// use prefect_store::FlowRunFilter;
///
/// let filter = FlowRunFilter::new().flow("etl").state(StateType::Failed).limit(20);
/// assert_eq!(filter.limit, 20);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct FlowRunFilter {
    /// Only runs whose current state has one of these types (all when empty).
    pub states: Vec<StateType>,
    /// Only runs of the flow with this name.
    pub flow_name: Option<String>,
    /// Only runs created at or after this time.
    pub since: Option<DateTime<Utc>>,
    /// At most this many runs.
    pub limit: usize,
}

impl Default for FlowRunFilter {
    fn default() -> Self {
        FlowRunFilter { states: Vec::new(), flow_name: None, since: None, limit: DEFAULT_LIMIT }
    }
}

impl FlowRunFilter {
    /// Every flow run, up to [`DEFAULT_LIMIT`].
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a state type to match (runs in any of the added types match).
    pub fn state(mut self, state_type: StateType) -> Self {
        self.states.push(state_type);
        self
    }

    /// Only runs of flow `name`.
    pub fn flow(mut self, name: impl Into<String>) -> Self {
        self.flow_name = Some(name.into());
        self
    }

    /// Only runs created at or after `since`.
    pub fn since(mut self, since: DateTime<Utc>) -> Self {
        self.since = Some(since);
        self
    }

    /// At most `limit` runs.
    pub fn limit(mut self, limit: usize) -> Self {
        self.limit = limit;
        self
    }
}

/// Which task runs to list, in creation order.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TaskRunFilter {
    /// The flow run they ran in; `None` selects task runs outside any flow.
    pub flow_run: Option<FlowRunId>,
    /// Only runs whose current state has one of these types (all when empty).
    pub states: Vec<StateType>,
    /// At most this many runs.
    pub limit: usize,
}

impl TaskRunFilter {
    /// The task runs of `flow_run`, up to [`DEFAULT_LIMIT`].
    pub fn of_flow_run(flow_run: FlowRunId) -> Self {
        TaskRunFilter { flow_run: Some(flow_run), states: Vec::new(), limit: DEFAULT_LIMIT }
    }

    /// Task runs called outside any flow, up to [`DEFAULT_LIMIT`].
    pub fn standalone() -> Self {
        TaskRunFilter { flow_run: None, states: Vec::new(), limit: DEFAULT_LIMIT }
    }

    /// Adds a state type to match.
    pub fn state(mut self, state_type: StateType) -> Self {
        self.states.push(state_type);
        self
    }

    /// At most `limit` runs.
    pub fn limit(mut self, limit: usize) -> Self {
        self.limit = limit;
        self
    }
}

/// Which log lines of a run to read, oldest first.
///
/// To follow a run, read once, then pass the last line's cursor to
/// [`LogFilter::after`] on the next read.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct LogFilter {
    /// The run.
    pub run: RunId,
    /// For a flow run: include the lines of its task runs (the default).
    pub include_task_runs: bool,
    /// Only lines recorded after this cursor.
    pub after: Option<LogCursor>,
    /// Only lines stamped at or after this time.
    pub since: Option<DateTime<Utc>>,
    /// Only lines at this level or above.
    pub min_level: Option<LogLevel>,
    /// At most this many lines.
    pub limit: usize,
}

impl LogFilter {
    /// The lines of `run` (for a flow run, with its task runs' lines), up to
    /// [`DEFAULT_LIMIT`].
    pub fn of(run: impl Into<RunId>) -> Self {
        LogFilter {
            run: run.into(),
            include_task_runs: true,
            after: None,
            since: None,
            min_level: None,
            limit: DEFAULT_LIMIT,
        }
    }

    /// For a flow run: only the lines of the flow's own body.
    pub fn flow_only(mut self) -> Self {
        self.include_task_runs = false;
        self
    }

    /// Only lines recorded after `cursor`.
    pub fn after(mut self, cursor: LogCursor) -> Self {
        self.after = Some(cursor);
        self
    }

    /// Only lines stamped at or after `since`.
    pub fn since(mut self, since: DateTime<Utc>) -> Self {
        self.since = Some(since);
        self
    }

    /// Only lines at `level` or above.
    pub fn min_level(mut self, level: LogLevel) -> Self {
        self.min_level = Some(level);
        self
    }

    /// At most `limit` lines.
    pub fn limit(mut self, limit: usize) -> Self {
        self.limit = limit;
        self
    }
}
