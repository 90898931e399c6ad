//! Storing run events: one transaction per batch. Runs a batch creates are
//! owned by the writer's lease; a state moves its run by the rule every
//! store shares ([`RunTimes::enter`]) and appends to its history in
//! `states`.

use std::collections::HashMap;

use deadpool_postgres::Transaction;
use prefect_model::{DependencyEdge, Event, FlowRunRecord, LogRecord, ResultReference, RunId};
use prefect_model::{StateMeta, StateType, TaskRunRecord};
use prefect_store::codes::{dependency_code, level_code, state_code, stored_name, tags_json};
use prefect_store::transition::RunTimes;
use uuid::Uuid;

use crate::changes::Change;
use crate::pool::DbResult;

/// Microseconds since the Unix epoch.
pub(crate) fn micros(time: chrono::DateTime<chrono::Utc>) -> i64 {
    time.timestamp_micros()
}

/// Stores `events` in one transaction, unless batch `batch` was stored
/// before; returns whether it stored them. `channel` is notified of
/// `change` (what the caller found the events to change) at commit.
///
/// A batch is a handful of statements, not one per event: the runs it
/// creates are inserted once each, already in the latest state the batch
/// moves them to (by the shared rule), with their histories, through
/// `UNNEST` of arrays; so are its log lines, edges and results. Only state
/// changes of runs stored by an earlier batch are applied one by one.
pub(crate) async fn write_events(
    client: &mut deadpool_postgres::Object,
    batch: Uuid,
    lease: Option<i64>,
    events: &[Event],
    (channel, change): (&str, Change),
) -> DbResult<bool> {
    let tx = client.transaction().await?;
    let mut plan = Batch::default();
    for event in events {
        plan.add(event);
    }
    let flows = flow_ids(&tx, &plan.flow_runs).await?;
    // Independent statements, pipelined on the connection: one round trip
    // for all of them rather than one each.
    let (new_batch, inserted_flows, inserted_tasks, (), (), (), ()) = futures::try_join!(
        // The batch's id, kept with its events: a batch sent again (its
        // answer was lost with the connection) is stored once.
        async {
            let statement = tx
                .prepare_cached(
                    "INSERT INTO event_batches (id, stored) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING",
                )
                .await?;
            Ok::<_, crate::pool::DbError>(
                tx.execute(&statement, &[&batch, &micros(chrono::Utc::now())]).await? == 1,
            )
        },
        insert_flow_runs(&tx, &plan, &flows, lease),
        insert_task_runs(&tx, &plan, lease),
        insert_dependencies(&tx, &plan.edges),
        insert_logs(&tx, &plan.logs),
        insert_results(&tx, &plan.results),
        // Pages following runs; workers waiting for room in a queue.
        crate::queue::notify(&tx, channel, change),
    )?;
    if !new_batch {
        // Stored before: what this transaction did is rolled back.
        return Ok(false);
    }
    // Runs stored before (or created again): their changes, in order.
    let earlier: Vec<&prefect_model::StateChange> = plan
        .changes
        .iter()
        .filter(|(run, _)| match run {
            RunId::Flow(id) => !(plan.flow_index.contains_key(id) && inserted_flows.contains(&id.0)),
            RunId::Task(id) => !(plan.task_index.contains_key(id) && inserted_tasks.contains(&id.0)),
        })
        .map(|(_, change)| *change)
        .collect();
    if !earlier.is_empty() {
        let (flows, tasks): (Vec<_>, Vec<_>) =
            earlier.iter().partition(|change| matches!(change.run, RunId::Flow(_)));
        futures::try_join!(apply_changes(&tx, "flow_runs", &flows), apply_changes(&tx, "task_runs", &tasks))?;
    }
    tx.commit().await?;
    Ok(true)
}

/// What a batch changes, for its notification: the run queue when a flow
/// run ends (a limited queue has room again), else only recorded runs.
pub(crate) fn change_of(events: &[Event]) -> Change {
    let ends_a_flow_run = events.iter().any(|event| {
        matches!(event, Event::StateChanged(change) if matches!(change.run, RunId::Flow(_)) && change.state.is_final())
    });
    if ends_a_flow_run { Change::Queue } else { Change::Record }
}

