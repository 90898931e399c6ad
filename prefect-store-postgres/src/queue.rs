//! The run queue on PostgreSQL: deployments, their scheduled runs, work
//! queues and workers.
//!
//! Many workers on many machines claim at once. A claim reads due runs
//! with `FOR UPDATE SKIP LOCKED`, so concurrent claimers pass over each
//! other's rows instead of waiting on them, and a run goes to one worker.
//! A queue with a concurrency limit is locked (its `work_queues` row,
//! `FOR UPDATE`) while its room is counted and filled, so two claimers
//! cannot both fill the last place.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use deadpool_postgres::{GenericClient, Object, Transaction};
use prefect_model::{FlowRunId, RunId, StateMeta, StateType};
use prefect_store::codes::tags_json;
use prefect_store::transition::RunTimes;
use prefect_store::wire::Claim;
use prefect_store::{
    DEFAULT_WORK_QUEUE, Deployment, DeploymentId, DeploymentSpec, Error, LeaseId, LeaseOwner, NewFlowRun,
    QueuedRun, WorkQueue, WorkQueueUpdate, WorkerBeat, WorkerInfo,
};
use tokio_postgres::Row;
use uuid::Uuid;

use crate::changes::Change;
use crate::pool::DbResult;
use crate::query::{corrupt, count, opt_time, state_at, tags, time};
use crate::write::{apply_state, ensure_flows, micros};

/// The condition of a run waiting for a worker, as the partial index
/// `flow_runs_queued_by_queue` has it.
const QUEUED: &str = "r.state_type = 1 AND r.lease_id IS NULL AND r.deployment_id IS NOT NULL";

const DEPLOYMENT_COLUMNS: &str = "id, flow_name, name, description, version, tags, work_queue, parameters, \
     parameter_schema, schedules, catchup, paused, created, updated, labels";

fn json(text: String, column: &str) -> DbResult<serde_json::Value> {
    serde_json::from_str(&text).map_err(|e| corrupt(format!("{column}: {e}")))
}

fn deployment_at(row: &Row) -> DbResult<Deployment> {
    let schema: Option<String> = row.get(8);
    Ok(Deployment {
        id: DeploymentId(row.get(0)),
        spec: DeploymentSpec {
            flow_name: row.get(1),
            name: row.get(2),
            description: row.get(3),
            version: row.get(4),
            tags: tags(row.get(5))?,
            work_queue: row.get(6),
            parameters: json(row.get(7), "deployment parameters")?,
            parameter_schema: schema.and_then(|text| serde_json::from_str(&text).ok()),
            schedules: json(row.get(9), "deployment schedules")?,
            catchup: row.get(10),
            paused: row.get(11),
            labels: tags(row.get(14))?,
        },
        created: time(row.get(12), "created")?,
        updated: time(row.get(13), "updated")?,
    })
}

/// `flow/name` split at the first slash.
fn split_name(full_name: &str) -> Option<(&str, &str)> {
    full_name.split_once('/').filter(|(flow, name)| !flow.is_empty() && !name.is_empty())
}

async fn find(db: &impl GenericClient, flow: &str, name: &str, lock: bool) -> DbResult<Option<Deployment>> {
    let lock = if lock { " FOR UPDATE" } else { "" };
    let sql =
        format!("SELECT {DEPLOYMENT_COLUMNS} FROM deployments WHERE flow_name = $1 AND name = $2{lock}");
    let statement = db.prepare_cached(&sql).await?;
    db.query_opt(&statement, &[&flow, &name]).await?.map(|row| deployment_at(&row)).transpose()
}

pub(crate) async fn deployment(client: Object, full_name: String) -> DbResult<Option<Deployment>> {
    match split_name(&full_name) {
        Some((flow, name)) => find(&client, flow, name, false).await,
        None => Ok(None),
    }
}

pub(crate) async fn list_deployments(client: Object) -> DbResult<Vec<Deployment>> {
    let sql = format!("SELECT {DEPLOYMENT_COLUMNS} FROM deployments ORDER BY flow_name, name");
    let statement = client.prepare_cached(&sql).await?;
    client.query(&statement, &[]).await?.iter().map(deployment_at).collect()
}

/// Tells listeners what changed (delivered when the transaction commits;
/// repeats within it are folded into one).
pub(crate) async fn notify(tx: &Transaction<'_>, channel: &str, kind: Change) -> DbResult<()> {
    tx.batch_execute(&format!("NOTIFY {channel}, '{}'", kind.payload())).await?;
    Ok(())
}

