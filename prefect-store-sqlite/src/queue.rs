//! The run queue on SQLite: deployments, their scheduled runs, work queues
//! and workers.
//!
//! Claims run in one `IMMEDIATE` transaction: SQLite's write lock makes
//! them atomic across processes, so two workers never claim the same run.
//! Runs waiting for a worker are read through the partial index
//! `flow_runs_queued` (Scheduled, unclaimed, of a deployment).

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use prefect_model::{FlowRunId, RunId, StateMeta, StateType};
use prefect_store::transition::RunTimes;
use prefect_store::{
    ClaimRequest, DEFAULT_WORK_QUEUE, Deployment, DeploymentId, DeploymentSpec, Error, LeaseOwner,
    NewFlowRun, QueuedRun, WorkQueue, WorkQueueUpdate, WorkerBeat, WorkerInfo,
};
use rusqlite::{Connection, OptionalExtension, Row, TransactionBehavior, params};
use uuid::Uuid;

use super::codec::{
    json_at, micros, now_micros, opt_time_at, state_at, tags_at, tags_json, time_at, u32_at, uuid_at,
};
use super::state::apply_state;
use super::{Conn, QueryResult, history};

/// The condition of a run waiting for a worker, as the partial index has it.
const QUEUED: &str = "r.state_type = 1 AND r.lease_id IS NULL AND r.deployment_id IS NOT NULL";

const DEPLOYMENT_COLUMNS: &str = "id, flow_name, name, description, version, tags, work_queue, parameters, \
     parameter_schema, schedules, catchup, paused, created, updated, labels";

fn deployment_at(row: &Row<'_>) -> rusqlite::Result<Deployment> {
    let schema: Option<String> = row.get(8)?;
    Ok(Deployment {
        id: DeploymentId(uuid_at(row, 0)?),
        spec: DeploymentSpec {
            flow_name: row.get(1)?,
            name: row.get(2)?,
            description: row.get(3)?,
            version: row.get(4)?,
            tags: tags_at(row, 5)?,
            work_queue: row.get(6)?,
            parameters: json_at(row, 7)?,
            parameter_schema: schema.and_then(|text| serde_json::from_str(&text).ok()),
            schedules: json_at(row, 9)?,
            catchup: row.get(10)?,
            paused: row.get::<_, i64>(11)? != 0,
            labels: tags_at(row, 14)?,
        },
        created: time_at(row, 12)?,
        updated: time_at(row, 13)?,
    })
}

/// `flow/name` split at the first slash.
fn split_name(full_name: &str) -> Option<(&str, &str)> {
    full_name.split_once('/').filter(|(flow, name)| !flow.is_empty() && !name.is_empty())
}

fn find(db: &Connection, flow: &str, name: &str) -> QueryResult<Option<Deployment>> {
    let sql = format!("SELECT {DEPLOYMENT_COLUMNS} FROM deployments WHERE flow_name = ?1 AND name = ?2");
    Ok(db.prepare_cached(&sql)?.query_row([flow, name], deployment_at).optional()?)
}

pub(crate) fn deployment(db: &Connection, full_name: &str) -> QueryResult<Option<Deployment>> {
    match split_name(full_name) {
        Some((flow, name)) => find(db, flow, name),
        None => Ok(None),
    }
}

