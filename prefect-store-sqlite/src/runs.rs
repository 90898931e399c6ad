//! Flow and flow run queries, state histories, and id prefix resolution.

use prefect_model::{FlowRunId, RunId, StateMeta, StateType, TaskRunId};
use rusqlite::types::Value;
use rusqlite::{Connection, OptionalExtension, Row, params_from_iter};
use uuid::Uuid;

use super::QueryResult;
use super::codec::{
    micros, opt_time_at, opt_uuid_at, state_at, state_code, tags_at, time_at, u32_at, uuid_at,
};
use super::{history, tasks};
use prefect_store::Error;
use prefect_store::IdPrefix;
use prefect_store::{FlowRunDetail, FlowRunSummary, FlowSummary};
use prefect_store::{FlowRunFilter, TaskRunFilter};

const FLOW_RUN_SELECT: &str = "SELECT r.id, f.name, r.name, r.flow_version, r.tags,
        r.parent_flow_run_id, r.parent_task_run_id, r.created, r.start_time, r.end_time,
        r.run_count, r.state_type, r.state_name, r.state_message, r.state_time, r.state_scheduled
    FROM flow_runs r JOIN flows f ON f.id = r.flow_id";

fn flow_run_row(row: &Row<'_>) -> rusqlite::Result<FlowRunSummary> {
    Ok(FlowRunSummary {
        id: FlowRunId(uuid_at(row, 0)?),
        flow_name: row.get(1)?,
        name: row.get(2)?,
        flow_version: row.get(3)?,
        tags: tags_at(row, 4)?,
        parent_flow_run_id: opt_uuid_at(row, 5)?.map(FlowRunId),
        parent_task_run_id: opt_uuid_at(row, 6)?.map(TaskRunId),
        created: time_at(row, 7)?,
        start_time: opt_time_at(row, 8)?,
        end_time: opt_time_at(row, 9)?,
        run_count: u32_at(row, 10)?,
        state: state_at(row, 11)?,
    })
}