/// A run the batch creates, with the states the batch moves it into
/// applied in memory.
struct NewRun<'e, R> {
    record: &'e R,
    times: RunTimes,
    /// Its states in the batch, with their stored times.
    history: Vec<(&'e StateMeta, i64)>,
}

/// A batch's events, sorted by what they become.
#[derive(Default)]
struct Batch<'e> {
    flow_runs: Vec<NewRun<'e, FlowRunRecord>>,
    flow_index: HashMap<prefect_model::FlowRunId, usize>,
    task_runs: Vec<NewRun<'e, TaskRunRecord>>,
    task_index: HashMap<prefect_model::TaskRunId, usize>,
    /// Every state change in order (those of new runs are also applied to
    /// them in memory).
    changes: Vec<(RunId, &'e prefect_model::StateChange)>,
    edges: Vec<&'e DependencyEdge>,
    logs: Vec<&'e LogRecord>,
    results: Vec<&'e ResultReference>,
}

impl<'e> Batch<'e> {
    fn add(&mut self, event: &'e Event) {
        match event {
            // Created again in the same batch: the first record counts.
            Event::FlowRunCreated(run) if !self.flow_index.contains_key(&run.id) => {
                self.flow_index.insert(run.id, self.flow_runs.len());
                self.flow_runs.push(NewRun { record: run, times: RunTimes::default(), history: Vec::new() });
            }
            Event::TaskRunCreated(run) if !self.task_index.contains_key(&run.id) => {
                self.task_index.insert(run.id, self.task_runs.len());
                self.task_runs.push(NewRun { record: run, times: RunTimes::default(), history: Vec::new() });
            }
            Event::StateChanged(change) => {
                self.changes.push((change.run, change));
                let (times, history) = match change.run {
                    RunId::Flow(id) => match self.flow_index.get(&id) {
                        Some(&i) => {
                            let run = &mut self.flow_runs[i];
                            (&mut run.times, &mut run.history)
                        }
                        None => return,
                    },
                    RunId::Task(id) => match self.task_index.get(&id) {
                        Some(&i) => {
                            let run = &mut self.task_runs[i];
                            (&mut run.times, &mut run.history)
                        }
                        None => return,
                    },
                };
                // As `apply_state`: an outside Cancelling and the engine's own are one.
                let repeated_cancel = change.state.state_type == StateType::Cancelling
                    && history.last().is_some_and(|(last, _)| last.state_type == StateType::Cancelling);
                if !repeated_cancel {
                    let time = times.enter(&change.state, Some(change.run_count));
                    history.push((&change.state, time));
                }
            }
            Event::Dependency(edge) => self.edges.push(edge),
            Event::Log(line) => self.logs.push(line),
            Event::ResultStored(result) => self.results.push(result),
            _ => {}
        }
    }
}

/// The state columns of a batch's new runs, one array per column, as the
/// flow run and task run inserts bind them: start, end, run count, the
/// current state (type, name, message, time, scheduled) and the history.
#[derive(Default)]
struct StateColumns {
    start: Vec<Option<i64>>,
    end: Vec<Option<i64>>,
    run_count: Vec<i64>,
    state_type: Vec<Option<i64>>,
    name: Vec<Option<String>>,
    message: Vec<Option<String>>,
    time: Vec<Option<i64>>,
    scheduled: Vec<Option<i64>>,
    history: Vec<Option<Vec<u8>>>,
}