pub(crate) fn list_deployments(db: &Connection) -> QueryResult<Vec<Deployment>> {
    let sql = format!("SELECT {DEPLOYMENT_COLUMNS} FROM deployments ORDER BY flow_name, name");
    let mut stmt = db.prepare_cached(&sql)?;
    let rows = stmt.query_map([], deployment_at)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Deletes the runs `deployment`'s schedules made that no worker claimed.
fn delete_auto_scheduled(db: &Connection, deployment: DeploymentId) -> QueryResult<usize> {
    let sql = format!(
        "DELETE FROM flow_runs AS r WHERE {QUEUED} AND r.deployment_id = ?1 AND r.auto_scheduled = 1"
    );
    Ok(db.execute(&sql, [deployment.0.into_bytes()])?)
}

pub(crate) fn upsert_deployment(db: &mut Connection, spec: &DeploymentSpec) -> QueryResult<Deployment> {
    if spec.flow_name.is_empty() || spec.name.is_empty() || spec.name.contains('/') {
        return Err(Error::InvalidArgument {
            what: "deployment name",
            reason: format!(
                "`{}`: a flow and a deployment name are needed, without `/` in the latter",
                spec.full_name()
            ),
        }
        .into());
    }
    let tx = db.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let now = now_micros();
    let schedules = spec.schedules.to_string();
    let existing = find(&tx, &spec.flow_name, &spec.name)?;
    let id = existing.as_ref().map_or_else(|| DeploymentId(Uuid::now_v7()), |d| d.id);
    let work_queue = if spec.work_queue.is_empty() { DEFAULT_WORK_QUEUE } else { &spec.work_queue };
    tx.execute(
        "INSERT INTO deployments (id, flow_name, name, description, version, tags, work_queue, parameters,
             parameter_schema, schedules, catchup, paused, created, updated, labels)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?13, ?14)
         ON CONFLICT (id) DO UPDATE SET description = ?4, version = ?5, tags = ?6, work_queue = ?7,
             parameters = ?8, parameter_schema = ?9, schedules = ?10, catchup = ?11, paused = ?12,
             updated = ?13, labels = ?14",
        params![
            id.0.into_bytes(),
            spec.flow_name,
            spec.name,
            spec.description,
            spec.version,
            tags_json(&spec.tags),
            work_queue,
            spec.parameters.to_string(),
            spec.parameter_schema.as_ref().map(|s| s.to_string()),
            schedules,
            spec.catchup,
            spec.paused,
            now,
            tags_json(&spec.labels),
        ],
    )?;
    if let Some(old) = &existing
        && (old.spec.schedules != spec.schedules || spec.paused || old.spec.work_queue != work_queue)
    {
        delete_auto_scheduled(&tx, id)?;
    }
    let stored = find(&tx, &spec.flow_name, &spec.name)?.expect("upserted in this transaction");
    tx.commit()?;
    Ok(stored)
}

pub(crate) fn set_deployment_paused(db: &mut Connection, full_name: &str, paused: bool) -> QueryResult<bool> {
    let tx = db.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let Some(found) = deployment(&tx, full_name)? else { return Ok(false) };
    tx.execute(
        "UPDATE deployments SET paused = ?2, updated = ?3 WHERE id = ?1",
        params![found.id.0.into_bytes(), paused, now_micros()],
    )?;
    if paused {
        delete_auto_scheduled(&tx, found.id)?;
    }
    tx.commit()?;
    Ok(true)
}

pub(crate) fn delete_deployment(db: &mut Connection, full_name: &str) -> QueryResult<bool> {
    let tx = db.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let Some(found) = deployment(&tx, full_name)? else { return Ok(false) };
    let id = found.id.0.into_bytes();
    tx.execute(&format!("DELETE FROM flow_runs AS r WHERE {QUEUED} AND r.deployment_id = ?1"), [id])?;
    tx.execute("DELETE FROM deployments WHERE id = ?1", [id])?;
    tx.commit()?;
    Ok(true)
}