/// Deletes the runs `deployment`'s schedules made that no worker claimed.
async fn delete_auto_scheduled(tx: &Transaction<'_>, deployment: Uuid) -> DbResult<u64> {
    let sql =
        format!("DELETE FROM flow_runs AS r WHERE {QUEUED} AND r.deployment_id = $1 AND r.auto_scheduled");
    Ok(tx.execute(&sql, &[&deployment]).await?)
}

pub(crate) async fn upsert_deployment(
    mut client: Object,
    spec: DeploymentSpec,
    channel: String,
) -> DbResult<Deployment> {
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
    let work_queue = if spec.work_queue.is_empty() { DEFAULT_WORK_QUEUE } else { &spec.work_queue };
    let tx = client.transaction().await?;
    let now = micros(Utc::now());
    // Inserted if missing, then locked: two processes registering the same
    // deployment at once keep one id.
    let inserted = tx.execute(
        "INSERT INTO deployments (id, flow_name, name, work_queue, parameters, schedules, catchup, created, updated)
         VALUES ($1, $2, $3, $4, '{}', 'null', 'all', $5, $5) ON CONFLICT (flow_name, name) DO NOTHING",
        &[&Uuid::now_v7(), &spec.flow_name, &spec.name, &work_queue, &now],
    )
    .await?;
    let existing = find(&tx, &spec.flow_name, &spec.name, true).await?.expect("inserted or found above");
    let fresh = inserted == 1;
    tx.execute(
        "UPDATE deployments SET description = $2, version = $3, tags = $4, work_queue = $5, parameters = $6,
             parameter_schema = $7, schedules = $8, catchup = $9, paused = $10, updated = $11, labels = $12
         WHERE id = $1",
        &[
            &existing.id.0,
            &spec.description,
            &spec.version,
            &tags_json(&spec.tags),
            &work_queue,
            &spec.parameters.to_string(),
            &spec.parameter_schema.as_ref().map(|s| s.to_string()),
            &spec.schedules.to_string(),
            &spec.catchup,
            &spec.paused,
            &now,
            &tags_json(&spec.labels),
        ],
    )
    .await?;
    if !fresh
        && (existing.spec.schedules != spec.schedules
            || spec.paused
            || existing.spec.work_queue != work_queue)
    {
        delete_auto_scheduled(&tx, existing.id.0).await?;
    }
    let stored = find(&tx, &spec.flow_name, &spec.name, false).await?.expect("upserted in this transaction");
    notify(&tx, &channel, Change::Queue).await?;
    tx.commit().await?;
    Ok(stored)
}

pub(crate) async fn set_deployment_paused(
    mut client: Object,
    full_name: String,
    paused: bool,
    channel: String,
) -> DbResult<bool> {
    let Some((flow, name)) = split_name(&full_name) else { return Ok(false) };
    let tx = client.transaction().await?;
    let Some(found) = find(&tx, flow, name, true).await? else { return Ok(false) };
    tx.execute(
        "UPDATE deployments SET paused = $2, updated = $3 WHERE id = $1",
        &[&found.id.0, &paused, &micros(Utc::now())],
    )
    .await?;
    if paused {
        delete_auto_scheduled(&tx, found.id.0).await?;
    }
    notify(&tx, &channel, Change::Queue).await?;
    tx.commit().await?;
    Ok(true)
}

pub(crate) async fn delete_deployment(
    mut client: Object,
    full_name: String,
    channel: String,
) -> DbResult<bool> {
    let Some((flow, name)) = split_name(&full_name) else { return Ok(false) };
    let tx = client.transaction().await?;
    let Some(found) = find(&tx, flow, name, true).await? else { return Ok(false) };
    let sql = format!("DELETE FROM flow_runs AS r WHERE {QUEUED} AND r.deployment_id = $1");
    tx.execute(&sql, &[&found.id.0]).await?;
    tx.execute("DELETE FROM deployments WHERE id = $1", &[&found.id.0]).await?;
    notify(&tx, &channel, Change::Queue).await?;
    tx.commit().await?;
    Ok(true)
}

