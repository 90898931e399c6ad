//! Where runs' values are kept: the `run_results` rows `Event::ResultStored`
//! writes, read back for a run page.

use prefect_model::{FlowRunId, ResultReference, RunId, TaskRunId};
use rusqlite::{Connection, OptionalExtension, Row, params};

use super::QueryResult;
use super::codec::{opt_uuid_at, time_at, uuid_at};

const SELECT: &str =
    "SELECT run_id, run_kind, flow_run_id, location, cache_key, from_cache, created FROM run_results";

/// The result of `run`, if it has one.
pub(crate) fn of_run(db: &Connection, run: RunId) -> QueryResult<Option<ResultReference>> {
    let found = db
        .prepare_cached(&format!("{SELECT} WHERE run_id = ?1"))?
        .query_row([run.uuid().into_bytes()], result_row)
        .optional()?;
    Ok(found)
}

/// The results of `flow_run` and of its task runs, oldest first, at most
/// `limit` (by the `run_results_by_flow_run` index).
pub(crate) fn of_flow_run(
    db: &Connection,
    flow_run: FlowRunId,
    limit: usize,
) -> QueryResult<Vec<ResultReference>> {
    let mut stmt =
        db.prepare_cached(&format!("{SELECT} WHERE flow_run_id = ?1 ORDER BY created LIMIT ?2"))?;
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let rows = stmt.query_map(params![flow_run.0.into_bytes(), limit], result_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// A row of [`SELECT`].
fn result_row(row: &Row<'_>) -> rusqlite::Result<ResultReference> {
    let id = uuid_at(row, 0)?;
    let run = match row.get::<_, i64>(1)? {
        1 => RunId::Flow(FlowRunId(id)),
        _ => RunId::Task(TaskRunId(id)),
    };
    Ok(ResultReference {
        run,
        flow_run_id: opt_uuid_at(row, 2)?.map(FlowRunId),
        location: row.get(3)?,
        cache_key: row.get(4)?,
        from_cache: row.get(5)?,
        timestamp: time_at(row, 6)?,
    })
}
