//! Task run queries.

use prefect_model::DependencyEdge;
use prefect_model::{FlowRunId, RunId, StateType, TaskRunId};
use rusqlite::types::{Type, Value};
use rusqlite::{Connection, OptionalExtension, Row, params_from_iter};

use super::QueryResult;
use super::codec::{
    dependency_kind, micros, opt_time_at, opt_uuid_at, state_at, state_type_at, tags_at, time_at, u32_at,
    uuid_at,
};
use super::runs::{state_list, states_of};
use prefect_store::Error;
use prefect_store::{TaskRunDetail, TaskRunSummary};
use prefect_store::{TaskRunFilter, TaskRunScope};

const TASK_RUN_SELECT: &str = "SELECT id, name, task_name, flow_run_id, parent_task_run_id,
        subflow_run_id, map_index, tags, created, start_time, end_time, run_count,
        state_type, state_name, state_message, state_time, state_scheduled
    FROM task_runs";

fn task_run_row(row: &Row<'_>) -> rusqlite::Result<TaskRunSummary> {
    Ok(TaskRunSummary {
        id: TaskRunId(uuid_at(row, 0)?),
        name: row.get(1)?,
        task_name: row.get(2)?,
        flow_run_id: opt_uuid_at(row, 3)?.map(FlowRunId),
        parent_task_run_id: opt_uuid_at(row, 4)?.map(TaskRunId),
        subflow_run_id: opt_uuid_at(row, 5)?.map(FlowRunId),
        map_index: row.get(6)?,
        tags: tags_at(row, 7)?,
        created: time_at(row, 8)?,
        start_time: opt_time_at(row, 9)?,
        end_time: opt_time_at(row, 10)?,
        run_count: u32_at(row, 11)?,
        state: state_at(row, 12)?,
    })
}

