//! Applying run events to the tables, with cached prepared statements.
//! Runs created by a batch are owned by the writer's lease.

use std::collections::HashMap;

use prefect_model::{
    DependencyEdge, Event, FlowRunRecord, LogRecord, ResultReference, StateChange, TaskRunRecord,
};
use prefect_model::{RunId, StateMeta};
use rusqlite::{CachedStatement, Connection, TransactionBehavior, params};
use uuid::Uuid;

use prefect_store::transition::RunTimes;

use super::codec::{dependency_code, level_code, micros, state_code, stored_name, tags_json};
use super::history;
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

/// Stores `events` in one write transaction unless the batch `batch` was
/// stored before; returns whether it stored them.
pub(crate) fn write_events_once(
    conn: &mut Conn,
    batch: Uuid,
    lease: Option<i64>,
    events: &[Event],
) -> QueryResult<bool> {
    let result = write_in_transaction_once(conn, Some(batch), lease, events);
    if result.is_err() {
        conn.flows.clear();
    }
    result
}

fn write_in_transaction(conn: &mut Conn, lease: Option<i64>, events: &[Event]) -> QueryResult<()> {
    write_in_transaction_once(conn, None, lease, events).map(drop)
}

fn write_in_transaction_once(
    conn: &mut Conn,
    batch: Option<Uuid>,
    lease: Option<i64>,
    events: &[Event],
) -> QueryResult<bool> {
    let tx = conn.db.transaction_with_behavior(TransactionBehavior::Immediate)?;
    if let Some(batch) = batch {
        let new = tx
            .prepare_cached("INSERT OR IGNORE INTO event_batches (id, stored) VALUES (?1, ?2)")?
            .execute(params![batch.as_bytes(), micros(chrono::Utc::now())])?;
        if new == 0 {
            // Stored before: the sender lost our answer. Nothing to do.
            return Ok(false);
        }
    }
    {
        let mut statements = Statements::new(&tx);
        let mut batch = NewRuns::default();
        for event in events {
            apply(&mut statements, &mut conn.flows, &mut batch, event)?;
        }
        batch.store(&mut statements, lease)?;
    }
    tx.commit()?;
    Ok(true)
}

const INSERT_FLOW_RUN: &str =
    "INSERT OR IGNORE INTO flow_runs (id, flow_id, name, flow_version, parameters, tags,
            parent_flow_run_id, parent_task_run_id, created, lease_id, start_time, end_time,
            run_count, state_type, state_name, state_message, state_time, state_scheduled, history)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19)";

const INSERT_TASK_RUN: &str =
    "INSERT OR IGNORE INTO task_runs (id, flow_run_id, name, task_name, parent_task_run_id,
            subflow_run_id, map_index, tags, created, lease_id, start_time, end_time,
            run_count, state_type, state_name, state_message, state_time, state_scheduled, history)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19)";

/// A task run with no parent task run, subflow, tags, state name, message
/// or scheduled time (most of them): six parameters fewer to bind.
const INSERT_PLAIN_TASK_RUN: &str =
    "INSERT OR IGNORE INTO task_runs (id, flow_run_id, name, task_name, map_index, created,
            lease_id, start_time, end_time, run_count, state_type, state_time, history)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)";

const INSERT_DEPENDENCY: &str =
    "INSERT INTO task_run_dependencies (downstream, upstream, upstream_kind, kind, argument)
         VALUES (?1, ?2, ?3, ?4, ?5)";

/// A run keeps the latest record it wrote or read.
const INSERT_RESULT: &str =
    "INSERT OR REPLACE INTO run_results (run_id, run_kind, flow_run_id, location, cache_key, from_cache, created)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)";

const INSERT_LOG: &str =
    "INSERT INTO logs (flow_run_id, task_run_id, timestamp, level, message, target, fields)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)";

/// The batch's statements, taken from the connection's cache once per
/// batch rather than once per row (a cache lookup and return per row cost
/// about a sixth of the writer's time).
struct Statements<'c> {
    db: &'c Connection,
    flow_run: Option<CachedStatement<'c>>,
    task_run: Option<CachedStatement<'c>>,
    plain_task_run: Option<CachedStatement<'c>>,
    dependency: Option<CachedStatement<'c>>,
    log: Option<CachedStatement<'c>>,
    result: Option<CachedStatement<'c>>,
}