pub(crate) async fn create_flow_runs(
    mut client: Object,
    runs: Vec<NewFlowRun>,
    channel: String,
) -> DbResult<Vec<FlowRunId>> {
    let tx = client.transaction().await?;
    let mut deployments: HashMap<DeploymentId, (Deployment, i64)> = HashMap::new();
    for run in &runs {
        if deployments.contains_key(&run.deployment) {
            continue;
        }
        // The deployment with its flow's id, when the flow is stored.
        let sql = format!(
            "SELECT {DEPLOYMENT_COLUMNS}, (SELECT f.id FROM flows f WHERE f.name = d.flow_name)
             FROM deployments d WHERE id = $1"
        );
        let row = tx
            .query_opt(&sql, &[&run.deployment.0])
            .await?
            .ok_or_else(|| Error::NotFound { what: "deployment", id: run.deployment.to_string() })?;
        let found = deployment_at(&row)?;
        let flow = match row.get::<_, Option<i64>>(15) {
            Some(flow) => flow,
            None => {
                let flows = ensure_flows(&tx, &[&found.spec.flow_name], &[micros(run.created)]).await?;
                flows
                    .first()
                    .map(|(_, id)| *id)
                    .ok_or_else(|| corrupt(format!("flow `{}` could not be stored", found.spec.flow_name)))?
            }
        };
        deployments.insert(run.deployment, (found, flow));
    }
    // One statement for all of them: the scheduler plans up to 100 runs
    // per deployment at a time.
    let mut columns = NewRuns::default();
    for run in &runs {
        let (deployment, flow) = &deployments[&run.deployment];
        let state = StateMeta {
            timestamp: run.created,
            scheduled_time: Some(run.scheduled),
            ..StateMeta::new(StateType::Scheduled)
        };
        let time = RunTimes::default().enter(&state, None);
        columns.id.push(run.id.0);
        columns.flow.push(*flow);
        columns.name.push(run.name.clone());
        columns.version.push(deployment.spec.version.clone());
        columns.parameters.push(run.parameters.to_string());
        columns.tags.push(tags_json(&deployment.spec.tags));
        columns.created.push(micros(run.created));
        columns.state_time.push(time);
        columns.scheduled.push(micros(run.scheduled));
        columns.history.push(prefect_store::history::encode([(&state, time)]));
        columns.deployment.push(run.deployment.0);
        columns.queue.push(deployment.spec.work_queue.clone());
        columns.auto.push(run.auto_scheduled);
        columns.parent.push(run.parent_flow_run_id.map(|id| id.0));
    }
    let params: [&(dyn tokio_postgres::types::ToSql + Sync); 14] = [
        &columns.id,
        &columns.flow,
        &columns.name,
        &columns.version,
        &columns.parameters,
        &columns.tags,
        &columns.created,
        &columns.state_time,
        &columns.scheduled,
        &columns.history,
        &columns.deployment,
        &columns.queue,
        &columns.auto,
        &columns.parent,
    ];
    let insert = tx.query(
            "INSERT INTO flow_runs (id, flow_id, name, flow_version, parameters, tags, created, run_count,
                 state_type, state_time, state_scheduled, history, deployment_id, work_queue, auto_scheduled,
                 expected_start, parent_flow_run_id)
             SELECT id, flow, name, version, parameters, tags, created, 0, 1, state_time, scheduled, history,
                 deployment, queue, auto, scheduled, parent
             FROM UNNEST($1::uuid[], $2::bigint[], $3::text[], $4::text[], $5::text[], $6::text[], $7::bigint[],
                 $8::bigint[], $9::bigint[], $10::bytea[], $11::uuid[], $12::text[], $13::bool[], $14::uuid[])
                 AS t(id, flow, name, version, parameters, tags, created, state_time, scheduled, history,
                      deployment, queue, auto, parent)
             ON CONFLICT (id) DO NOTHING RETURNING id",
            &params,
        );
    // Pipelined: the notification goes out only if the transaction commits,
    // and runs that existed already wake workers for nothing, harmlessly.
    let (rows, ()) = futures::try_join!(
        async { insert.await.map_err(crate::pool::DbError::from) },
        notify(&tx, &channel, Change::Queue)
    )?;
    let new: std::collections::HashSet<Uuid> = rows.iter().map(|row| row.get(0)).collect();
    tx.commit().await?;
    // In the order asked for, as the SQLite store answers.
    Ok(runs.iter().filter(|run| new.contains(&run.id.0)).map(|run| run.id).collect())
}

/// The columns of new scheduled runs, for one `UNNEST` insert.
#[derive(Default)]
struct NewRuns {
    id: Vec<Uuid>,
    flow: Vec<i64>,
    name: Vec<String>,
    version: Vec<Option<String>>,
    parameters: Vec<String>,
    tags: Vec<Option<String>>,
    created: Vec<i64>,
    state_time: Vec<i64>,
    scheduled: Vec<i64>,
    history: Vec<Vec<u8>>,
    deployment: Vec<Uuid>,
    queue: Vec<String>,
    auto: Vec<bool>,
    parent: Vec<Option<Uuid>>,
}

