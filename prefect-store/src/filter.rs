//! Query filters, built with chained methods.

use chrono::{DateTime, Utc};
use prefect_model::LogLevel;
use prefect_model::{FlowRunId, RunId, StateType, TaskRunId};

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
    /// Only runs created before this time.
    pub until: Option<DateTime<Utc>>,
    /// Only runs whose name holds this text (any case).
    pub name_contains: Option<String>,
    /// Only runs carrying this tag.
    pub tag: Option<String>,
    /// Only runs of this deployment.
    pub deployment: Option<crate::DeploymentId>,
    /// Only runs listed after this one (the next page).
    pub after: Option<FlowRunCursor>,
    /// At most this many runs.
    pub limit: usize,
}

impl Default for FlowRunFilter {
    fn default() -> Self {
        FlowRunFilter {
            states: Vec::new(),
            flow_name: None,
            since: None,
            until: None,
            name_contains: None,
            tag: None,
            deployment: None,
            after: None,
            limit: DEFAULT_LIMIT,
        }
    }
}

/// Where a page of flow runs ended: the next page starts after it. Runs are
/// listed newest first by creation time, then by id, so a cursor is the
/// last run's pair; runs created meanwhile do not shift later pages.
///
/// As text (in URLs) it is `<microseconds since the epoch>.<run id>`.
///
/// ```
/// use prefect_store::FlowRunCursor;
///
/// let text = "1733000000000000.0193ab4f-1c2d-7e00-8000-000000000001";
/// let cursor: FlowRunCursor = text.parse().unwrap();
/// assert_eq!(cursor.to_string(), text);
/// assert!("yesterday".parse::<FlowRunCursor>().is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FlowRunCursor {
    /// The last run's creation time.
    pub created: DateTime<Utc>,
    /// The last run's id.
    pub id: FlowRunId,
}

impl FlowRunCursor {
    /// The cursor after `run`.
    pub fn after(run: &crate::FlowRunSummary) -> Self {
        FlowRunCursor { created: run.created, id: run.id }
    }
}

impl std::fmt::Display for FlowRunCursor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.created.timestamp_micros(), self.id.0)
    }
}

impl std::str::FromStr for FlowRunCursor {
    type Err = crate::Error;

    fn from_str(text: &str) -> Result<Self, crate::Error> {
        let bad = || crate::Error::InvalidArgument {
            what: "flow run cursor",
            reason: format!("`{text}` is not a cursor a page of flow runs gave"),
        };
        let (micros, id) = text.split_once('.').ok_or_else(bad)?;
        let micros: i64 = micros.parse().map_err(|_| bad())?;
        let created = DateTime::from_timestamp_micros(micros).ok_or_else(bad)?;
        let id = uuid::Uuid::parse_str(id).map_err(|_| bad())?;
        Ok(FlowRunCursor { created, id: FlowRunId(id) })
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

    /// Only runs created before `until`.
    pub fn until(mut self, until: DateTime<Utc>) -> Self {
        self.until = Some(until);
        self
    }

    /// Only runs whose name holds `text`, in any case.
    pub fn name_contains(mut self, text: impl Into<String>) -> Self {
        self.name_contains = Some(text.into());
        self
    }

    /// Only runs carrying `tag`.
    pub fn tag(mut self, tag: impl Into<String>) -> Self {
        self.tag = Some(tag.into());
        self
    }

    /// Only runs of `deployment`.
    pub fn deployment(mut self, deployment: crate::DeploymentId) -> Self {
        self.deployment = Some(deployment);
        self
    }

    /// The page after `cursor` (from [`FlowRunCursor::after`] of the last
    /// run of the previous page).
    pub fn after(mut self, cursor: FlowRunCursor) -> Self {
        self.after = Some(cursor);
        self
    }

    /// At most `limit` runs.
    pub fn limit(mut self, limit: usize) -> Self {
        self.limit = limit;
        self
    }
}

/// Which task runs [`TaskRunFilter`] looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskRunScope {
    /// The task runs of one flow run, in creation order.
    FlowRun(FlowRunId),
    /// Task runs called outside any flow, in creation order.
    Standalone,
    /// Every task run, newest first (by id: ids are UUIDv7, so creation
    /// order to the millisecond).
    Any,
}