impl<'c> Statements<'c> {
    fn new(db: &'c Connection) -> Self {
        Statements {
            db,
            flow_run: None,
            task_run: None,
            plain_task_run: None,
            dependency: None,
            log: None,
            result: None,
        }
    }

    fn get<'s>(
        db: &'c Connection,
        slot: &'s mut Option<CachedStatement<'c>>,
        sql: &str,
    ) -> QueryResult<&'s mut CachedStatement<'c>> {
        if slot.is_none() {
            *slot = Some(db.prepare_cached(sql)?);
        }
        Ok(slot.as_mut().expect("prepared above"))
    }

    fn flow_run(&mut self) -> QueryResult<&mut CachedStatement<'c>> {
        Self::get(self.db, &mut self.flow_run, INSERT_FLOW_RUN)
    }

    fn task_run(&mut self) -> QueryResult<&mut CachedStatement<'c>> {
        Self::get(self.db, &mut self.task_run, INSERT_TASK_RUN)
    }

    fn plain_task_run(&mut self) -> QueryResult<&mut CachedStatement<'c>> {
        Self::get(self.db, &mut self.plain_task_run, INSERT_PLAIN_TASK_RUN)
    }

    fn dependency(&mut self) -> QueryResult<&mut CachedStatement<'c>> {
        Self::get(self.db, &mut self.dependency, INSERT_DEPENDENCY)
    }

    fn log(&mut self) -> QueryResult<&mut CachedStatement<'c>> {
        Self::get(self.db, &mut self.log, INSERT_LOG)
    }

    fn result(&mut self) -> QueryResult<&mut CachedStatement<'c>> {
        Self::get(self.db, &mut self.result, INSERT_RESULT)
    }
}

fn apply<'e>(
    statements: &mut Statements<'_>,
    flows: &mut HashMap<String, i64>,
    batch: &mut NewRuns<'e>,
    event: &'e Event,
) -> QueryResult<()> {
    match event {
        Event::FlowRunCreated(run) => {
            let created = micros(run.created);
            let flow = flow_id(statements.db, flows, &run.flow_name, created)?;
            batch.create(RunId::Flow(run.id), NewRecord::Flow(run, flow));
            Ok(())
        }
        Event::TaskRunCreated(run) => {
            batch.create(RunId::Task(run.id), NewRecord::Task(run));
            Ok(())
        }
        Event::StateChanged(change) => {
            if batch.change(change) {
                Ok(())
            } else {
                apply_change(statements.db, change)
            }
        }
        Event::Dependency(edge) => insert_dependency(statements, edge),
        Event::Log(line) => insert_log(statements, line),
        Event::ResultStored(reference) => insert_result(statements, reference),
        _ => Ok(()),
    }
}

/// The record of a run created by the batch.
enum NewRecord<'e> {
    Flow(&'e FlowRunRecord, i64),
    Task(&'e TaskRunRecord),
}

/// A run created by the batch, with the states the batch moves it into
/// applied in memory: it is inserted once, with its latest state, instead
/// of being inserted and then updated once per state.
struct NewRun<'e> {
    record: NewRecord<'e>,
    /// Its state columns, moved by the one rule every store applies.
    times: RunTimes,
    /// Its first and last step in the batch's list ([`NO_STEP`] while it
    /// has none): its history, and the changes replayed on the stored row
    /// when the run turns out to exist already (its creation is then
    /// ignored). A list through the batch rather than a vector per run:
    /// two allocations per task run were a tenth of the writer's own time.
    first: u32,
    last: u32,
}

/// A state change applied to a run of the batch, with its stored time,
/// linked to the run's next one.
struct Step<'e> {
    change: &'e StateChange,
    time: i64,
    next: u32,
}

/// The end of a run's list of steps.
const NO_STEP: u32 = u32::MAX;

/// A hasher for run ids within one batch: the ids are not chosen by an
/// adversary and their last bytes are random, so a multiply-and-rotate
/// fold (as rustc's FxHash) does; SipHash cost 3% of the writer's time.
#[derive(Default)]
struct IdHasher(u64);