const QUEUED_COLUMNS: &str = "r.id, r.name, f.name, d.id, d.flow_name || '/' || d.name, r.work_queue, \
     r.parameters, r.tags, r.state_scheduled, r.state_type, r.state_name, r.state_message, r.state_time, \
     r.state_scheduled, r.run_count";

fn queued_at(row: &Row) -> DbResult<QueuedRun> {
    Ok(QueuedRun {
        id: FlowRunId(row.get(0)),
        name: row.get(1),
        flow_name: row.get(2),
        deployment: DeploymentId(row.get(3)),
        deployment_name: row.get(4),
        work_queue: row.get::<_, Option<String>>(5).unwrap_or_else(|| DEFAULT_WORK_QUEUE.to_owned()),
        parameters: json(row.get(6), "parameters")?,
        tags: tags(row.get(7))?,
        scheduled: opt_time(row.get(8), "scheduled time")?.unwrap_or(DateTime::UNIX_EPOCH),
        state: state_at(row, 9)?.unwrap_or_else(|| StateMeta::new(StateType::Scheduled)),
        run_count: count(row.get(14)),
    })
}

pub(crate) async fn queued_runs(
    client: Object,
    deployment: Option<DeploymentId>,
    due_before: Option<DateTime<Utc>>,
    limit: usize,
) -> DbResult<Vec<QueuedRun>> {
    let sql = format!(
        "SELECT {QUEUED_COLUMNS} FROM flow_runs AS r JOIN flows f ON f.id = r.flow_id
             JOIN deployments d ON d.id = r.deployment_id
         WHERE {QUEUED} AND ($1::uuid IS NULL OR r.deployment_id = $1)
             AND ($2::bigint IS NULL OR r.state_scheduled <= $2)
         ORDER BY r.state_scheduled LIMIT $3"
    );
    let statement = client.prepare_cached(&sql).await?;
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let rows = client.query(&statement, &[&deployment.map(|d| d.0), &due_before.map(micros), &limit]).await?;
    rows.iter().map(queued_at).collect()
}

pub(crate) async fn crashed_runs(client: Object, ended_after: DateTime<Utc>) -> DbResult<Vec<QueuedRun>> {
    let sql = format!(
        "SELECT {QUEUED_COLUMNS} FROM flow_runs AS r
             JOIN flows f ON f.id = r.flow_id JOIN deployments d ON d.id = r.deployment_id
         WHERE r.deployment_id IS NOT NULL AND r.state_type = 8 AND r.end_time >= $1
         ORDER BY r.end_time"
    );
    let statement = client.prepare_cached(&sql).await?;
    client.query(&statement, &[&micros(ended_after)]).await?.iter().map(queued_at).collect()
}

/// The queued runs of queue `$1` a worker can take: its flows (`$3`) and
/// labels (`$5`: a deployment's labels must all be among them), read in
/// due order through `flow_runs_queued_by_queue`. Callers add the
/// due-time condition on `$2` and the order and limit (`$4`).
const TAKEABLE: &str = "FROM flow_runs AS r
         JOIN flows f ON f.id = r.flow_id JOIN deployments d ON d.id = r.deployment_id
     WHERE r.state_type = 1 AND r.lease_id IS NULL AND r.deployment_id IS NOT NULL AND r.work_queue = $1
       AND f.name = ANY($3::text[])
       AND NOT EXISTS (SELECT 1 FROM json_array_elements_text(COALESCE(d.labels, '[]')::json) AS l(label)
                       WHERE l.label <> ALL($5::text[]))";

/// A queue a claim may take from: its priority, name, and what it may
/// still start (`None`: no limit).
type OpenQueue = (i64, String, Option<i64>);

/// The queues `names` (all when empty) that are not paused, highest
/// priority first, each with the room its limit leaves. A queue that
/// deployments name but nobody created has the defaults.
async fn open_queues(db: &impl GenericClient, names: &[String]) -> DbResult<Vec<OpenQueue>> {
    let statement = db
        .prepare_cached(
            "SELECT q.priority, q.name, q.concurrency_limit - (SELECT COUNT(*) FROM flow_runs r
                 WHERE r.end_time IS NULL AND r.lease_id IS NOT NULL AND r.deployment_id IS NOT NULL
                   AND r.work_queue = q.name AND r.state_type IN (2, 3, 5))
             FROM work_queues q WHERE NOT q.paused
             UNION
             SELECT DISTINCT 1::bigint, d.work_queue, NULL::bigint FROM deployments d
                 WHERE d.work_queue NOT IN (SELECT name FROM work_queues)",
        )
        .await?;
    let mut queues: Vec<OpenQueue> =
        db.query(&statement, &[]).await?.iter().map(|row| (row.get(0), row.get(1), row.get(2))).collect();
    queues.retain(|(_, name, _)| names.is_empty() || names.contains(name));
    queues.sort();
    Ok(queues)
}

