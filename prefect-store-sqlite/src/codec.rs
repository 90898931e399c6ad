//! Conversions between run-model values and compact SQLite columns.
//!
//! The integer codes (`prefect_store::codes`, shared by every SQL driver)
//! are part of the file format: never renumber them.

use std::borrow::Cow;

use chrono::{DateTime, Utc};
use prefect_model::LogLevel;
use prefect_model::{StateMeta, StateType};
pub(crate) use prefect_store::codes::{
    dependency_code, dependency_kind, level_code, log_level, state_code, state_type, stored_name, tags_json,
};
use rusqlite::Row;
use rusqlite::types::Type;
use uuid::Uuid;

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