impl std::hash::Hasher for IdHasher {
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.0 = (self.0.rotate_left(5) ^ u64::from_le_bytes(word)).wrapping_mul(0x517c_c1b7_2722_0a95);
        }
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

type IdMap<V> = HashMap<RunId, V, std::hash::BuildHasherDefault<IdHasher>>;

/// The runs created by a batch, in order of creation.
#[derive(Default)]
struct NewRuns<'e> {
    index: IdMap<usize>,
    runs: Vec<NewRun<'e>>,
    steps: Vec<Step<'e>>,
}

impl<'e> NewRuns<'e> {
    /// A run created again in the same batch keeps its first record, as
    /// `INSERT OR IGNORE` would.
    fn create(&mut self, id: RunId, record: NewRecord<'e>) {
        if self.index.contains_key(&id) {
            return;
        }
        self.index.insert(id, self.runs.len());
        self.runs.push(NewRun { record, times: RunTimes::default(), first: NO_STEP, last: NO_STEP });
    }

    /// Applies `change` in memory when its run was created by the batch
    /// (by [`RunTimes::enter`], as `state::apply_state` does on a stored
    /// row); false otherwise.
    fn change(&mut self, change: &'e StateChange) -> bool {
        let Some(&i) = self.index.get(&change.run) else {
            return false;
        };
        let run = &mut self.runs[i];
        let time = run.times.enter(&change.state, Some(change.run_count));
        let step = u32::try_from(self.steps.len()).expect("fewer than 4 billion events in a batch");
        self.steps.push(Step { change, time, next: NO_STEP });
        match run.last {
            NO_STEP => run.first = step,
            last => self.steps[last as usize].next = step,
        }
        run.last = step;
        true
    }

    /// The steps of `run`, oldest first.
    fn steps_of<'b>(&'b self, run: &NewRun<'_>) -> impl Iterator<Item = &'b Step<'e>> + 'b {
        let mut at = run.first;
        std::iter::from_fn(move || {
            let step = self.steps.get(at as usize)?;
            at = step.next;
            Some(step)
        })
    }

    /// Inserts the runs with their current state and history. A run that
    /// already exists is left as is and gets the batch's changes applied to
    /// it instead.
    fn store(self, statements: &mut Statements<'_>, lease: Option<i64>) -> QueryResult<()> {
        // One buffer for every run's encoded history.
        let mut history = Vec::with_capacity(64);
        for run in &self.runs {
            history.clear();
            let mut previous = None;
            for step in self.steps_of(run) {
                history::push(&mut history, previous, &step.change.state, step.time);
                previous = Some(step.time);
            }
            let new = Row { times: &run.times, state: run.last_state(&self), history: &history };
            let inserted = match run.record {
                NewRecord::Flow(record, flow) => insert_flow_run(statements, flow, lease, record, &new)?,
                NewRecord::Task(record) => insert_task_run(statements, lease, record, &new)?,
            };
            if !inserted {
                for step in self.steps_of(run) {
                    apply_change(statements.db, step.change)?;
                }
            }
        }
        Ok(())
    }
}

impl NewRun<'_> {
    /// Its latest state, if the batch moved it into one.
    fn last_state<'e>(&self, batch: &NewRuns<'e>) -> Option<&'e StateMeta> {
        batch.steps.get(self.last as usize).map(|step| &step.change.state)
    }
}

/// What a new run's row holds besides its record.
struct Row<'r> {
    times: &'r RunTimes,
    state: Option<&'r StateMeta>,
    /// The encoded history; empty when it has none (stored as NULL).
    history: &'r [u8],
}

impl Row<'_> {
    fn history(&self) -> Option<&[u8]> {
        (!self.history.is_empty()).then_some(self.history)
    }
}

fn blob(id: Uuid) -> [u8; 16] {
    id.into_bytes()
}

fn opt_blob(id: Option<Uuid>) -> Option<[u8; 16]> {
    id.map(blob)
}