/// [`open_queues`] for a claim: when some have a limit, their rows are
/// locked (in name order, so claimers never deadlock) and their room
/// counted again, so it stays right until the claim commits. Queues
/// without limits lock nothing: `SKIP LOCKED` keeps their claims apart.
async fn open_queues_locked(tx: &Transaction<'_>, names: &[String]) -> DbResult<Vec<OpenQueue>> {
    let queues = open_queues(tx, names).await?;
    let mut limited: Vec<&str> =
        queues.iter().filter(|(_, _, room)| room.is_some()).map(|(_, name, _)| name.as_str()).collect();
    if limited.is_empty() {
        return Ok(queues);
    }
    limited.sort_unstable();
    let statement = tx
        .prepare_cached("SELECT name FROM work_queues WHERE name = ANY($1) ORDER BY name FOR UPDATE")
        .await?;
    tx.query(&statement, &[&limited]).await?;
    open_queues(tx, names).await
}

/// The claim's select: the queued columns, then what moving the run to
/// Pending needs (start and end times, history).
const CLAIM_EXTRA: &str = ", r.start_time, r.end_time, r.history";

/// A claim sent for commit, kept until its answer came: when the
/// connection is lost before then, the next try asks the database whether
/// it went through rather than claiming again (the runs would stay Pending
/// under the worker's live lease, never run).
#[derive(Debug, Default)]
pub(crate) struct ClaimAttempt {
    sent: Option<(Vec<QueuedRun>, PendingColumns)>,
}

/// The runs of `attempt` if its commit went through: each is leased to
/// `lease` with the Pending time the claim gave it.
async fn committed(
    client: &Object,
    attempt: &(Vec<QueuedRun>, PendingColumns),
    lease: i64,
) -> DbResult<bool> {
    let (_, moved) = attempt;
    let rows = client
        .query("SELECT id, state_time, lease_id FROM flow_runs WHERE id = ANY($1)", &[&moved.id])
        .await?;
    Ok(rows.len() == moved.id.len()
        && rows.iter().all(|row| {
            let id: Uuid = row.get(0);
            let at = moved.id.iter().position(|m| *m == id);
            at.is_some_and(|i| row.get::<_, Option<i64>>(1) == Some(moved.time[i]))
                && row.get::<_, Option<i64>>(2) == Some(lease)
        }))
}