impl StateColumns {
    fn of<R>(runs: &[NewRun<'_, R>]) -> StateColumns {
        let mut columns = StateColumns::default();
        for run in runs {
            columns.start.push(run.times.start_time);
            columns.end.push(run.times.end_time);
            columns.run_count.push(i64::from(run.times.run_count));
            let last = run.history.last();
            columns.state_type.push(last.map(|(state, _)| state_code(state.state_type)));
            columns.name.push(last.and_then(|(state, _)| stored_name(state)).map(str::to_owned));
            columns.message.push(last.and_then(|(state, _)| state.message.clone()));
            columns.time.push(last.map(|(_, time)| *time));
            columns.scheduled.push(last.and_then(|(state, _)| state.scheduled_time.map(micros)));
            // None when it has no state yet.
            columns.history.push(
                (!run.history.is_empty())
                    .then(|| prefect_store::history::encode(run.history.iter().map(|(s, t)| (*s, *t)))),
            );
        }
        columns
    }
}

/// The ids of the flows the batch's runs belong to, created if new.
async fn flow_ids<'e>(
    tx: &Transaction<'_>,
    runs: &[NewRun<'e, FlowRunRecord>],
) -> DbResult<HashMap<&'e str, i64>> {
    let mut names: Vec<&str> = Vec::new();
    let mut created: Vec<i64> = Vec::new();
    for run in runs {
        if !names.contains(&&*run.record.flow_name) {
            names.push(&run.record.flow_name);
            created.push(micros(run.record.created));
        }
    }
    let mut ids = HashMap::new();
    for (name, id) in ensure_flows(tx, &names, &created).await? {
        if let Some(known) = runs.iter().find(|r| *r.record.flow_name == name) {
            ids.insert(&*known.record.flow_name, id);
        }
    }
    Ok(ids)
}

/// The ids of the flows `names`, each inserted (created at `created`) if
/// missing. A flow that exists is read, not updated: an upsert would lock
/// its row until commit, and every worker's batches name the same flows.
pub(crate) async fn ensure_flows(
    tx: &Transaction<'_>,
    names: &[&str],
    created: &[i64],
) -> DbResult<Vec<(String, i64)>> {
    if names.is_empty() {
        return Ok(Vec::new());
    }
    let statement = tx
        .prepare_cached(
            "WITH wanted(name, created) AS (SELECT * FROM UNNEST($1::text[], $2::bigint[])),
             added AS (
                 INSERT INTO flows (name, created)
                 SELECT name, created FROM wanted WHERE NOT EXISTS (SELECT 1 FROM flows f WHERE f.name = wanted.name)
                 ON CONFLICT (name) DO NOTHING RETURNING name, id)
             SELECT name, id FROM added
             UNION ALL SELECT f.name, f.id FROM flows f JOIN wanted w ON w.name = f.name",
        )
        .await?;
    // A flow another transaction adds at the same moment is neither
    // inserted (conflict) nor seen (this statement's snapshot): the next
    // statement sees it.
    let mut found: Vec<(String, i64)> = Vec::with_capacity(names.len());
    for _ in 0..3 {
        found =
            tx.query(&statement, &[&names, &created]).await?.iter().map(|r| (r.get(0), r.get(1))).collect();
        if found.len() >= names.len() {
            break;
        }
    }
    Ok(found)
}

