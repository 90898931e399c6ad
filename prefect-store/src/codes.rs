//! How SQL stores write states, log levels, dependency kinds, state names
//! and tags, so that every driver stores them alike (and a database moved
//! between drivers reads the same).

use std::borrow::Cow;

use prefect_model::{DependencyKind, FlowRunId, LogLevel, RunId, StateMeta, StateType, TaskRunId};
use uuid::Uuid;

use crate::RunScope;

/// The stored code of a state type.
pub fn state_code(state_type: StateType) -> i64 {
    match state_type {
        StateType::Scheduled => 1,
        StateType::Pending => 2,
        StateType::Running => 3,
        StateType::Paused => 4,
        StateType::Cancelling => 5,
        StateType::Completed => 6,
        StateType::Failed => 7,
        StateType::Crashed => 8,
        StateType::Cancelled => 9,
    }
}

/// The state type of a stored code.
pub fn state_type(code: i64) -> Option<StateType> {
    StateType::ALL.into_iter().find(|t| state_code(*t) == code)
}

/// The stored code of a dependency kind, and its argument name.
pub fn dependency_code(kind: &DependencyKind) -> (i64, Option<&str>) {
    match kind {
        DependencyKind::Data { argument } => (1, Some(argument)),
        DependencyKind::WaitFor => (2, None),
        DependencyKind::AllowFailure => (3, None),
    }
}

/// The dependency kind of a stored code and argument.
pub fn dependency_kind(code: i64, argument: Option<String>) -> Option<DependencyKind> {
    match (code, argument) {
        (1, Some(argument)) => Some(DependencyKind::Data { argument: Cow::Owned(argument) }),
        (2, _) => Some(DependencyKind::WaitFor),
        (3, _) => Some(DependencyKind::AllowFailure),
        _ => None,
    }
}

/// The stored code of a log level.
pub fn level_code(level: LogLevel) -> i64 {
    match level {
        LogLevel::Trace => 1,
        LogLevel::Debug => 2,
        LogLevel::Info => 3,
        LogLevel::Warning => 4,
        LogLevel::Error => 5,
        LogLevel::Critical => 6,
    }
}

/// The log level of a stored code.
pub fn log_level(code: i64) -> Option<LogLevel> {
    LogLevel::ALL.into_iter().find(|l| level_code(*l) == code)
}

/// A state name as stored: none when it is the type's default name.
pub fn stored_name(meta: &StateMeta) -> Option<&str> {
    (meta.name != meta.state_type.default_name()).then_some(&*meta.name)
}

/// A stored state name back: the type's default when none was stored.
pub fn state_name(state_type: StateType, stored: Option<String>) -> Cow<'static, str> {
    match stored {
        Some(name) => Cow::Owned(name),
        None => Cow::Borrowed(state_type.default_name()),
    }
}

/// Tags as stored: a JSON array, none when empty.
pub fn tags_json(tags: &[String]) -> Option<String> {
    // Serialized from the slice: no copy of the tags into a JSON value first.
    (!tags.is_empty()).then(|| serde_json::to_string(tags).unwrap_or_default())
}

/// A `LIKE` pattern matching `text` anywhere, its wildcards escaped with
/// `\` (write `ESCAPE '\'` in SQLite; it is PostgreSQL's default), so the
/// text is matched as typed.
pub fn like_contains(text: &str) -> String {
    let escaped = text.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
    format!("%{escaped}%")
}

/// The run tables of `scope` (`flow_runs`, `task_runs`), each with what
/// its ids are.
pub fn run_tables(scope: RunScope) -> impl Iterator<Item = (&'static str, fn(Uuid) -> RunId)> {
    let flow: (&str, fn(Uuid) -> RunId) = ("flow_runs", |id| RunId::Flow(FlowRunId(id)));
    let task: (&str, fn(Uuid) -> RunId) = ("task_runs", |id| RunId::Task(TaskRunId(id)));
    [scope.includes_flow_runs().then_some(flow), scope.includes_task_runs().then_some(task)]
        .into_iter()
        .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_and_are_distinct() {
        let mut codes: Vec<i64> = StateType::ALL.iter().map(|t| state_code(*t)).collect();
        for t in StateType::ALL {
            assert_eq!(state_type(state_code(t)), Some(t));
        }
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), StateType::ALL.len());
        assert_eq!(state_type(0), None);
        for l in LogLevel::ALL {
            assert_eq!(log_level(level_code(l)), Some(l));
        }
    }

    #[test]
    fn codes_the_drivers_sql_spells_out() {
        // The run queue's SQL in both drivers writes these as numbers: the
        // queued-run condition and partial indexes (Scheduled, Crashed), a
        // claim's new state (Pending), a queue's started runs (Pending,
        // Running, Cancelling).
        assert_eq!(state_code(StateType::Scheduled), 1);
        assert_eq!(state_code(StateType::Pending), 2);
        assert_eq!(state_code(StateType::Running), 3);
        assert_eq!(state_code(StateType::Cancelling), 5);
        assert_eq!(state_code(StateType::Crashed), 8);
    }

    #[test]
    fn like_patterns_match_the_text_as_typed() {
        assert_eq!(like_contains("load_1%"), "%load\\_1\\%%");
        assert_eq!(like_contains("a\\b"), "%a\\\\b%");
        let tables: Vec<&str> = run_tables(RunScope::TaskRuns).map(|(t, _)| t).collect();
        assert_eq!(tables, ["task_runs"]);
    }
}
