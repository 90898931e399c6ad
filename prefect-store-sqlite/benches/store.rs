//! Benchmarks of the SQLite run database.
//!
//! `cargo bench -p prefect-store --bench store` prints:
//! - recording throughput through `SqliteRecorder` (events/s, µs per task
//!   run of 4 events: created, Pending, Running, Completed);
//! - the database size per 1,000 task runs;
//! - then, with divan, the latency of `list flow runs` and `inspect flow
//!   run` on a database of 1,000,000 task runs (1,000 flow runs of 1,000).
//!
//! `PREFECT_STORE_BENCH_TASK_RUNS=N` changes the size of that database
//! (rounded to whole flow runs of 1,000 task runs).

use std::sync::{Arc, OnceLock};
use std::time::Instant;

use chrono::{DateTime, TimeDelta, Utc};
use prefect_model::{Event, FlowRunRecord, Recorder, StateChange, TaskRunRecord};
use prefect_model::{FlowRunId, RunId, StateMeta, StateType, TaskRunId};
use prefect_store::prelude::*;
use prefect_store::{FlowRunFilter, RunScope, ShortId};
use prefect_store_sqlite::{SqliteRecorder, SqliteStore};

const TASKS_PER_FLOW_RUN: usize = 1_000;

fn state(run: RunId, state_type: StateType, at: DateTime<Utc>) -> Event {
    let state = StateMeta { timestamp: at, ..StateMeta::new(state_type) };
    Event::StateChanged(StateChange { run, state, run_count: 1 })
}

/// The events of one flow run with `tasks` task runs, starting at `start`.
fn flow_run_events(index: usize, tasks: usize, start: DateTime<Utc>) -> (FlowRunId, Vec<Event>) {
    let id = FlowRunId::new();
    let mut at = start;
    let mut tick = || {
        at += TimeDelta::microseconds(250);
        at
    };
    let mut events = vec![Event::FlowRunCreated(Arc::new(FlowRunRecord {
        id,
        name: format!("bench-run-{index}"),
        flow_name: format!("etl-{}", index % 10).into(),
        flow_version: None,
        parameters: serde_json::json!({ "day": index, "source": "s3://bucket/path" }),
        tags: Arc::from([]),
        parent_flow_run_id: None,
        parent_task_run_id: None,
        created: tick(),
    }))];
    events.push(state(id.into(), StateType::Pending, tick()));
    events.push(state(id.into(), StateType::Running, tick()));
    for task in 0..tasks {
        events.extend(task_run_events(id, task, &mut tick));
    }
    let last = if index.is_multiple_of(7) { StateType::Failed } else { StateType::Completed };
    events.push(state(id.into(), last, tick()));
    (id, events)
}

fn task_run_events(
    flow_run: FlowRunId,
    index: usize,
    tick: &mut impl FnMut() -> DateTime<Utc>,
) -> [Event; 4] {
    let id = TaskRunId::new();
    let record = TaskRunRecord {
        id,
        name: format!("fetch-{:03x}", index % 4096),
        task_name: "fetch".into(),
        flow_run_id: Some(flow_run),
        parent_task_run_id: None,
        tags: Arc::from([]),
        map_index: Some(index as u32),
        subflow_run_id: None,
        created: tick(),
    };
    let last = if index % 100 == 99 { StateType::Failed } else { StateType::Completed };
    [
        Event::TaskRunCreated(Arc::new(record)),
        state(id.into(), StateType::Pending, tick()),
        state(id.into(), StateType::Running, tick()),
        state(id.into(), last, tick()),
    ]
}

/// Records 100,000 task runs through a recorder and reports the rate.
fn recording_throughput() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("record.db");
    let flow_runs = 100;
    let batches: Vec<Vec<Event>> =
        (0..flow_runs).map(|i| flow_run_events(i, TASKS_PER_FLOW_RUN, Utc::now()).1).collect();
    let events: usize = batches.iter().map(Vec::len).sum();
    let task_runs = flow_runs * TASKS_PER_FLOW_RUN;
    let recorder = SqliteRecorder::open(&path).expect("open recorder");
    let start = Instant::now();
    let mut in_record = std::time::Duration::ZERO;
    for batch in batches {
        let before = Instant::now();
        for event in batch {
            recorder.record(event);
        }
        in_record += before.elapsed();
    }
    recorder.flush_blocking();
    let elapsed = start.elapsed();
    assert_eq!(recorder.error_count(), 0);
    println!(
        "recording: {events} events ({task_runs} task runs) in {:.2} s = {:.0} events/s, \
         {:.2} µs per task run of 4 events; record() itself {:.3} µs per event",
        elapsed.as_secs_f64(),
        events as f64 / elapsed.as_secs_f64(),
        elapsed.as_secs_f64() * 1e6 / task_runs as f64,
        in_record.as_secs_f64() * 1e6 / events as f64,
    );
    drop(recorder);
    database_size(&path, task_runs);
}

