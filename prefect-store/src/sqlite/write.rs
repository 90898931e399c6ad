//! Applying run events to the tables, with cached prepared statements.
//! Runs created by a batch are owned by the writer's lease.

use std::collections::HashMap;

use prefect_core::RunId;
use prefect_core::record::{DependencyEdge, Event, FlowRunRecord, LogRecord, StateChange, TaskRunRecord};
use rusqlite::{Connection, TransactionBehavior, params};
use uuid::Uuid;

use super::codec::{dependency_code, level_code, micros, tags_json};
use super::state::apply_state;
use super::{Conn, QueryResult};

/// Stores `events` in one write transaction. On failure nothing is stored
/// and the flow-id cache is cleared (its new entries were rolled back).
pub(crate) fn write_events(conn: &mut Conn, lease: Option<i64>, events: &[Event]) -> QueryResult<()> {
    let result = write_in_transaction(conn, lease, events);
    if result.is_err() {
        conn.flows.clear();
    }
    result
}

fn write_in_transaction(conn: &mut Conn, lease: Option<i64>, events: &[Event]) -> QueryResult<()> {
    let tx = conn.db.transaction_with_behavior(TransactionBehavior::Immediate)?;
    for event in events {
        apply(&tx, &mut conn.flows, lease, event)?;
    }
    tx.commit()?;
    Ok(())
}

fn apply(
    db: &Connection,
    flows: &mut HashMap<String, i64>,
    lease: Option<i64>,
    event: &Event,
) -> QueryResult<()> {
    match event {
        Event::FlowRunCreated(run) => insert_flow_run(db, flows, lease, run),
        Event::TaskRunCreated(run) => insert_task_run(db, lease, run),
        Event::StateChanged(change) => apply_change(db, change),
        Event::Dependency(edge) => insert_dependency(db, edge),
        Event::Log(line) => insert_log(db, line),
        _ => Ok(()),
    }
}

fn blob(id: Uuid) -> [u8; 16] {
    id.into_bytes()
}

fn opt_blob(id: Option<Uuid>) -> Option<[u8; 16]> {
    id.map(blob)
}

/// The id of flow `name`, created if new.
fn flow_id(db: &Connection, flows: &mut HashMap<String, i64>, name: &str, created: i64) -> QueryResult<i64> {
    if let Some(id) = flows.get(name) {
        return Ok(*id);
    }
    db.prepare_cached("INSERT INTO flows (name, created) VALUES (?1, ?2) ON CONFLICT (name) DO NOTHING")?
        .execute(params![name, created])?;
    let id: i64 =
        db.prepare_cached("SELECT id FROM flows WHERE name = ?1")?.query_row([name], |row| row.get(0))?;
    flows.insert(name.to_owned(), id);
    Ok(id)
}

fn insert_flow_run(
    db: &Connection,
    flows: &mut HashMap<String, i64>,
    lease: Option<i64>,
    run: &FlowRunRecord,
) -> QueryResult<()> {
    let created = micros(run.created);
    let flow = flow_id(db, flows, &run.flow_name, created)?;
    db.prepare_cached(
        "INSERT OR IGNORE INTO flow_runs (id, flow_id, name, flow_version, parameters, tags,
            parent_flow_run_id, parent_task_run_id, created, lease_id)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    )?
    .execute(params![
        blob(run.id.0),
        flow,
        run.name,
        run.flow_version.as_deref(),
        run.parameters.to_string(),
        tags_json(&run.tags),
        opt_blob(run.parent_flow_run_id.map(|id| id.0)),
        opt_blob(run.parent_task_run_id.map(|id| id.0)),
        created,
        lease,
    ])?;
    Ok(())
}

fn insert_task_run(db: &Connection, lease: Option<i64>, run: &TaskRunRecord) -> QueryResult<()> {
    db.prepare_cached(
        "INSERT OR IGNORE INTO task_runs (id, flow_run_id, name, task_name, parent_task_run_id,
            subflow_run_id, map_index, tags, created, lease_id)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    )?
    .execute(params![
        blob(run.id.0),
        opt_blob(run.flow_run_id.map(|id| id.0)),
        run.name,
        &*run.task_name,
        opt_blob(run.parent_task_run_id.map(|id| id.0)),
        opt_blob(run.subflow_run_id.map(|id| id.0)),
        run.map_index,
        tags_json(&run.tags),
        micros(run.created),
        lease,
    ])?;
    Ok(())
}

fn apply_change(db: &Connection, change: &StateChange) -> QueryResult<()> {
    apply_state(db, change.run, &change.state, Some(change.run_count)).map(drop)
}

fn insert_dependency(db: &Connection, edge: &DependencyEdge) -> QueryResult<()> {
    let upstream_kind: i64 = match edge.upstream {
        RunId::Task(_) => 0,
        RunId::Flow(_) => 1,
    };
    let (kind, argument) = dependency_code(&edge.kind);
    db.prepare_cached(
        "INSERT INTO task_run_dependencies (downstream, upstream, upstream_kind, kind, argument)
         VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![
        blob(edge.downstream.0),
        blob(edge.upstream.uuid()),
        upstream_kind,
        kind,
        argument
    ])?;
    Ok(())
}

fn insert_log(db: &Connection, line: &LogRecord) -> QueryResult<()> {
    let fields = if line.fields.is_empty() { None } else { serde_json::to_string(&line.fields).ok() };
    db.prepare_cached(
        "INSERT INTO logs (flow_run_id, task_run_id, timestamp, level, message, target, fields)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?
    .execute(params![
        opt_blob(line.flow_run_id.map(|id| id.0)),
        opt_blob(line.task_run_id.map(|id| id.0)),
        micros(line.timestamp),
        level_code(line.level),
        line.message,
        line.target,
        fields,
    ])?;
    Ok(())
}