pub(crate) fn create_flow_runs(conn: &mut Conn, runs: &[NewFlowRun]) -> QueryResult<Vec<FlowRunId>> {
    let tx = conn.db.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let mut created = Vec::new();
    {
        let mut deployments: HashMap<DeploymentId, (Deployment, i64)> = HashMap::new();
        let mut insert = tx.prepare_cached(
            "INSERT OR IGNORE INTO flow_runs (id, flow_id, name, flow_version, parameters, tags, created,
                 run_count, state_type, state_time, state_scheduled, history, deployment_id, work_queue,
                 auto_scheduled, expected_start, parent_flow_run_id)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 0, 1, ?8, ?9, ?10, ?11, ?12, ?13, ?9, ?14)",
        )?;
        for run in runs {
            let (deployment, flow) = match deployments.entry(run.deployment) {
                std::collections::hash_map::Entry::Occupied(known) => known.into_mut(),
                std::collections::hash_map::Entry::Vacant(slot) => {
                    let sql = format!("SELECT {DEPLOYMENT_COLUMNS} FROM deployments WHERE id = ?1");
                    let found = tx
                        .prepare_cached(&sql)?
                        .query_row([run.deployment.0.into_bytes()], deployment_at)
                        .optional()?
                        .ok_or_else(|| Error::NotFound {
                            what: "deployment",
                            id: run.deployment.to_string(),
                        })?;
                    let flow = crate::write::flow_id(
                        &tx,
                        &mut conn.flows,
                        &found.spec.flow_name,
                        micros(run.created),
                    )?;
                    slot.insert((found, flow))
                }
            };
            let state = StateMeta {
                timestamp: run.created,
                scheduled_time: Some(run.scheduled),
                ..StateMeta::new(StateType::Scheduled)
            };
            let time = RunTimes::default().enter(&state, None);
            let rows = insert.execute(params![
                run.id.0.into_bytes(),
                *flow,
                run.name,
                deployment.spec.version,
                run.parameters.to_string(),
                tags_json(&deployment.spec.tags),
                micros(run.created),
                time,
                micros(run.scheduled),
                history::encode([(&state, time)]),
                run.deployment.0.into_bytes(),
                deployment.spec.work_queue,
                run.auto_scheduled,
                run.parent_flow_run_id.map(|id| id.0.into_bytes()),
            ])?;
            if rows == 1 {
                created.push(run.id);
            }
        }
    }
    tx.commit()?;
    Ok(created)
}

const QUEUED_COLUMNS: &str = "r.id, r.name, f.name, d.id, d.flow_name || '/' || d.name, r.work_queue, \
     r.parameters, r.tags, r.state_scheduled, r.state_type, r.state_name, r.state_message, r.state_time, \
     r.state_scheduled, r.run_count";

fn queued_at(row: &Row<'_>) -> rusqlite::Result<QueuedRun> {
    Ok(QueuedRun {
        id: FlowRunId(uuid_at(row, 0)?),
        name: row.get(1)?,
        flow_name: row.get(2)?,
        deployment: DeploymentId(uuid_at(row, 3)?),
        deployment_name: row.get(4)?,
        work_queue: row.get::<_, Option<String>>(5)?.unwrap_or_else(|| DEFAULT_WORK_QUEUE.to_owned()),
        parameters: json_at(row, 6)?,
        tags: tags_at(row, 7)?,
        scheduled: opt_time_at(row, 8)?.unwrap_or(DateTime::UNIX_EPOCH),
        state: state_at(row, 9)?.unwrap_or_else(|| StateMeta::new(StateType::Scheduled)),
        run_count: u32_at(row, 14)?,
    })
}