/// The `WHERE` clause selecting the task runs of one flow run (or those
/// outside any flow), with its argument.
/// Task runs matching `filter`: in creation order within a flow run or
/// outside flows, newest first (by id, UUIDv7) across all.
pub(crate) fn list_task_runs(db: &Connection, filter: &TaskRunFilter) -> QueryResult<Vec<TaskRunSummary>> {
    let mut sql = format!("{TASK_RUN_SELECT} WHERE 1");
    let mut args: Vec<Value> = Vec::new();
    let blob = |id: uuid::Uuid| Value::Blob(id.into_bytes().to_vec());
    match filter.scope {
        TaskRunScope::FlowRun(id) => {
            sql.push_str(" AND flow_run_id = ?");
            args.push(blob(id.0));
        }
        TaskRunScope::Standalone => sql.push_str(" AND flow_run_id IS NULL"),
        TaskRunScope::Any => {}
    }
    if !filter.states.is_empty() {
        sql.push_str(&format!(" AND state_type IN ({})", state_list(&filter.states)));
    }
    if let Some(name) = &filter.flow_name {
        // Correlated, so the walk stays in id order and stops at the limit
        // (an IN list of the flow's runs made SQLite read them all, then sort).
        sql.push_str(
            " AND EXISTS (SELECT 1 FROM flow_runs r JOIN flows f ON f.id = r.flow_id
                          WHERE r.id = task_runs.flow_run_id AND f.name = ?)",
        );
        args.push(Value::Text(name.clone()));
    }
    if let Some(deployment) = filter.deployment {
        sql.push_str(
            " AND EXISTS (SELECT 1 FROM flow_runs r WHERE r.id = task_runs.flow_run_id AND r.deployment_id = ?)",
        );
        args.push(blob(deployment.0));
    }
    if let Some(text) = &filter.name_contains {
        sql.push_str(" AND name LIKE ? ESCAPE '\\'");
        args.push(Value::Text(prefect_store::codes::like_contains(text)));
    }
    if let Some(tag) = &filter.tag {
        sql.push_str(" AND tags IS NOT NULL AND EXISTS (SELECT 1 FROM json_each(tags) WHERE value = ?)");
        args.push(Value::Text(tag.clone()));
    }
    let any = filter.scope == TaskRunScope::Any;
    if let Some(since) = filter.since {
        sql.push_str(" AND created >= ?");
        args.push(Value::Integer(micros(since)));
        if any {
            // The id's millisecond bounds the walk; a second of slack for
            // a clock read apart from the id's.
            sql.push_str(" AND id >= ?");
            args.push(blob(id_floor(since - chrono::TimeDelta::seconds(1))));
        }
    }
    if let Some(until) = filter.until {
        sql.push_str(" AND created < ?");
        args.push(Value::Integer(micros(until)));
        if any {
            sql.push_str(" AND id < ?");
            args.push(blob(id_floor(until + chrono::TimeDelta::seconds(1))));
        }
    }
    if let Some(after) = filter.after {
        if any {
            sql.push_str(" AND id < ?");
        } else {
            sql.push_str(" AND (created, id) > (SELECT created, id FROM task_runs WHERE id = ?)");
        }
        args.push(blob(after.0));
    }
    sql.push_str(if any {
        " ORDER BY id DESC LIMIT ?"
    } else {
        " ORDER BY flow_run_id, created, id LIMIT ?"
    });
    args.push(Value::Integer(i64::try_from(filter.limit).unwrap_or(i64::MAX)));
    let mut stmt = db.prepare_cached(&sql)?;
    let rows = stmt.query_map(params_from_iter(args), task_run_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// The smallest UUIDv7 of the millisecond of `time`.
fn id_floor(time: chrono::DateTime<chrono::Utc>) -> uuid::Uuid {
    let ms = u64::try_from(time.timestamp_millis()).unwrap_or(0).min((1 << 48) - 1);
    let mut bytes = [0u8; 16];
    bytes[..6].copy_from_slice(&ms.to_be_bytes()[2..]);
    uuid::Uuid::from_bytes(bytes)
}

/// How many task runs `flow_run` has.
pub(crate) fn count(db: &Connection, flow_run: FlowRunId) -> QueryResult<u64> {
    let n: i64 = db
        .prepare_cached("SELECT count(*) FROM task_runs WHERE flow_run_id = ?1")?
        .query_row([flow_run.0.into_bytes()], |row| row.get(0))?;
    Ok(u64::try_from(n).unwrap_or(0))
}

/// How many task runs of `flow_run` are in each current state type.
pub(crate) fn count_by_state(db: &Connection, flow_run: FlowRunId) -> QueryResult<Vec<(StateType, u64)>> {
    let mut stmt = db.prepare_cached(
        "SELECT state_type, count(*) FROM task_runs
         WHERE flow_run_id = ?1 AND state_type IS NOT NULL GROUP BY state_type ORDER BY state_type",
    )?;
    let rows = stmt.query_map([flow_run.0.into_bytes()], |row| {
        Ok((state_type_at(row, 0)?, u64::try_from(row.get::<_, i64>(1)?).unwrap_or(0)))
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// One task run with its history and upstream edges.
pub(crate) fn inspect_task_run(db: &Connection, id: TaskRunId) -> QueryResult<TaskRunDetail> {
    let run = db
        .prepare_cached(&format!("{TASK_RUN_SELECT} WHERE id = ?1"))?
        .query_row([id.0.into_bytes()], task_run_row)
        .optional()?
        .ok_or_else(|| Error::NotFound { what: "task run", id: id.to_string() })?;
    Ok(TaskRunDetail {
        run,
        states: states_of(db, "task_runs", id.0)?,
        upstream: upstream_of(db, id)?,
        result: super::results::of_run(db, RunId::Task(id))?,
    })
}

fn upstream_of(db: &Connection, id: TaskRunId) -> QueryResult<Vec<DependencyEdge>> {
    let mut stmt = db.prepare_cached(
        "SELECT downstream, upstream, upstream_kind, kind, argument FROM task_run_dependencies
         WHERE downstream = ?1 ORDER BY rowid",
    )?;
    let rows = stmt.query_map([id.0.into_bytes()], edge_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// The edges into the task runs of `flow_run`: its task runs by the
/// `task_runs_by_flow_run` index, then each one's edges by
/// `task_run_dependencies_by_downstream`.
pub(crate) fn dependency_edges(
    db: &Connection,
    flow_run: FlowRunId,
    limit: usize,
) -> QueryResult<Vec<DependencyEdge>> {
    let mut stmt = db.prepare_cached(
        "SELECT d.downstream, d.upstream, d.upstream_kind, d.kind, d.argument
         FROM task_runs t JOIN task_run_dependencies d ON d.downstream = t.id
         WHERE t.flow_run_id = ?1 ORDER BY d.rowid LIMIT ?2",
    )?;
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let rows = stmt.query_map(rusqlite::params![flow_run.0.into_bytes(), limit], edge_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// A `task_run_dependencies` row: downstream, upstream, upstream_kind,
/// kind, argument.
fn edge_row(row: &Row<'_>) -> rusqlite::Result<DependencyEdge> {
    let downstream = TaskRunId(uuid_at(row, 0)?);
    let upstream = uuid_at(row, 1)?;
    let upstream = match row.get::<_, i64>(2)? {
        1 => RunId::Flow(FlowRunId(upstream)),
        _ => RunId::Task(TaskRunId(upstream)),
    };
    let code: i64 = row.get(3)?;
    let kind = dependency_kind(code, row.get(4)?).ok_or_else(|| {
        let detail = format!("unknown dependency kind {code}");
        rusqlite::Error::FromSqlConversionFailure(3, Type::Integer, detail.into())
    })?;
    Ok(DependencyEdge { downstream, upstream, kind })
}