/// The id of flow `name`, created if new.
pub(crate) fn flow_id(
    db: &Connection,
    flows: &mut HashMap<String, i64>,
    name: &str,
    created: i64,
) -> QueryResult<i64> {
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

/// Inserts a run created by the batch, with its state so far; false when
/// it exists already.
fn insert_flow_run(
    statements: &mut Statements<'_>,
    flow: i64,
    lease: Option<i64>,
    run: &FlowRunRecord,
    new: &Row<'_>,
) -> QueryResult<bool> {
    let (state, times) = (new.state, new.times);
    let inserted = statements.flow_run()?.execute(params![
        blob(run.id.0),
        flow,
        run.name,
        run.flow_version.as_deref(),
        run.parameters.to_string(),
        tags_json(&run.tags),
        opt_blob(run.parent_flow_run_id.map(|id| id.0)),
        opt_blob(run.parent_task_run_id.map(|id| id.0)),
        micros(run.created),
        lease,
        times.start_time,
        times.end_time,
        times.run_count,
        state.map(|s| state_code(s.state_type)),
        state.and_then(stored_name),
        state.and_then(|s| s.message.as_deref()),
        times.state_time,
        state.and_then(|s| s.scheduled_time).map(micros),
        new.history(),
    ])?;
    Ok(inserted == 1)
}

/// Inserts a run created by the batch, with its state so far; false when
/// it exists already.
fn insert_task_run(
    statements: &mut Statements<'_>,
    lease: Option<i64>,
    run: &TaskRunRecord,
    new: &Row<'_>,
) -> QueryResult<bool> {
    let (state, times) = (new.state, new.times);
    let plain = run.parent_task_run_id.is_none()
        && run.subflow_run_id.is_none()
        && run.tags.is_empty()
        && state
            .is_none_or(|s| stored_name(s).is_none() && s.message.is_none() && s.scheduled_time.is_none());
    let inserted = if plain {
        // Most task runs: the columns left out are NULL.
        statements.plain_task_run()?.execute(params![
            blob(run.id.0),
            opt_blob(run.flow_run_id.map(|id| id.0)),
            run.name,
            &*run.task_name,
            run.map_index,
            micros(run.created),
            lease,
            times.start_time,
            times.end_time,
            times.run_count,
            state.map(|s| state_code(s.state_type)),
            times.state_time,
            new.history(),
        ])?
    } else {
        statements.task_run()?.execute(params![
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
            times.start_time,
            times.end_time,
            times.run_count,
            state.map(|s| state_code(s.state_type)),
            state.and_then(stored_name),
            state.and_then(|s| s.message.as_deref()),
            times.state_time,
            state.and_then(|s| s.scheduled_time).map(micros),
            new.history(),
        ])?
    };
    Ok(inserted == 1)
}

fn apply_change(db: &Connection, change: &StateChange) -> QueryResult<()> {
    apply_state(db, change.run, &change.state, Some(change.run_count)).map(drop)
}

fn insert_dependency(statements: &mut Statements<'_>, edge: &DependencyEdge) -> QueryResult<()> {
    let upstream_kind: i64 = match edge.upstream {
        RunId::Task(_) => 0,
        RunId::Flow(_) => 1,
    };
    let (kind, argument) = dependency_code(&edge.kind);
    statements.dependency()?.execute(params![
        blob(edge.downstream.0),
        blob(edge.upstream.uuid()),
        upstream_kind,
        kind,
        argument
    ])?;
    Ok(())
}

fn insert_log(statements: &mut Statements<'_>, line: &LogRecord) -> QueryResult<()> {
    let fields = if line.fields.is_empty() { None } else { serde_json::to_string(&line.fields).ok() };
    statements.log()?.execute(params![
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

fn insert_result(statements: &mut Statements<'_>, result: &ResultReference) -> QueryResult<()> {
    // As `task_run_dependencies.upstream_kind`: 0 a task run, 1 a flow run.
    let kind: i64 = match result.run {
        RunId::Task(_) => 0,
        RunId::Flow(_) => 1,
    };
    statements.result()?.execute(params![
        blob(result.run.uuid()),
        kind,
        opt_blob(result.flow_run_id.map(|id| id.0)),
        result.location,
        result.cache_key,
        result.from_cache,
        micros(result.timestamp),
    ])?;
    Ok(())
}