/// Prints the file size per 1,000 task runs, after a checkpoint.
fn database_size(path: &std::path::Path, task_runs: usize) {
    let conn = rusqlite::Connection::open(path).expect("open");
    conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(())).expect("checkpoint");
    drop(conn);
    let bytes = std::fs::metadata(path).expect("size").len();
    println!(
        "size: {:.1} MB for {task_runs} task runs = {} bytes per 1,000 task runs",
        bytes as f64 / 1e6,
        bytes * 1000 / task_runs as u64
    );
}

/// A database of many task runs for the query benchmarks.
struct Dataset {
    _dir: tempfile::TempDir,
    store: SqliteStore,
    middle: FlowRunId,
}

fn dataset() -> &'static Dataset {
    static DATASET: OnceLock<Dataset> = OnceLock::new();
    DATASET.get_or_init(build_dataset)
}

fn build_dataset() -> Dataset {
    let task_runs: usize =
        std::env::var("PREFECT_STORE_BENCH_TASK_RUNS").ok().and_then(|n| n.parse().ok()).unwrap_or(1_000_000);
    let flow_runs = (task_runs / TASKS_PER_FLOW_RUN).max(1);
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("large.db");
    let store = SqliteStore::open(&path).expect("open");
    let start = Instant::now();
    let origin = Utc::now() - TimeDelta::days(30);
    let mut middle = None;
    // One transaction per 50 flow runs (50,000 task runs, 200,000 events).
    for chunk in (0..flow_runs).collect::<Vec<_>>().chunks(50) {
        let mut events = Vec::new();
        for &i in chunk {
            let begin = origin + TimeDelta::seconds(i as i64 * 60);
            let (id, run) = flow_run_events(i, TASKS_PER_FLOW_RUN, begin);
            if i == flow_runs / 2 {
                middle = Some(id);
            }
            events.extend(run);
        }
        futures::executor::block_on(store.write_events(None, &events)).expect("bulk insert");
    }
    let bytes = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    println!(
        "dataset: {flow_runs} flow runs, {} task runs inserted in {:.1} s ({:.0} MB)",
        flow_runs * TASKS_PER_FLOW_RUN,
        start.elapsed().as_secs_f64(),
        bytes as f64 / 1e6
    );
    Dataset { _dir: dir, store, middle: middle.expect("a middle run") }
}

fn main() {
    recording_throughput();
    let data = dataset();
    let start = Instant::now();
    let listed = futures::executor::block_on(data.store.list_flow_runs(&FlowRunFilter::new())).expect("ls");
    let ls = start.elapsed();
    let start = Instant::now();
    let detail =
        futures::executor::block_on(data.store.inspect_flow_run(data.middle, 1000)).expect("inspect");
    println!(
        "first query: flow-run ls {:.2} ms ({} runs), inspect {:.2} ms ({} task runs)",
        ls.as_secs_f64() * 1e3,
        listed.len(),
        start.elapsed().as_secs_f64() * 1e3,
        detail.task_runs.len()
    );
    divan::main();
}

/// `flow-run ls`: the 100 newest flow runs.
#[divan::bench]
fn list_flow_runs() -> usize {
    let data = dataset();
    futures::executor::block_on(data.store.list_flow_runs(&FlowRunFilter::new())).expect("ls").len()
}

/// `flow-run ls --state failed`.
#[divan::bench]
fn list_failed_flow_runs() -> usize {
    let filter = FlowRunFilter::new().state(StateType::Failed);
    futures::executor::block_on(dataset().store.list_flow_runs(&filter)).expect("ls").len()
}

/// `flow-run ls --flow etl-3`.
#[divan::bench]
fn list_flow_runs_of_one_flow() -> usize {
    let filter = FlowRunFilter::new().flow("etl-3");
    futures::executor::block_on(dataset().store.list_flow_runs(&filter)).expect("ls").len()
}

/// `flow-run inspect`: one run, its states and its 1,000 task runs.
#[divan::bench]
fn inspect_flow_run() -> usize {
    let data = dataset();
    futures::executor::block_on(data.store.inspect_flow_run(data.middle, 1000))
        .expect("inspect")
        .task_runs
        .len()
}

/// Resolving a 28-digit id prefix (v7 ids made in the same millisecond by
/// one process share up to about 25 leading digits).
#[divan::bench]
fn resolve_prefix() -> RunId {
    let data = dataset();
    let prefix = data.middle.to_string()[..32].to_owned();
    futures::executor::block_on(data.store.resolve_run(&prefix, RunScope::Any)).expect("resolve")
}

/// Resolving a flow run's short id among flow runs (a scan of 1,000).
#[divan::bench]
fn resolve_short_id_of_flow_run() -> RunId {
    let data = dataset();
    let short = ShortId::of(data.middle).to_string();
    futures::executor::block_on(data.store.resolve_run(&short, RunScope::FlowRuns)).expect("resolve")
}

/// Resolving a short id among every run (a scan of 1,000,000 task runs).
#[divan::bench(sample_count = 10)]
fn resolve_short_id_of_any_run() -> RunId {
    let data = dataset();
    let short = ShortId::of(data.middle).to_string();
    futures::executor::block_on(data.store.resolve_run(&short, RunScope::Any)).expect("resolve")
}