/// Inserts the batch's new flow runs; returns the ids that were new.
async fn insert_flow_runs(
    tx: &Transaction<'_>,
    plan: &Batch<'_>,
    flows: &HashMap<&str, i64>,
    lease: Option<i64>,
) -> DbResult<std::collections::HashSet<Uuid>> {
    if plan.flow_runs.is_empty() {
        return Ok(Default::default());
    }
    let runs = &plan.flow_runs;
    let ids: Vec<Uuid> = runs.iter().map(|r| r.record.id.0).collect();
    let flow: Vec<i64> = runs.iter().map(|r| flows.get(&*r.record.flow_name).copied().unwrap_or(0)).collect();
    let names: Vec<&str> = runs.iter().map(|r| r.record.name.as_str()).collect();
    let versions: Vec<Option<&str>> = runs.iter().map(|r| r.record.flow_version.as_deref()).collect();
    let parameters: Vec<String> = runs.iter().map(|r| r.record.parameters.to_string()).collect();
    let tags: Vec<Option<String>> = runs.iter().map(|r| tags_json(&r.record.tags)).collect();
    let parent_flow: Vec<Option<Uuid>> =
        runs.iter().map(|r| r.record.parent_flow_run_id.map(|id| id.0)).collect();
    let parent_task: Vec<Option<Uuid>> =
        runs.iter().map(|r| r.record.parent_task_run_id.map(|id| id.0)).collect();
    let created: Vec<i64> = runs.iter().map(|r| micros(r.record.created)).collect();
    let leases: Vec<Option<i64>> = vec![lease; runs.len()];
    let state = StateColumns::of(runs);
    let statement = tx
        .prepare_cached(
            "INSERT INTO flow_runs (id, flow_id, name, flow_version, parameters, tags, parent_flow_run_id,
                 parent_task_run_id, created, lease_id, start_time, end_time, run_count, state_type,
                 state_name, state_message, state_time, state_scheduled, history)
             SELECT * FROM UNNEST($1::uuid[], $2::bigint[], $3::text[], $4::text[], $5::text[], $6::text[],
                 $7::uuid[], $8::uuid[], $9::bigint[], $10::bigint[], $11::bigint[], $12::bigint[],
                 $13::bigint[], $14::bigint[], $15::text[], $16::text[], $17::bigint[], $18::bigint[],
                 $19::bytea[])
             ON CONFLICT (id) DO NOTHING RETURNING id",
        )
        .await?;
    let rows = tx
        .query(
            &statement,
            &[
                &ids,
                &flow,
                &names,
                &versions,
                &parameters,
                &tags,
                &parent_flow,
                &parent_task,
                &created,
                &leases,
                &state.start,
                &state.end,
                &state.run_count,
                &state.state_type,
                &state.name,
                &state.message,
                &state.time,
                &state.scheduled,
                &state.history,
            ],
        )
        .await?;
    Ok(rows.iter().map(|row| row.get(0)).collect())
}

/// Inserts the batch's new task runs; returns the ids that were new.
async fn insert_task_runs(
    tx: &Transaction<'_>,
    plan: &Batch<'_>,
    lease: Option<i64>,
) -> DbResult<std::collections::HashSet<Uuid>> {
    if plan.task_runs.is_empty() {
        return Ok(Default::default());
    }
    let runs = &plan.task_runs;
    let ids: Vec<Uuid> = runs.iter().map(|r| r.record.id.0).collect();
    let flow_runs: Vec<Option<Uuid>> = runs.iter().map(|r| r.record.flow_run_id.map(|id| id.0)).collect();
    let names: Vec<&str> = runs.iter().map(|r| r.record.name.as_str()).collect();
    let tasks: Vec<&str> = runs.iter().map(|r| &*r.record.task_name).collect();
    let parents: Vec<Option<Uuid>> =
        runs.iter().map(|r| r.record.parent_task_run_id.map(|id| id.0)).collect();
    let subflows: Vec<Option<Uuid>> = runs.iter().map(|r| r.record.subflow_run_id.map(|id| id.0)).collect();
    let tags: Vec<Option<String>> = runs.iter().map(|r| tags_json(&r.record.tags)).collect();
    let created: Vec<i64> = runs.iter().map(|r| micros(r.record.created)).collect();
    let leases: Vec<Option<i64>> = vec![lease; runs.len()];
    let state = StateColumns::of(runs);
    let statement = tx
        .prepare_cached(
            "INSERT INTO task_runs (id, flow_run_id, name, task_name, parent_task_run_id, subflow_run_id,
                 map_index, tags, created, lease_id, start_time, end_time, run_count, state_type,
                 state_name, state_message, state_time, state_scheduled, history)
             SELECT * FROM UNNEST($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::uuid[], $6::uuid[],
                 $7::bigint[], $8::text[], $9::bigint[], $10::bigint[], $11::bigint[], $12::bigint[],
                 $13::bigint[], $14::bigint[], $15::text[], $16::text[], $17::bigint[], $18::bigint[],
                 $19::bytea[])
             ON CONFLICT (id) DO NOTHING RETURNING id",
        )
        .await?;
    let rows = tx
        .query(
            &statement,
            &[
                &ids,
                &flow_runs,
                &names,
                &tasks,
                &parents,
                &subflows,
                &runs.iter().map(|r| r.record.map_index.map(i64::from)).collect::<Vec<_>>(),
                &tags,
                &created,
                &leases,
                &state.start,
                &state.end,
                &state.run_count,
                &state.state_type,
                &state.name,
                &state.message,
                &state.time,
                &state.scheduled,
                &state.history,
            ],
        )
        .await?;
    Ok(rows.iter().map(|row| row.get(0)).collect())
}