pub(crate) async fn claim_flow_runs(
    mut client: Object,
    request: Claim,
    channel: String,
    attempt: std::sync::Arc<std::sync::Mutex<ClaimAttempt>>,
) -> DbResult<Vec<QueuedRun>> {
    if request.limit == 0 || request.flows.is_empty() {
        return Ok(Vec::new());
    }
    let earlier = attempt.lock().unwrap_or_else(|e| e.into_inner()).sent.take();
    if let Some(earlier) = earlier
        && committed(&client, &earlier, request.lease.0).await?
    {
        return Ok(earlier.0);
    }
    let tx = client.transaction().await?;
    let queues = open_queues_locked(&tx, &request.queues).await?;
    let sql = format!(
        "SELECT {QUEUED_COLUMNS}{CLAIM_EXTRA} {TAKEABLE} AND r.state_scheduled <= $2
         ORDER BY r.state_scheduled LIMIT $4 FOR UPDATE OF r SKIP LOCKED"
    );
    let statement = tx.prepare_cached(&sql).await?;
    let now = micros(request.now);
    let mut claimed = Vec::new();
    let mut moved = PendingColumns::default();
    let pending = StateMeta::new(StateType::Pending);
    for (_, queue, room) in &queues {
        let left = (request.limit - claimed.len()) as i64;
        let take = room.map_or(left, |room| room.min(left));
        if take <= 0 {
            continue;
        }
        for row in tx.query(&statement, &[queue, &now, &request.flows, &take, &request.labels]).await? {
            let run = queued_at(&row)?;
            // Moved to Pending by the rule every store shares, as
            // `apply_state` would, with the row already locked.
            let mut times = RunTimes {
                state_time: row.get(12),
                start_time: row.get(15),
                end_time: row.get(16),
                run_count: count(row.get(14)),
            };
            let previous = times.state_time;
            let time = times.enter(&pending, None);
            let mut history = row.get::<_, Option<Vec<u8>>>(17).unwrap_or_default();
            prefect_store::history::push(&mut history, previous, &pending, time);
            moved.id.push(run.id.0);
            moved.time.push(time);
            moved.run_count.push(i64::from(times.run_count));
            moved.start.push(times.start_time);
            moved.end.push(times.end_time);
            moved.history.push(history);
            claimed.push(run);
        }
        if claimed.len() >= request.limit {
            break;
        }
    }
    if claimed.is_empty() {
        return Ok(claimed);
    }
    let update = tx
        .prepare_cached(
            "UPDATE flow_runs AS r SET state_type = 2, state_name = NULL, state_message = NULL,
                 state_time = m.time, state_scheduled = NULL, run_count = m.run_count,
                 start_time = m.start_time, end_time = m.end_time, history = m.history, lease_id = $7
             FROM UNNEST($1::uuid[], $2::bigint[], $3::bigint[], $4::bigint[], $5::bigint[], $6::bytea[])
                 AS m(id, time, run_count, start_time, end_time, history)
             WHERE r.id = m.id",
        )
        .await?;
    let lease = request.lease.0;
    let params: [&(dyn tokio_postgres::types::ToSql + Sync); 7] =
        [&moved.id, &moved.time, &moved.run_count, &moved.start, &moved.end, &moved.history, &lease];
    // One round trip for both.
    futures::try_join!(
        async { tx.execute(&update, &params).await.map_err(Into::into) },
        notify(&tx, &channel, Change::Record),
    )?;
    attempt.lock().unwrap_or_else(|e| e.into_inner()).sent = Some((claimed.clone(), moved));
    tx.commit().await?;
    let sent = attempt.lock().unwrap_or_else(|e| e.into_inner()).sent.take();
    Ok(sent.map(|(claimed, _)| claimed).unwrap_or_default())
}

/// The new state columns of claimed runs, for one `UNNEST` update.
#[derive(Debug, Default)]
pub(crate) struct PendingColumns {
    id: Vec<Uuid>,
    time: Vec<i64>,
    run_count: Vec<i64>,
    start: Vec<Option<i64>>,
    end: Vec<Option<i64>>,
    history: Vec<Vec<u8>>,
}

pub(crate) async fn next_due(client: Object, request: Claim) -> DbResult<Option<DateTime<Utc>>> {
    if request.flows.is_empty() {
        return Ok(None);
    }
    let sql = format!(
        "SELECT r.state_scheduled {TAKEABLE} AND r.state_scheduled > $2 ORDER BY r.state_scheduled LIMIT $4"
    );
    let statement = client.prepare_cached(&sql).await?;
    let mut earliest: Option<i64> = None;
    let now = micros(request.now);
    for (_, queue, _) in open_queues(&client, &request.queues).await? {
        let next: Option<i64> = client
            .query_opt(&statement, &[&queue, &now, &request.flows, &1i64, &request.labels])
            .await?
            .map(|row| row.get(0));
        earliest = match (earliest, next) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
    }
    Ok(earliest.and_then(DateTime::from_timestamp_micros))
}

pub(crate) async fn set_flow_run_state(
    mut client: Object,
    run: FlowRunId,
    state: StateMeta,
    expected: Vec<StateType>,
    channel: String,
) -> DbResult<Option<StateMeta>> {
    let tx = client.transaction().await?;
    let before = set_flow_run_state_in(&tx, run, &state, &expected).await?;
    if before.is_some() {
        notify(&tx, &channel, Change::Queue).await?;
    }
    tx.commit().await?;
    Ok(before)
}

/// [`set_flow_run_state`] inside the caller's transaction; the run's row
/// is locked from the first read.
async fn set_flow_run_state_in(
    tx: &Transaction<'_>,
    run: FlowRunId,
    state: &StateMeta,
    expected: &[StateType],
) -> DbResult<Option<StateMeta>> {
    let row = tx
        .query_opt(
            "SELECT state_type, state_name, state_message, state_time, state_scheduled FROM flow_runs
             WHERE id = $1 FOR UPDATE",
            &[&run.0],
        )
        .await?
        .ok_or_else(|| Error::NotFound { what: "flow run", id: run.to_string() })?;
    let Some(current) = state_at(&row, 0)? else { return Ok(None) };
    if !expected.is_empty() && !expected.contains(&current.state_type) {
        return Ok(None);
    }
    apply_state(tx, RunId::Flow(run), state, None).await?;
    if state.state_type == StateType::Cancelling {
        // Kept even if the run's process records another state meanwhile.
        tx.execute("UPDATE flow_runs SET cancel_requested = TRUE WHERE id = $1", &[&run.0]).await?;
    }
    if state.state_type == StateType::Scheduled && current.state_type != StateType::Scheduled {
        tx.execute("UPDATE flow_runs SET lease_id = NULL WHERE id = $1", &[&run.0]).await?;
    }
    Ok(Some(current))
}