/// Which task runs to list: a scope, then filters.
///
/// A page ends at its last run: pass that run's id to
/// [`TaskRunFilter::after`] for the next page, in the scope's order.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TaskRunFilter {
    /// Which task runs.
    pub scope: TaskRunScope,
    /// Only runs whose current state has one of these types (all when empty).
    pub states: Vec<StateType>,
    /// Only runs inside runs of the flow with this name.
    pub flow_name: Option<String>,
    /// Only runs inside runs of this deployment.
    pub deployment: Option<crate::DeploymentId>,
    /// Only runs whose name holds this text (any case).
    pub name_contains: Option<String>,
    /// Only runs carrying this tag.
    pub tag: Option<String>,
    /// Only runs created at or after this time.
    pub since: Option<DateTime<Utc>>,
    /// Only runs created before this time.
    pub until: Option<DateTime<Utc>>,
    /// Only runs listed after this one (the next page).
    pub after: Option<TaskRunId>,
    /// At most this many runs.
    pub limit: usize,
}

impl TaskRunFilter {
    fn scoped(scope: TaskRunScope) -> Self {
        TaskRunFilter {
            scope,
            states: Vec::new(),
            flow_name: None,
            deployment: None,
            name_contains: None,
            tag: None,
            since: None,
            until: None,
            after: None,
            limit: DEFAULT_LIMIT,
        }
    }

    /// The task runs of `flow_run`, up to [`DEFAULT_LIMIT`].
    pub fn of_flow_run(flow_run: FlowRunId) -> Self {
        Self::scoped(TaskRunScope::FlowRun(flow_run))
    }

    /// Task runs called outside any flow, up to [`DEFAULT_LIMIT`].
    pub fn standalone() -> Self {
        Self::scoped(TaskRunScope::Standalone)
    }

    /// Every task run, newest first, up to [`DEFAULT_LIMIT`].
    pub fn any() -> Self {
        Self::scoped(TaskRunScope::Any)
    }

    /// The flow run `scope` names, if it names one.
    pub fn flow_run(&self) -> Option<FlowRunId> {
        match self.scope {
            TaskRunScope::FlowRun(id) => Some(id),
            TaskRunScope::Standalone | TaskRunScope::Any => None,
        }
    }

    /// Adds a state type to match.
    pub fn state(mut self, state_type: StateType) -> Self {
        self.states.push(state_type);
        self
    }

    /// Only runs inside runs of flow `name`.
    pub fn flow(mut self, name: impl Into<String>) -> Self {
        self.flow_name = Some(name.into());
        self
    }

    /// Only runs inside runs of `deployment`.
    pub fn deployment(mut self, deployment: crate::DeploymentId) -> Self {
        self.deployment = Some(deployment);
        self
    }

    /// Only runs whose name holds `text`, in any case.
    pub fn name_contains(mut self, text: impl Into<String>) -> Self {
        self.name_contains = Some(text.into());
        self
    }

    /// Only runs carrying `tag`.
    pub fn tag(mut self, tag: impl Into<String>) -> Self {
        self.tag = Some(tag.into());
        self
    }

    /// Only runs created at or after `since`.
    pub fn since(mut self, since: DateTime<Utc>) -> Self {
        self.since = Some(since);
        self
    }

    /// Only runs created before `until`.
    pub fn until(mut self, until: DateTime<Utc>) -> Self {
        self.until = Some(until);
        self
    }

    /// The page after task run `last` (the previous page's last run).
    pub fn after(mut self, last: TaskRunId) -> Self {
        self.after = Some(last);
        self
    }

    /// At most `limit` runs.
    pub fn limit(mut self, limit: usize) -> Self {
        self.limit = limit;
        self
    }

    /// True if only the scope, states and limit are set.
    pub fn is_plain(&self) -> bool {
        self.flow_name.is_none()
            && self.deployment.is_none()
            && self.name_contains.is_none()
            && self.tag.is_none()
            && self.since.is_none()
            && self.until.is_none()
            && self.after.is_none()
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