/// The table of a run's kind.
pub(crate) fn table(run: RunId) -> &'static str {
    match run {
        RunId::Flow(_) => "flow_runs",
        RunId::Task(_) => "task_runs",
    }
}

/// A stored run's state columns, as changes move it.
struct Stored {
    times: RunTimes,
    state_type: Option<i64>,
    name: Option<String>,
    message: Option<String>,
    scheduled: Option<i64>,
    history: Vec<u8>,
}

/// Applies `changes` (in order; all to runs of `table`) to runs stored by
/// earlier batches, as [`apply_state`] does one by one, in two statements:
/// the rows are read locked (in id order, so concurrent writers never
/// deadlock), moved in memory by [`RunTimes::enter`], and written back in
/// one `UNNEST` update. Changes of unknown runs are ignored.
async fn apply_changes(
    tx: &Transaction<'_>,
    table: &str,
    changes: &[&prefect_model::StateChange],
) -> DbResult<()> {
    if changes.is_empty() {
        return Ok(());
    }
    let mut ids: Vec<Uuid> = changes.iter().map(|change| change.run.uuid()).collect();
    ids.sort_unstable();
    ids.dedup();
    let read = tx
        .prepare_cached(&format!(
            "SELECT id, state_time, start_time, end_time, run_count, state_type, state_name, state_message,
                 state_scheduled, history
             FROM {table} WHERE id = ANY($1) ORDER BY id FOR UPDATE"
        ))
        .await?;
    let mut runs: HashMap<Uuid, Stored> = HashMap::with_capacity(ids.len());
    for row in tx.query(&read, &[&ids]).await? {
        let stored = Stored {
            times: RunTimes {
                state_time: row.get(1),
                start_time: row.get(2),
                end_time: row.get(3),
                run_count: u32::try_from(row.get::<_, i64>(4).max(0)).unwrap_or(u32::MAX),
            },
            state_type: row.get(5),
            name: row.get(6),
            message: row.get(7),
            scheduled: row.get(8),
            history: row.get::<_, Option<Vec<u8>>>(9).unwrap_or_default(),
        };
        runs.insert(row.get(0), stored);
    }
    let cancelling = state_code(StateType::Cancelling);
    for change in changes {
        let Some(run) = runs.get_mut(&change.run.uuid()) else { continue };
        let state = &change.state;
        // A cancellation asked for from outside and the engine's own
        // Cancelling when it acts on it are one state.
        if run.state_type == Some(cancelling) && state.state_type == StateType::Cancelling {
            continue;
        }
        let previous = run.times.state_time;
        let time = run.times.enter(state, Some(change.run_count));
        prefect_store::history::push(&mut run.history, previous, state, time);
        run.state_type = Some(state_code(state.state_type));
        run.name = stored_name(state).map(str::to_owned);
        run.message = state.message.clone();
        run.scheduled = state.scheduled_time.map(micros);
    }
    let mut moved = Vec::with_capacity(runs.len());
    let mut columns = StateColumns::default();
    for (id, run) in runs {
        moved.push(id);
        columns.state_type.push(run.state_type);
        columns.name.push(run.name);
        columns.message.push(run.message);
        columns.time.push(run.times.state_time);
        columns.scheduled.push(run.scheduled);
        columns.run_count.push(i64::from(run.times.run_count));
        columns.start.push(run.times.start_time);
        columns.end.push(run.times.end_time);
        columns.history.push(Some(run.history));
    }
    let update = tx
        .prepare_cached(&format!(
            "UPDATE {table} AS r SET state_type = m.state_type, state_name = m.state_name,
                 state_message = m.state_message, state_time = m.state_time, state_scheduled = m.state_scheduled,
                 run_count = m.run_count, start_time = m.start_time, end_time = m.end_time, history = m.history
             FROM UNNEST($1::uuid[], $2::bigint[], $3::text[], $4::text[], $5::bigint[], $6::bigint[],
                     $7::bigint[], $8::bigint[], $9::bigint[], $10::bytea[])
                 AS m(id, state_type, state_name, state_message, state_time, state_scheduled, run_count,
                      start_time, end_time, history)
             WHERE r.id = m.id"
        ))
        .await?;
    tx.execute(
        &update,
        &[
            &moved,
            &columns.state_type,
            &columns.name,
            &columns.message,
            &columns.time,
            &columns.scheduled,
            &columns.run_count,
            &columns.start,
            &columns.end,
            &columns.history,
        ],
    )
    .await?;
    Ok(())
}

