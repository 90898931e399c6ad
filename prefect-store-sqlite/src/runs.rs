//! Flow and flow run queries, state histories, and resolving what people
//! type to name a run (ids, prefixes, short ids, names).

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
use prefect_store::{FlowRunDetail, FlowRunSummary, FlowSummary, RunMatch};
use prefect_store::{FlowRunFilter, TaskRunFilter};
use prefect_store::{IdPrefix, RunScope, ShortId};

const FLOW_RUN_SELECT: &str = "SELECT r.id, f.name, r.name, r.flow_version, r.tags,
        r.parent_flow_run_id, r.parent_task_run_id, r.created, r.start_time, r.end_time,
        r.run_count, r.state_type, r.state_name, r.state_message, r.state_time, r.state_scheduled,
        r.deployment_id, r.work_queue, r.expected_start
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
        deployment_id: opt_uuid_at(row, 16)?.map(prefect_store::DeploymentId),
        work_queue: row.get(17)?,
        expected_start: opt_time_at(row, 18)?,
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
    if let Some(until) = filter.until {
        sql.push_str(" AND r.created < ?");
        args.push(Value::Integer(micros(until)));
    }
    if let Some(text) = &filter.name_contains {
        sql.push_str(" AND r.name LIKE ? ESCAPE '\\'");
        args.push(Value::Text(prefect_store::codes::like_contains(text)));
    }
    if let Some(tag) = &filter.tag {
        sql.push_str(" AND r.tags IS NOT NULL AND EXISTS (SELECT 1 FROM json_each(r.tags) WHERE value = ?)");
        args.push(Value::Text(tag.clone()));
    }
    if let Some(deployment) = filter.deployment {
        sql.push_str(" AND r.deployment_id = ?");
        args.push(Value::Blob(deployment.0.into_bytes().to_vec()));
    }
    if let Some(after) = filter.after {
        sql.push_str(" AND (r.created < ? OR (r.created = ? AND r.id < ?))");
        let created = micros(after.created);
        args.extend([Value::Integer(created), Value::Integer(created)]);
        args.push(Value::Blob(after.id.0.into_bytes().to_vec()));
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
        results: super::results::of_flow_run(db, id, task_run_limit.saturating_add(1))?,
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

use prefect_store::codes::run_tables as tables;

/// Ids matched per table and form; more than one is all an error needs.
const ID_MATCHES: usize = 3;

/// Runs named in an ambiguity error.
const NAME_CANDIDATES: usize = 5;

/// The run of `scope` that `reference` names: an id, an id prefix, a
/// short id, else a name.
pub(crate) fn resolve_run(db: &Connection, reference: &str, scope: RunScope) -> QueryResult<RunId> {
    let text = reference.trim();
    if text.is_empty() {
        let reason = "is empty; give a run's id, short id or name".to_owned();
        return Err(Error::InvalidArgument { what: "run reference", reason }.into());
    }
    let mut found = by_id(db, text, scope)?;
    found.sort_unstable_by_key(|run| run.uuid());
    found.dedup();
    match found.as_slice() {
        [] => by_name(db, text, scope),
        [one] => Ok(*one),
        many => Err(Error::AmbiguousPrefix {
            prefix: text.to_owned(),
            matches: many.iter().map(ToString::to_string).collect(),
        }
        .into()),
    }
}

/// Runs whose id starts with `text` or ends with it as a short id.
fn by_id(db: &Connection, text: &str, scope: RunScope) -> QueryResult<Vec<RunId>> {
    let mut found = Vec::new();
    if let Ok(range) = IdPrefix::parse(text) {
        for (table, run) in tables(scope) {
            let sql =
                format!("SELECT id FROM {table} WHERE id BETWEEN ?1 AND ?2 ORDER BY id LIMIT {ID_MATCHES}");
            let mut stmt = db.prepare_cached(&sql)?;
            let ids =
                stmt.query_map([range.low.into_bytes(), range.high.into_bytes()], |row| uuid_at(row, 0))?;
            for id in ids {
                found.push(run(id?));
            }
        }
    }
    if let Some(short) = ShortId::parse(text) {
        for (table, run) in tables(scope) {
            // A scan: the smallest index holding the id (the task runs' by
            // flow run, the flow runs' primary key) is read whole.
            let sql = format!("SELECT id FROM {table} WHERE substr(id, 11, 6) = ?1 LIMIT {ID_MATCHES}");
            let mut stmt = db.prepare_cached(&sql)?;
            for id in stmt.query_map([short.bytes()], |row| uuid_at(row, 0))? {
                found.push(run(id?));
            }
        }
    }
    Ok(found)
}

/// The run named `name`; an error listing the newest when several are.
fn by_name(db: &Connection, name: &str, scope: RunScope) -> QueryResult<RunId> {
    let mut count = 0u64;
    let mut candidates = Vec::new();
    for (table, run) in tables(scope) {
        // Names are not indexed: this scans the table.
        let sql = format!(
            "SELECT id, created, count(*) OVER () FROM {table} WHERE name = ?1
             ORDER BY created DESC, id DESC LIMIT {NAME_CANDIDATES}"
        );
        let mut stmt = db.prepare_cached(&sql)?;
        let rows = stmt.query_map([name], |row| {
            let id = run(uuid_at(row, 0)?);
            Ok((RunMatch { id, name: name.to_owned(), created: time_at(row, 1)? }, row.get::<_, i64>(2)?))
        })?;
        let mut in_table = 0;
        for row in rows {
            let (found, total) = row?;
            in_table = u64::try_from(total).unwrap_or(0);
            candidates.push(found);
        }
        count += in_table;
    }
    candidates.sort_by_key(|c| std::cmp::Reverse(c.created));
    candidates.truncate(NAME_CANDIDATES);
    match (count, candidates.first()) {
        (1, Some(only)) => Ok(only.id),
        (0, _) | (_, None) => Err(Error::NotFound { what: scope.noun(), id: name.to_owned() }.into()),
        _ => Err(Error::AmbiguousName { name: name.to_owned(), count, candidates }.into()),
    }
}
