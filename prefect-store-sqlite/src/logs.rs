//! Reading a run's log lines, with a cursor for following.

use prefect_model::LogRecord;
use prefect_model::{FlowRunId, RunId, TaskRunId};
use rusqlite::types::Value;
use rusqlite::{Connection, Row, params_from_iter};

use super::QueryResult;
use super::codec::{level_at, level_code, micros, opt_uuid_at, time_at};
use prefect_store::LogFilter;
use prefect_store::{LogCursor, LogEntry};

fn log_row(row: &Row<'_>) -> rusqlite::Result<LogEntry> {
    let fields = match row.get::<_, Option<String>>(5)? {
        None => serde_json::Map::new(),
        Some(text) => serde_json::from_str(&text).map_err(|e| {
            rusqlite::Error::FromSqlConversionFailure(5, rusqlite::types::Type::Text, Box::new(e))
        })?,
    };
    Ok(LogEntry {
        cursor: LogCursor(row.get(0)?),
        record: LogRecord {
            timestamp: time_at(row, 1)?,
            level: level_at(row, 2)?,
            message: row.get(3)?,
            target: row.get(4)?,
            fields,
            flow_run_id: opt_uuid_at(row, 6)?.map(FlowRunId),
            task_run_id: opt_uuid_at(row, 7)?.map(TaskRunId),
        },
    })
}

/// Log lines matching `filter`, in recording order.
pub(crate) fn logs(db: &Connection, filter: &LogFilter) -> QueryResult<Vec<LogEntry>> {
    let mut sql = String::from(
        "SELECT id, timestamp, level, message, target, fields, flow_run_id, task_run_id FROM logs WHERE ",
    );
    let mut args: Vec<Value> = vec![Value::Blob(filter.run.uuid().into_bytes().to_vec())];
    sql.push_str(match filter.run {
        RunId::Task(_) => "task_run_id = ?",
        RunId::Flow(_) if filter.include_task_runs => "flow_run_id = ?",
        RunId::Flow(_) => "flow_run_id = ? AND task_run_id IS NULL",
    });
    if let Some(after) = filter.after {
        sql.push_str(" AND id > ?");
        args.push(Value::Integer(after.0));
    }
    if let Some(since) = filter.since {
        sql.push_str(" AND timestamp >= ?");
        args.push(Value::Integer(micros(since)));
    }
    if let Some(level) = filter.min_level {
        sql.push_str(" AND level >= ?");
        args.push(Value::Integer(level_code(level)));
    }
    sql.push_str(" ORDER BY id LIMIT ?");
    args.push(Value::Integer(i64::try_from(filter.limit).unwrap_or(i64::MAX)));
    let mut stmt = db.prepare_cached(&sql)?;
    let rows = stmt.query_map(params_from_iter(args), log_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}