/// Moves a run into a state by [`RunTimes::enter`]: updates its row and
/// appends the state to its history. False (nothing stored) for an unknown
/// run.
pub(crate) async fn apply_state(
    tx: &Transaction<'_>,
    run: RunId,
    state: &StateMeta,
    run_count: Option<u32>,
) -> DbResult<bool> {
    let table = table(run);
    let read = tx
        .prepare_cached(&format!(
            "SELECT state_time, start_time, end_time, run_count, state_type, history FROM {table} WHERE id = $1 FOR UPDATE"
        ))
        .await?;
    let id = run.uuid();
    let Some(row) = tx.query_opt(&read, &[&id]).await? else { return Ok(false) };
    let mut times = RunTimes {
        state_time: row.get(0),
        start_time: row.get(1),
        end_time: row.get(2),
        run_count: u32::try_from(row.get::<_, i64>(3).max(0)).unwrap_or(u32::MAX),
    };
    let current: Option<i64> = row.get(4);
    let mut history: Vec<u8> = row.get::<_, Option<Vec<u8>>>(5).unwrap_or_default();
    // A cancellation asked for from outside and the engine's own
    // Cancelling when it acts on it are one state.
    let cancelling = state_code(StateType::Cancelling);
    if current == Some(cancelling) && state.state_type == StateType::Cancelling {
        return Ok(true);
    }
    let previous = times.state_time;
    let time = times.enter(state, run_count);
    prefect_store::history::push(&mut history, previous, state, time);
    let code = state_code(state.state_type);
    let name = stored_name(state);
    let scheduled = state.scheduled_time.map(micros);
    let update = tx
        .prepare_cached(&format!(
            "UPDATE {table} SET state_type = $1, state_name = $2, state_message = $3, state_time = $4,
                 state_scheduled = $5, run_count = $6, start_time = $7, end_time = $8, history = $10 WHERE id = $9"
        ))
        .await?;
    tx.execute(
        &update,
        &[
            &code,
            &name,
            &state.message,
            &time,
            &scheduled,
            &i64::from(times.run_count),
            &times.start_time,
            &times.end_time,
            &id,
            &history,
        ],
    )
    .await?;
    Ok(true)
}

async fn insert_dependencies(tx: &Transaction<'_>, edges: &[&DependencyEdge]) -> DbResult<()> {
    if edges.is_empty() {
        return Ok(());
    }
    let downstream: Vec<Uuid> = edges.iter().map(|e| e.downstream.0).collect();
    let upstream: Vec<Uuid> = edges.iter().map(|e| e.upstream.uuid()).collect();
    let upstream_kind: Vec<i64> = edges
        .iter()
        .map(|e| match e.upstream {
            RunId::Task(_) => 0,
            RunId::Flow(_) => 1,
        })
        .collect();
    let codes: Vec<(i64, Option<&str>)> = edges.iter().map(|e| dependency_code(&e.kind)).collect();
    let kinds: Vec<i64> = codes.iter().map(|c| c.0).collect();
    let arguments: Vec<Option<&str>> = codes.iter().map(|c| c.1).collect();
    let statement = tx
        .prepare_cached(
            "INSERT INTO task_run_dependencies (downstream, upstream, upstream_kind, kind, argument)
             SELECT d, u, uk, k, a FROM UNNEST($1::uuid[], $2::uuid[], $3::bigint[], $4::bigint[], $5::text[])
                 WITH ORDINALITY AS x(d, u, uk, k, a, o) ORDER BY o",
        )
        .await?;
    tx.execute(&statement, &[&downstream, &upstream, &upstream_kind, &kinds, &arguments]).await?;
    Ok(())
}