pub(crate) async fn resume_flow_run(
    mut client: Object,
    run: FlowRunId,
    input: Option<serde_json::Value>,
    channel: String,
) -> DbResult<Option<StateMeta>> {
    let tx = client.transaction().await?;
    let resumed = StateMeta::new(StateType::Running).with_message("resumed");
    let before = set_flow_run_state_in(&tx, run, &resumed, &[StateType::Paused]).await?;
    if before.is_some() {
        tx.execute(
            "UPDATE flow_runs SET resume_input = $2 WHERE id = $1",
            &[&run.0, &input.map(|v| v.to_string())],
        )
        .await?;
        notify(&tx, &channel, Change::Record).await?;
    }
    tx.commit().await?;
    Ok(before)
}

pub(crate) async fn take_resume_input(client: Object, run: FlowRunId) -> DbResult<Option<serde_json::Value>> {
    // One statement: the old value is read from the row it clears.
    let row = client
        .query_opt(
            "UPDATE flow_runs AS r SET resume_input = NULL FROM flow_runs AS old
             WHERE r.id = $1 AND old.id = r.id AND old.resume_input IS NOT NULL
             RETURNING old.resume_input",
            &[&run.0],
        )
        .await?;
    Ok(row.and_then(|row| serde_json::from_str(&row.get::<_, String>(0)).ok()))
}

pub(crate) async fn mark_late_runs(
    mut client: Object,
    due_before: DateTime<Utc>,
    channel: String,
) -> DbResult<Vec<FlowRunId>> {
    let tx = client.transaction().await?;
    let sql = format!(
        "SELECT r.id, r.state_scheduled FROM flow_runs AS r
         WHERE {QUEUED} AND r.state_scheduled < $1 AND r.state_name IS NULL
         FOR UPDATE SKIP LOCKED"
    );
    let late: Vec<(Uuid, Option<i64>)> =
        tx.query(&sql, &[&micros(due_before)]).await?.iter().map(|row| (row.get(0), row.get(1))).collect();
    for (id, scheduled) in &late {
        let scheduled = opt_time(*scheduled, "scheduled time")?;
        let state = StateMeta { scheduled_time: scheduled, ..StateMeta::new(StateType::Scheduled) }
            .named(prefect_model::state::names::LATE);
        apply_state(&tx, RunId::Flow(FlowRunId(*id)), &state, None).await?;
    }
    if !late.is_empty() {
        notify(&tx, &channel, Change::Record).await?;
    }
    tx.commit().await?;
    Ok(late.into_iter().map(|(id, _)| FlowRunId(id)).collect())
}

pub(crate) async fn cancelling_runs(client: Object, lease: LeaseId) -> DbResult<Vec<FlowRunId>> {
    let statement = client
        .prepare_cached(
            "SELECT id FROM flow_runs WHERE end_time IS NULL AND lease_id = $1 AND cancel_requested",
        )
        .await?;
    Ok(client.query(&statement, &[&lease.0]).await?.iter().map(|row| FlowRunId(row.get(0))).collect())
}

fn work_queue_at(row: &Row) -> DbResult<WorkQueue> {
    Ok(WorkQueue {
        name: row.get(0),
        priority: count(row.get(1)),
        concurrency_limit: row.get::<_, Option<i64>>(2).map(count),
        paused: row.get(3),
        description: row.get(4),
        created: time(row.get(5), "created")?,
    })
}

pub(crate) async fn update_work_queue(
    mut client: Object,
    name: String,
    update: WorkQueueUpdate,
    channel: String,
) -> DbResult<WorkQueue> {
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
    let tx = client.transaction().await?;
    tx.execute(
        "INSERT INTO work_queues (name, created) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
        &[&name, &micros(Utc::now())],
    )
    .await?;
    let limit = update.concurrency_limit.map(|limit| limit.map(i64::from));
    let row = tx
        .query_one(
            "UPDATE work_queues SET
                 priority = COALESCE($2, priority),
                 concurrency_limit = CASE WHEN $3 THEN $4 ELSE concurrency_limit END,
                 paused = COALESCE($5, paused),
                 description = COALESCE($6, description)
             WHERE name = $1
             RETURNING name, priority, concurrency_limit, paused, description, created",
            &[
                &name,
                &update.priority.map(i64::from),
                &limit.is_some(),
                &limit.flatten(),
                &update.paused,
                &update.description,
            ],
        )
        .await?;
    let queue = work_queue_at(&row)?;
    notify(&tx, &channel, Change::Queue).await?;
    tx.commit().await?;
    Ok(queue)
}