pub(crate) fn queued_runs(
    db: &Connection,
    deployment: Option<DeploymentId>,
    due_before: Option<DateTime<Utc>>,
    limit: usize,
) -> QueryResult<Vec<QueuedRun>> {
    let sql = format!(
        "SELECT {QUEUED_COLUMNS} FROM flow_runs AS r JOIN flows f ON f.id = r.flow_id
             JOIN deployments d ON d.id = r.deployment_id
         WHERE {QUEUED} AND (?1 IS NULL OR r.deployment_id = ?1) AND (?2 IS NULL OR r.state_scheduled <= ?2)
         ORDER BY r.state_scheduled LIMIT ?3"
    );
    let mut stmt = db.prepare_cached(&sql)?;
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let rows = stmt
        .query_map(params![deployment.map(|d| d.0.into_bytes()), due_before.map(micros), limit], queued_at)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

pub(crate) fn crashed_runs(db: &Connection, ended_after: DateTime<Utc>) -> QueryResult<Vec<QueuedRun>> {
    let sql = format!(
        "SELECT {QUEUED_COLUMNS} FROM flow_runs AS r INDEXED BY flow_runs_crashed
             JOIN flows f ON f.id = r.flow_id JOIN deployments d ON d.id = r.deployment_id
         WHERE r.deployment_id IS NOT NULL AND r.state_type = 8 AND r.end_time >= ?1
         ORDER BY r.end_time"
    );
    let mut stmt = db.prepare_cached(&sql)?;
    let rows = stmt.query_map([micros(ended_after)], queued_at)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

pub(crate) fn claim_flow_runs(db: &mut Connection, request: ClaimRequest<'_>) -> QueryResult<Vec<QueuedRun>> {
    if request.limit == 0 || request.flows.is_empty() {
        return Ok(Vec::new());
    }
    let tx = db.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let mut claimed = Vec::new();
    {
        let queues = open_queues(&tx, request.queues)?;
        let (flows, labels) = takeable(&request);
        let sql = format!(
            "SELECT {QUEUED_COLUMNS} {TAKEABLE} AND r.state_scheduled <= ?2 ORDER BY r.state_scheduled LIMIT ?4"
        );
        let mut stmt = tx.prepare_cached(&sql)?;
        for (_, queue, room) in &queues {
            let left = request.limit - claimed.len();
            let take = room.map_or(left as i64, |room| room.min(left as i64));
            if take <= 0 {
                continue;
            }
            let rows = stmt.query_map(params![queue, micros(request.now), flows, take, labels], queued_at)?;
            for run in rows {
                claimed.push(run?);
            }
            if claimed.len() >= request.limit {
                break;
            }
        }
        let mut set_lease = tx.prepare_cached("UPDATE flow_runs SET lease_id = ?2 WHERE id = ?1")?;
        for run in &claimed {
            apply_state(&tx, RunId::Flow(run.id), &StateMeta::new(StateType::Pending), None)?;
            set_lease.execute(params![run.id.0.into_bytes(), request.lease.0])?;
        }
    }
    tx.commit()?;
    Ok(claimed)
}

/// The queues `names` (all when empty) that are not paused, highest
/// priority first, each with what it may still start (its limit less its
/// runs started and not ended; `None` when unlimited). A queue that
/// deployments name but nobody created has the defaults.
fn open_queues(db: &Connection, names: &[String]) -> QueryResult<Vec<(i64, String, Option<i64>)>> {
    let mut stmt = db.prepare_cached(
        "SELECT q.priority, q.name, q.concurrency_limit - (SELECT COUNT(*) FROM flow_runs r
             WHERE r.end_time IS NULL AND r.lease_id IS NOT NULL AND r.work_queue = q.name
               AND r.state_type IN (2, 3, 5))
         FROM work_queues q WHERE q.paused = 0
         UNION
         SELECT DISTINCT 1, d.work_queue, NULL FROM deployments d
             WHERE d.work_queue NOT IN (SELECT name FROM work_queues)",
    )?;
    let rows = stmt.query_map([], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))?;
    let mut queues: Vec<(i64, String, Option<i64>)> = rows.collect::<rusqlite::Result<_>>()?;
    queues.retain(|(_, name, _)| names.is_empty() || names.contains(name));
    queues.sort();
    Ok(queues)
}

/// The queued runs of queue `?1` a worker can take: its flows (`?3`) and
/// labels (`?5`), read in due order through `flow_runs_queued_by_queue`.
/// Callers add the due-time condition on `?2` and the order and limit (`?4`).
const TAKEABLE: &str = "FROM flow_runs AS r INDEXED BY flow_runs_queued_by_queue
         JOIN flows f ON f.id = r.flow_id JOIN deployments d ON d.id = r.deployment_id
     WHERE r.state_type = 1 AND r.lease_id IS NULL AND r.deployment_id IS NOT NULL AND r.work_queue = ?1
       AND f.name IN (SELECT value FROM json_each(?3))
       AND NOT EXISTS (SELECT 1 FROM json_each(COALESCE(d.labels, '[]'))
                       WHERE value NOT IN (SELECT value FROM json_each(?5)))";

/// The flows and labels of a request, as the JSON `TAKEABLE` reads.
fn takeable(request: &ClaimRequest<'_>) -> (String, String) {
    (
        serde_json::to_string(request.flows).unwrap_or_default(),
        serde_json::to_string(request.labels).unwrap_or_default(),
    )
}