/// Every flow, by name, with the creation time of its latest run.
pub(crate) fn list_flows(db: &Connection) -> QueryResult<Vec<FlowSummary>> {
    let mut stmt = db.prepare_cached(
        "SELECT f.name, f.created, (SELECT max(created) FROM flow_runs WHERE flow_id = f.id)
         FROM flows f ORDER BY f.name",
    )?;
    let rows = stmt.query_map([], |row| {
        Ok(FlowSummary { name: row.get(0)?, created: time_at(row, 1)?, last_run: opt_time_at(row, 2)? })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// A SQL `IN` list of state codes (integers from our own enum, so safe to
/// inline).
pub(crate) fn state_list(states: &[StateType]) -> String {
    states.iter().map(|s| state_code(*s).to_string()).collect::<Vec<_>>().join(", ")
}

/// Flow runs matching `filter`, newest first.
pub(crate) fn list_flow_runs(db: &Connection, filter: &FlowRunFilter) -> QueryResult<Vec<FlowRunSummary>> {
    let mut sql = format!("{FLOW_RUN_SELECT} WHERE 1");
    let mut args: Vec<Value> = Vec::new();
    if let Some(name) = &filter.flow_name {
        let flow: Option<i64> = db
            .prepare_cached("SELECT id FROM flows WHERE name = ?1")?
            .query_row([name], |row| row.get(0))
            .optional()?;
        let Some(flow) = flow else { return Ok(Vec::new()) };
        sql.push_str(" AND r.flow_id = ?");
        args.push(Value::Integer(flow));
    }
    if let Some(since) = filter.since {
        sql.push_str(" AND r.created >= ?");
        args.push(Value::Integer(micros(since)));
    }
    if !filter.states.is_empty() {
        sql.push_str(&format!(" AND r.state_type IN ({})", state_list(&filter.states)));
    }
    sql.push_str(" ORDER BY r.created DESC, r.id DESC LIMIT ?");
    args.push(Value::Integer(i64::try_from(filter.limit).unwrap_or(i64::MAX)));
    let mut stmt = db.prepare_cached(&sql)?;
    let rows = stmt.query_map(params_from_iter(args), flow_run_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// One flow run with parameters, history, its first task runs and counts.
pub(crate) fn inspect_flow_run(
    db: &Connection,
    id: FlowRunId,
    task_run_limit: usize,
) -> QueryResult<FlowRunDetail> {
    let key = id.0.into_bytes();
    let run = db
        .prepare_cached(&format!("{FLOW_RUN_SELECT} WHERE r.id = ?1"))?
        .query_row([key], flow_run_row)
        .optional()?
        .ok_or_else(|| Error::NotFound { what: "flow run", id: id.to_string() })?;
    let parameters = db
        .prepare_cached("SELECT parameters FROM flow_runs WHERE id = ?1")?
        .query_row([key], |row| super::codec::json_at(row, 0))?;
    let task_run_states = tasks::count_by_state(db, id)?;
    Ok(FlowRunDetail {
        run,
        parameters,
        states: states_of(db, "flow_runs", id.0)?,
        task_runs: tasks::list_task_runs(db, &TaskRunFilter::of_flow_run(id).limit(task_run_limit))?,
        task_run_count: tasks::count(db, id)?,
        task_run_states,
    })
}

/// The state history of a run in `table`, oldest first: the states on
/// its row (schema v2) merged by time with its rows in `states` (written by
/// version 1).
pub(crate) fn states_of(db: &Connection, table: &str, run: Uuid) -> QueryResult<Vec<StateMeta>> {
    let key = run.into_bytes();
    let blob: Option<Vec<u8>> = db
        .prepare_cached(&format!("SELECT history FROM {table} WHERE id = ?1"))?
        .query_row([key], |row| row.get(0))
        .optional()?
        .flatten();
    let mut states = match blob {
        Some(blob) => history::decode(&blob)?,
        None => Vec::new(),
    };
    let mut stmt = db.prepare_cached(
        "SELECT type, name, message, timestamp, scheduled FROM states WHERE run_id = ?1 ORDER BY timestamp",
    )?;
    let rows = stmt.query_map([key], |row| Ok(state_at(row, 0)?.zip(Some(row.get::<_, i64>(3)?))))?;
    let old = rows.collect::<rusqlite::Result<Vec<_>>>()?;
    if !old.is_empty() {
        states.extend(old.into_iter().flatten());
        // Stable: on a tie (never written) the row's own state comes first.
        states.sort_by_key(|(_, at)| *at);
    }
    Ok(states.into_iter().map(|(state, _)| state).collect())
}

/// The run whose id starts with `prefix`.
pub(crate) fn resolve_run(db: &Connection, prefix: &str) -> QueryResult<RunId> {
    let range = IdPrefix::parse(prefix)?;
    let mut found: Vec<RunId> = Vec::new();
    for (table, flow) in [("flow_runs", true), ("task_runs", false)] {
        let sql = format!("SELECT id FROM {table} WHERE id BETWEEN ?1 AND ?2 ORDER BY id LIMIT 3");
        let mut stmt = db.prepare_cached(&sql)?;
        let ids = stmt.query_map([range.low.into_bytes(), range.high.into_bytes()], |row| uuid_at(row, 0))?;
        for id in ids {
            let id = id?;
            found.push(if flow { RunId::Flow(FlowRunId(id)) } else { RunId::Task(TaskRunId(id)) });
        }
    }
    match found.as_slice() {
        [] => Err(Error::NotFound { what: "run", id: prefix.to_owned() }.into()),
        [one] => Ok(*one),
        many => Err(Error::AmbiguousPrefix {
            prefix: prefix.to_owned(),
            matches: many.iter().map(ToString::to_string).collect(),
        }
        .into()),
    }
}