pub(crate) async fn list_work_queues(client: Object) -> DbResult<Vec<WorkQueue>> {
    let statement = client
        .prepare_cached(
            "SELECT name, priority, concurrency_limit, paused, description, created FROM work_queues
             UNION ALL
             SELECT work_queue, 1, NULL, FALSE, NULL, MIN(created) FROM deployments
                 WHERE work_queue NOT IN (SELECT name FROM work_queues) GROUP BY work_queue
             ORDER BY 2, 1",
        )
        .await?;
    client.query(&statement, &[]).await?.iter().map(work_queue_at).collect()
}

fn list_json(list: &[String]) -> String {
    serde_json::to_string(list).unwrap_or_default()
}

pub(crate) async fn worker_heartbeat(client: Object, beat: WorkerBeat) -> DbResult<()> {
    let statement = client
        .prepare_cached(
            "INSERT INTO workers (name, queues, flows, lease_id, status, started, heartbeat, labels)
             VALUES ($1, $2, $3, $4, $5, $6, $6, $7)
             ON CONFLICT (name) DO UPDATE SET queues = $2, flows = $3, status = $5, heartbeat = $6, labels = $7,
                 started = CASE WHEN workers.lease_id = $4 THEN workers.started ELSE $6 END, lease_id = $4",
        )
        .await?;
    client
        .execute(
            &statement,
            &[
                &beat.name,
                &list_json(&beat.queues),
                &list_json(&beat.flows),
                &beat.lease.0,
                &beat.status,
                &micros(beat.time),
                &list_json(&beat.labels),
            ],
        )
        .await?;
    Ok(())
}

pub(crate) async fn list_workers(client: Object, here: LeaseOwner) -> DbResult<Vec<WorkerInfo>> {
    let now = Utc::now();
    let statement = client
        .prepare_cached(
            "SELECT w.name, w.queues, w.flows, w.lease_id, w.status, w.heartbeat, w.started,
                    l.pid, l.host, l.boot_id, l.pid_start, l.expires, w.labels
             FROM workers w LEFT JOIN leases l ON l.id = w.lease_id
             ORDER BY w.heartbeat DESC",
        )
        .await?;
    let mut workers = Vec::new();
    for row in client.query(&statement, &[]).await? {
        let list = |index: usize| -> Vec<String> {
            serde_json::from_str(&row.get::<_, String>(index)).unwrap_or_default()
        };
        let beat = WorkerBeat {
            name: row.get(0),
            queues: list(1),
            flows: list(2),
            labels: tags(row.get(12))?,
            lease: LeaseId(row.get(3)),
            status: row.get(4),
            time: time(row.get(5), "heartbeat")?,
        };
        let owner = match row.get::<_, Option<i64>>(7) {
            Some(pid) => Some((
                LeaseOwner {
                    pid: u32::try_from(pid).unwrap_or(0),
                    host: row.get(8),
                    boot_id: row.get(9),
                    pid_start: row.get::<_, Option<i64>>(10).and_then(|s| u64::try_from(s).ok()),
                },
                time(row.get(11), "lease expiry")?,
            )),
            None => None,
        };
        let alive = owner.as_ref().is_some_and(|(owner, expires)| owner.is_alive(*expires, now, &here));
        workers.push(WorkerInfo {
            started: time(row.get(6), "started")?,
            pid: owner.as_ref().map(|(o, _)| o.pid),
            host: owner.map(|(o, _)| o.host),
            alive: alive && beat.status != "offline",
            beat,
        });
    }
    Ok(workers)
}

pub(crate) async fn latest_expected_start(
    client: Object,
    deployment: DeploymentId,
) -> DbResult<Option<DateTime<Utc>>> {
    let statement =
        client.prepare_cached("SELECT MAX(expected_start) FROM flow_runs WHERE deployment_id = $1").await?;
    let latest: Option<i64> = client.query_one(&statement, &[&deployment.0]).await?.get(0);
    Ok(latest.and_then(DateTime::from_timestamp_micros))
}