pub(crate) fn next_due(db: &Connection, request: ClaimRequest<'_>) -> QueryResult<Option<DateTime<Utc>>> {
    if request.flows.is_empty() {
        return Ok(None);
    }
    let (flows, labels) = takeable(&request);
    let sql = format!(
        "SELECT r.state_scheduled {TAKEABLE} AND r.state_scheduled > ?2 ORDER BY r.state_scheduled LIMIT ?4"
    );
    let mut stmt = db.prepare_cached(&sql)?;
    let mut earliest: Option<i64> = None;
    for (_, queue, _) in open_queues(db, request.queues)? {
        let next: Option<i64> = stmt
            .query_row(params![queue, micros(request.now), flows, 1, labels], |row| row.get(0))
            .optional()?;
        earliest = match (earliest, next) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
    }
    Ok(earliest.and_then(DateTime::from_timestamp_micros))
}

pub(crate) fn set_flow_run_state(
    db: &mut Connection,
    run: FlowRunId,
    state: &StateMeta,
    expected: &[StateType],
) -> QueryResult<Option<StateMeta>> {
    let tx = db.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let before = set_flow_run_state_in(&tx, run, state, expected)?;
    tx.commit()?;
    Ok(before)
}

/// [`set_flow_run_state`] inside the caller's transaction.
fn set_flow_run_state_in(
    tx: &Connection,
    run: FlowRunId,
    state: &StateMeta,
    expected: &[StateType],
) -> QueryResult<Option<StateMeta>> {
    let id = run.0.into_bytes();
    let current = tx
        .prepare_cached(
            "SELECT state_type, state_name, state_message, state_time, state_scheduled FROM flow_runs WHERE id = ?1",
        )?
        .query_row([id], |row| state_at(row, 0))
        .optional()?
        .ok_or_else(|| Error::NotFound { what: "flow run", id: run.to_string() })?;
    let Some(current) = current else { return Ok(None) };
    if !expected.is_empty() && !expected.contains(&current.state_type) {
        return Ok(None);
    }
    apply_state(tx, RunId::Flow(run), state, None)?;
    if state.state_type == StateType::Cancelling {
        // Kept even if the run's process records another state meanwhile.
        tx.execute("UPDATE flow_runs SET cancel_requested = 1 WHERE id = ?1", [id])?;
    }
    if state.state_type == StateType::Scheduled && current.state_type != StateType::Scheduled {
        tx.execute("UPDATE flow_runs SET lease_id = NULL WHERE id = ?1", [id])?;
    }
    Ok(Some(current))
}

pub(crate) fn resume_flow_run(
    db: &mut Connection,
    run: FlowRunId,
    input: Option<&serde_json::Value>,
) -> QueryResult<Option<StateMeta>> {
    let tx = db.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let resumed = StateMeta::new(StateType::Running).with_message("resumed");
    let before = set_flow_run_state_in(&tx, run, &resumed, &[StateType::Paused])?;
    if before.is_some() {
        tx.execute(
            "UPDATE flow_runs SET resume_input = ?2 WHERE id = ?1",
            params![run.0.into_bytes(), input.map(|v| v.to_string())],
        )?;
    }
    tx.commit()?;
    Ok(before)
}

pub(crate) fn take_resume_input(
    db: &mut Connection,
    run: FlowRunId,
) -> QueryResult<Option<serde_json::Value>> {
    let tx = db.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let id = run.0.into_bytes();
    let text: Option<String> = tx
        .prepare_cached("SELECT resume_input FROM flow_runs WHERE id = ?1")?
        .query_row([id], |row| row.get(0))
        .optional()?
        .flatten();
    if text.is_some() {
        tx.execute("UPDATE flow_runs SET resume_input = NULL WHERE id = ?1", [id])?;
    }
    tx.commit()?;
    Ok(text.and_then(|t| serde_json::from_str(&t).ok()))
}