async fn insert_logs(tx: &Transaction<'_>, lines: &[&LogRecord]) -> DbResult<()> {
    if lines.is_empty() {
        return Ok(());
    }
    let flow_runs: Vec<Option<Uuid>> = lines.iter().map(|l| l.flow_run_id.map(|id| id.0)).collect();
    let task_runs: Vec<Option<Uuid>> = lines.iter().map(|l| l.task_run_id.map(|id| id.0)).collect();
    let times: Vec<i64> = lines.iter().map(|l| micros(l.timestamp)).collect();
    let levels: Vec<i64> = lines.iter().map(|l| level_code(l.level)).collect();
    let messages: Vec<&str> = lines.iter().map(|l| l.message.as_str()).collect();
    let targets: Vec<&str> = lines.iter().map(|l| l.target.as_str()).collect();
    let fields: Vec<Option<String>> = lines
        .iter()
        .map(|l| if l.fields.is_empty() { None } else { serde_json::to_string(&l.fields).ok() })
        .collect();
    let statement = tx
        .prepare_cached(
            "INSERT INTO logs (flow_run_id, task_run_id, timestamp, level, message, target, fields)
             SELECT f, t, ti, l, m, ta, fi FROM UNNEST($1::uuid[], $2::uuid[], $3::bigint[], $4::bigint[],
                 $5::text[], $6::text[], $7::text[]) WITH ORDINALITY AS x(f, t, ti, l, m, ta, fi, o) ORDER BY o",
        )
        .await?;
    tx.execute(&statement, &[&flow_runs, &task_runs, &times, &levels, &messages, &targets, &fields]).await?;
    Ok(())
}

async fn insert_results(tx: &Transaction<'_>, results: &[&ResultReference]) -> DbResult<()> {
    // One row per run, the latest: a command may not change a row twice.
    let mut latest: Vec<&ResultReference> = Vec::new();
    for result in results.iter().rev() {
        if !latest.iter().any(|kept| kept.run == result.run) {
            latest.push(result);
        }
    }
    if latest.is_empty() {
        return Ok(());
    }
    let runs: Vec<Uuid> = latest.iter().map(|r| r.run.uuid()).collect();
    let kinds: Vec<i64> = latest
        .iter()
        .map(|r| match r.run {
            RunId::Task(_) => 0,
            RunId::Flow(_) => 1,
        })
        .collect();
    let flow_runs: Vec<Option<Uuid>> = latest.iter().map(|r| r.flow_run_id.map(|id| id.0)).collect();
    let locations: Vec<&str> = latest.iter().map(|r| r.location.as_str()).collect();
    let keys: Vec<Option<&str>> = latest.iter().map(|r| r.cache_key.as_deref()).collect();
    let cached: Vec<bool> = latest.iter().map(|r| r.from_cache).collect();
    let created: Vec<i64> = latest.iter().map(|r| micros(r.timestamp)).collect();
    let statement = tx
        .prepare_cached(
            "INSERT INTO run_results (run_id, run_kind, flow_run_id, location, cache_key, from_cache, created)
             SELECT * FROM UNNEST($1::uuid[], $2::bigint[], $3::uuid[], $4::text[], $5::text[], $6::boolean[],
                 $7::bigint[])
             ON CONFLICT (run_id) DO UPDATE SET run_kind = EXCLUDED.run_kind, flow_run_id = EXCLUDED.flow_run_id,
                 location = EXCLUDED.location, cache_key = EXCLUDED.cache_key,
                 from_cache = EXCLUDED.from_cache, created = EXCLUDED.created",
        )
        .await?;
    tx.execute(&statement, &[&runs, &kinds, &flow_runs, &locations, &keys, &cached, &created]).await?;
    Ok(())
}
