//! Conversions between run-model values and compact SQLite columns.
//!
//! The integer codes are part of the file format: never renumber them.

use std::borrow::Cow;

use chrono::{DateTime, Utc};
use prefect_model::{DependencyKind, LogLevel};
use prefect_model::{StateMeta, StateType};
use rusqlite::Row;
use rusqlite::types::Type;
use uuid::Uuid;

/// The stored code of a state type.
pub(crate) fn state_code(state_type: StateType) -> i64 {
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
pub(crate) fn state_type(code: i64) -> Option<StateType> {
    StateType::ALL.into_iter().find(|t| state_code(*t) == code)
}

/// The stored code of a dependency kind, and its argument name.
pub(crate) fn dependency_code(kind: &DependencyKind) -> (i64, Option<&str>) {
    match kind {
        DependencyKind::Data { argument } => (1, Some(argument)),
        DependencyKind::WaitFor => (2, None),
        DependencyKind::AllowFailure => (3, None),
    }
}

/// The dependency kind of a stored code and argument.
pub(crate) fn dependency_kind(code: i64, argument: Option<String>) -> Option<DependencyKind> {
    match (code, argument) {
        (1, Some(argument)) => Some(DependencyKind::Data { argument: Cow::Owned(argument) }),
        (2, _) => Some(DependencyKind::WaitFor),
        (3, _) => Some(DependencyKind::AllowFailure),
        _ => None,
    }
}

/// The stored code of a log level.
pub(crate) fn level_code(level: LogLevel) -> i64 {
    match level {
        LogLevel::Trace => 1,
        LogLevel::Debug => 2,
        LogLevel::Info => 3,
        LogLevel::Warning => 4,
        LogLevel::Error => 5,
        LogLevel::Critical => 6,
    }
}

fn log_level(code: i64) -> Option<LogLevel> {
    LogLevel::ALL.into_iter().find(|l| level_code(*l) == code)
}

/// Microseconds since the Unix epoch.
pub(crate) fn micros(time: DateTime<Utc>) -> i64 {
    time.timestamp_micros()
}

/// The current time in microseconds since the Unix epoch.
pub(crate) fn now_micros() -> i64 {
    micros(Utc::now())
}

fn bad(index: usize, ty: Type, detail: String) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(index, ty, detail.into())
}

/// A timestamp column.
pub(crate) fn time_at(row: &Row<'_>, index: usize) -> rusqlite::Result<DateTime<Utc>> {
    let us: i64 = row.get(index)?;
    DateTime::from_timestamp_micros(us)
        .ok_or_else(|| bad(index, Type::Integer, format!("timestamp {us} out of range")))
}

/// A nullable timestamp column.
pub(crate) fn opt_time_at(row: &Row<'_>, index: usize) -> rusqlite::Result<Option<DateTime<Utc>>> {
    match row.get::<_, Option<i64>>(index)? {
        None => Ok(None),
        Some(_) => time_at(row, index).map(Some),
    }
}

/// A 16-byte id column.
pub(crate) fn uuid_at(row: &Row<'_>, index: usize) -> rusqlite::Result<Uuid> {
    let bytes: Vec<u8> = row.get(index)?;
    Uuid::from_slice(&bytes).map_err(|e| bad(index, Type::Blob, e.to_string()))
}

/// A nullable 16-byte id column.
pub(crate) fn opt_uuid_at(row: &Row<'_>, index: usize) -> rusqlite::Result<Option<Uuid>> {
    match row.get::<_, Option<Vec<u8>>>(index)? {
        None => Ok(None),
        Some(_) => uuid_at(row, index).map(Some),
    }
}

/// A state type column.
pub(crate) fn state_type_at(row: &Row<'_>, index: usize) -> rusqlite::Result<StateType> {
    let code: i64 = row.get(index)?;
    state_type(code).ok_or_else(|| bad(index, Type::Integer, format!("unknown state type {code}")))
}

/// A log level column.
pub(crate) fn level_at(row: &Row<'_>, index: usize) -> rusqlite::Result<LogLevel> {
    let code: i64 = row.get(index)?;
    log_level(code).ok_or_else(|| bad(index, Type::Integer, format!("unknown log level {code}")))
}

/// A state name as stored: NULL when it is the type's default name.
pub(crate) fn stored_name(meta: &StateMeta) -> Option<&str> {
    (meta.name != meta.state_type.default_name()).then_some(&*meta.name)
}

/// Five columns (type, name, message, timestamp, scheduled) as a state;
/// `None` when the type is NULL (a run with no state yet).
pub(crate) fn state_at(row: &Row<'_>, first: usize) -> rusqlite::Result<Option<StateMeta>> {
    if row.get::<_, Option<i64>>(first)?.is_none() {
        return Ok(None);
    }
    let state_type = state_type_at(row, first)?;
    let name = match row.get::<_, Option<String>>(first + 1)? {
        Some(name) => Cow::Owned(name),
        None => Cow::Borrowed(state_type.default_name()),
    };
    Ok(Some(StateMeta {
        state_type,
        name,
        message: row.get(first + 2)?,
        timestamp: time_at(row, first + 3)?,
        scheduled_time: opt_time_at(row, first + 4)?,
    }))
}

/// Tags as stored: a JSON array, NULL when empty.
pub(crate) fn tags_json(tags: &[String]) -> Option<String> {
    // Serialized from the slice: no copy of the tags into a JSON value first.
    (!tags.is_empty()).then(|| serde_json::to_string(tags).unwrap_or_default())
}

/// A tags column.
pub(crate) fn tags_at(row: &Row<'_>, index: usize) -> rusqlite::Result<Vec<String>> {
    match row.get::<_, Option<String>>(index)? {
        None => Ok(Vec::new()),
        Some(text) => serde_json::from_str(&text).map_err(|e| bad(index, Type::Text, e.to_string())),
    }
}

/// A JSON column.
pub(crate) fn json_at(row: &Row<'_>, index: usize) -> rusqlite::Result<serde_json::Value> {
    let text: String = row.get(index)?;
    serde_json::from_str(&text).map_err(|e| bad(index, Type::Text, e.to_string()))
}

/// A non-negative count column as `u32`, saturating.
pub(crate) fn u32_at(row: &Row<'_>, index: usize) -> rusqlite::Result<u32> {
    let n: i64 = row.get(index)?;
    Ok(u32::try_from(n.max(0)).unwrap_or(u32::MAX))
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
    }
}