pub(crate) fn mark_late_runs(db: &mut Connection, due_before: DateTime<Utc>) -> QueryResult<Vec<FlowRunId>> {
    let tx = db.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let late: Vec<(FlowRunId, Option<DateTime<Utc>>)> = {
        let sql = format!(
            "SELECT r.id, r.state_scheduled FROM flow_runs AS r
             WHERE {QUEUED} AND r.state_scheduled < ?1 AND r.state_name IS NULL"
        );
        let mut stmt = tx.prepare_cached(&sql)?;
        let rows = stmt
            .query_map([micros(due_before)], |row| Ok((FlowRunId(uuid_at(row, 0)?), opt_time_at(row, 1)?)))?;
        rows.collect::<rusqlite::Result<_>>()?
    };
    for (id, scheduled) in &late {
        let state = StateMeta { scheduled_time: *scheduled, ..StateMeta::new(StateType::Scheduled) }
            .named(prefect_model::state::names::LATE);
        apply_state(&tx, RunId::Flow(*id), &state, None)?;
    }
    tx.commit()?;
    Ok(late.into_iter().map(|(id, _)| id).collect())
}

pub(crate) fn cancelling_runs(db: &Connection, lease: i64) -> QueryResult<Vec<FlowRunId>> {
    let mut stmt = db.prepare_cached(
        "SELECT id FROM flow_runs WHERE end_time IS NULL AND lease_id = ?1 AND cancel_requested = 1",
    )?;
    let rows = stmt.query_map(params![lease], |row| Ok(FlowRunId(uuid_at(row, 0)?)))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

fn work_queue_at(row: &Row<'_>) -> rusqlite::Result<WorkQueue> {
    Ok(WorkQueue {
        name: row.get(0)?,
        priority: u32_at(row, 1)?,
        concurrency_limit: row.get::<_, Option<i64>>(2)?.map(|n| u32::try_from(n.max(0)).unwrap_or(u32::MAX)),
        paused: row.get::<_, i64>(3)? != 0,
        description: row.get(4)?,
        created: time_at(row, 5)?,
    })
}

pub(crate) fn update_work_queue(
    db: &mut Connection,
    name: &str,
    update: &WorkQueueUpdate,
) -> QueryResult<WorkQueue> {
    if name.is_empty() {
        return Err(Error::InvalidArgument { what: "work queue name", reason: "it is empty".into() }.into());
    }
    if update.priority == Some(0) {
        return Err(Error::InvalidArgument {
            what: "priority",
            reason: "1 is the highest; 0 is not one".into(),
        }
        .into());
    }
    let tx = db.transaction_with_behavior(TransactionBehavior::Immediate)?;
    tx.execute(
        "INSERT INTO work_queues (name, created) VALUES (?1, ?2) ON CONFLICT (name) DO NOTHING",
        params![name, now_micros()],
    )?;
    if let Some(priority) = update.priority {
        tx.execute("UPDATE work_queues SET priority = ?2 WHERE name = ?1", params![name, priority])?;
    }
    if let Some(limit) = update.concurrency_limit {
        tx.execute("UPDATE work_queues SET concurrency_limit = ?2 WHERE name = ?1", params![name, limit])?;
    }
    if let Some(paused) = update.paused {
        tx.execute("UPDATE work_queues SET paused = ?2 WHERE name = ?1", params![name, paused])?;
    }
    if let Some(description) = &update.description {
        tx.execute("UPDATE work_queues SET description = ?2 WHERE name = ?1", params![name, description])?;
    }
    let queue = tx.query_row(
        "SELECT name, priority, concurrency_limit, paused, description, created FROM work_queues WHERE name = ?1",
        [name],
        work_queue_at,
    )?;
    tx.commit()?;
    Ok(queue)
}

pub(crate) fn list_work_queues(db: &Connection) -> QueryResult<Vec<WorkQueue>> {
    let mut stmt = db.prepare_cached(
        "SELECT name, priority, concurrency_limit, paused, description, created FROM work_queues
         UNION ALL
         SELECT DISTINCT work_queue, 1, NULL, 0, NULL, MIN(created) FROM deployments
             WHERE work_queue NOT IN (SELECT name FROM work_queues) GROUP BY work_queue
         ORDER BY 2, 1",
    )?;
    let rows = stmt.query_map([], work_queue_at)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

pub(crate) fn worker_heartbeat(db: &Connection, beat: &WorkerBeat) -> QueryResult<()> {
    let time = micros(beat.time);
    db.prepare_cached(
        "INSERT INTO workers (name, queues, flows, lease_id, status, started, heartbeat, labels)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6, ?7)
         ON CONFLICT (name) DO UPDATE SET queues = ?2, flows = ?3, status = ?5, heartbeat = ?6, labels = ?7,
             started = CASE WHEN lease_id = ?4 THEN started ELSE ?6 END, lease_id = ?4",
    )?
    .execute(params![
        beat.name,
        serde_json::to_string(&beat.queues).unwrap_or_default(),
        serde_json::to_string(&beat.flows).unwrap_or_default(),
        beat.lease.0,
        beat.status,
        time,
        serde_json::to_string(&beat.labels).unwrap_or_default(),
    ])?;
    Ok(())
}

pub(crate) fn list_workers(db: &Connection) -> QueryResult<Vec<WorkerInfo>> {
    let here = LeaseOwner::current();
    let now = Utc::now();
    let mut stmt = db.prepare_cached(
        "SELECT w.name, w.queues, w.flows, w.lease_id, w.status, w.heartbeat, w.started,
                l.pid, l.host, l.boot_id, l.pid_start, l.expires, w.labels
         FROM workers w LEFT JOIN leases l ON l.id = w.lease_id
         ORDER BY w.heartbeat DESC",
    )?;
    let rows = stmt.query_map([], |row| {
        let list = |index: usize| -> rusqlite::Result<Vec<String>> {
            Ok(serde_json::from_str(&row.get::<_, String>(index)?).unwrap_or_default())
        };
        let beat = WorkerBeat {
            name: row.get(0)?,
            queues: list(1)?,
            flows: list(2)?,
            labels: tags_at(row, 12)?,
            lease: prefect_store::LeaseId(row.get(3)?),
            status: row.get(4)?,
            time: time_at(row, 5)?,
        };
        let pid: Option<i64> = row.get(7)?;
        let owner = match pid {
            Some(pid) => Some((
                LeaseOwner {
                    pid: u32::try_from(pid).unwrap_or(0),
                    host: row.get(8)?,
                    boot_id: row.get(9)?,
                    pid_start: row.get::<_, Option<i64>>(10)?.map(|s| s as u64),
                },
                time_at(row, 11)?,
            )),
            None => None,
        };
        let alive = owner.as_ref().is_some_and(|(owner, expires)| owner.is_alive(*expires, now, &here));
        Ok(WorkerInfo {
            started: time_at(row, 6)?,
            pid: owner.as_ref().map(|(o, _)| o.pid),
            host: owner.map(|(o, _)| o.host),
            alive: alive && beat.status != "offline",
            beat,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

pub(crate) fn latest_expected_start(
    db: &Connection,
    deployment: DeploymentId,
) -> QueryResult<Option<DateTime<Utc>>> {
    let latest: Option<i64> = db
        .prepare_cached("SELECT MAX(expected_start) FROM flow_runs WHERE deployment_id = ?1")?
        .query_row([deployment.0.into_bytes()], |row| row.get(0))?;
    Ok(latest.and_then(DateTime::from_timestamp_micros))
}

/// SQLite's count of commits by other connections.
pub(crate) fn change_counter(db: &Connection) -> QueryResult<Option<u64>> {
    // `data_version` moves when another connection commits, `total_changes`
    // when this one writes (a server storing events it was sent, then
    // following them for a page): their sum moves on either. Prepared once:
    // parsing cost more than running it.
    let version: i64 = db
        .prepare_cached("SELECT (SELECT data_version FROM pragma_data_version()) + total_changes()")?
        .query_row([], |row| row.get(0))?;
    Ok(Some(version as u64))
}
