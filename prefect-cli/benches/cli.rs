//! Latency of the `prefect` binary on a large run database.
//!
//! `cargo bench -p prefect-cli --bench cli` builds a database of 1,000,000
//! task runs (1,000 flow runs of 1,000 task runs), then times whole
//! invocations of the release binary, as a user types them (runs named by
//! short id or name, as `flow-run ls` shows them): process start,
//! opening the database, the query and printing. Set
//! `PREFECT_CLI_BENCH_TASK_RUNS=N` for another size (rounded to whole flow
//! runs).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, OnceLock};
use std::time::Instant;

use chrono::{DateTime, TimeDelta, Utc};
use prefect_model::{Event, FlowRunRecord, StateChange, TaskRunRecord};
use prefect_model::{FlowRunId, RunId, StateMeta, StateType, TaskRunId};
use prefect_store::ShortId;
use prefect_store::prelude::*;
use prefect_store_sqlite::SqliteStore;

const TASKS_PER_FLOW_RUN: usize = 1_000;

/// The database the benchmarks query, the run they inspect and one of its
/// task runs.
struct Dataset {
    _dir: tempfile::TempDir,
    db: PathBuf,
    middle: FlowRunId,
    middle_name: String,
    middle_task: TaskRunId,
}

impl Dataset {
    /// The middle flow run's short id, as `flow-run ls` prints it.
    fn short(&self) -> String {
        ShortId::of(self.middle).to_string()
    }
}

fn dataset() -> &'static Dataset {
    static DATASET: OnceLock<Dataset> = OnceLock::new();
    DATASET.get_or_init(build_dataset)
}

fn state(run: RunId, state_type: StateType, at: DateTime<Utc>) -> Event {
    let state = StateMeta { timestamp: at, ..StateMeta::new(state_type) };
    Event::StateChanged(StateChange { run, state, run_count: 1 })
}

/// The events of one flow run of `TASKS_PER_FLOW_RUN` task runs; its id
/// and its first task run's.
fn flow_run_events(index: usize, start: DateTime<Utc>, events: &mut Vec<Event>) -> (FlowRunId, TaskRunId) {
    let id = FlowRunId::new();
    let mut at = start;
    let mut tick = || {
        at += TimeDelta::microseconds(250);
        at
    };
    events.push(Event::FlowRunCreated(Arc::new(FlowRunRecord {
        id,
        name: format!("bench-run-{index}"),
        flow_name: format!("etl-{}", index % 10).into(),
        flow_version: None,
        parameters: serde_json::json!({ "day": index }),
        tags: Arc::from([]),
        parent_flow_run_id: None,
        parent_task_run_id: None,
        created: tick(),
    })));
    events.push(state(id.into(), StateType::Running, tick()));
    let mut first_task = None;
    for task in 0..TASKS_PER_FLOW_RUN {
        let task_id = TaskRunId::new();
        first_task.get_or_insert(task_id);
        events.push(Event::TaskRunCreated(Arc::new(TaskRunRecord {
            id: task_id,
            name: format!("fetch-{task}"),
            task_name: "fetch".into(),
            flow_run_id: Some(id),
            parent_task_run_id: None,
            tags: Arc::from([]),
            map_index: Some(task as u32),
            subflow_run_id: None,
            created: tick(),
        })));
        events.push(state(task_id.into(), StateType::Running, tick()));
        let last = if task % 100 == 99 { StateType::Failed } else { StateType::Completed };
        events.push(state(task_id.into(), last, tick()));
    }
    let last = if index.is_multiple_of(7) { StateType::Failed } else { StateType::Completed };
    events.push(state(id.into(), last, tick()));
    (id, first_task.expect("a task run"))
}

fn build_dataset() -> Dataset {
    let task_runs: usize =
        std::env::var("PREFECT_CLI_BENCH_TASK_RUNS").ok().and_then(|n| n.parse().ok()).unwrap_or(1_000_000);
    let flow_runs = (task_runs / TASKS_PER_FLOW_RUN).max(1);
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("prefect.db");
    let store = SqliteStore::open(&db).expect("open");
    let start = Instant::now();
    let origin = Utc::now() - TimeDelta::days(7);
    let mut middle = None;
    for chunk in (0..flow_runs).collect::<Vec<_>>().chunks(50) {
        let mut events = Vec::new();
        for &i in chunk {
            let ids = flow_run_events(i, origin + TimeDelta::seconds(i as i64 * 60), &mut events);
            if i == flow_runs / 2 {
                middle = Some(ids);
            }
        }
        futures::executor::block_on(store.write_events(None, &events)).expect("bulk insert");
    }
    println!(
        "dataset: {flow_runs} flow runs, {} task runs in {:.1} s",
        flow_runs * TASKS_PER_FLOW_RUN,
        start.elapsed().as_secs_f64()
    );
    let (middle, middle_task) = middle.expect("a middle run");
    let middle_name = format!("bench-run-{}", flow_runs / 2);
    Dataset { _dir: dir, db, middle, middle_name, middle_task }
}

/// Runs the binary once against `db`; panics if it fails. The path goes
/// through the settings (`PREFECT_HOME`), as in normal use.
fn prefect(db: &Path, args: &[&str]) {
    let home = db.parent().expect("the database's directory");
    let status = Command::new(env!("CARGO_BIN_EXE_prefect"))
        .args(args)
        .env("PREFECT_HOME", home)
        .env_remove("PREFECT_API_DATABASE_URL")
        .env_remove("PREFECT_PROFILE")
        .current_dir(home)
        .stdout(Stdio::null())
        .status()
        .expect("run prefect");
    assert!(status.success(), "prefect {args:?} failed");
}

fn main() {
    let data = dataset();
    let id = data.middle.to_string();
    let short = data.short();
    let task_short = ShortId::of(data.middle_task).to_string();
    let cases: [(&str, Vec<&str>); 6] = [
        ("flow-run ls", vec!["flow-run", "ls"]),
        ("flow-run ls --state failed", vec!["flow-run", "ls", "--state", "failed"]),
        ("flow-run inspect SHORT-ID", vec!["flow-run", "inspect", &short]),
        ("flow-run inspect NAME", vec!["flow-run", "inspect", &data.middle_name]),
        ("flow-run inspect ID --task-limit 1000", vec!["flow-run", "inspect", &id, "--task-limit", "1000"]),
        ("flow-run logs TASK-SHORT-ID", vec!["flow-run", "logs", &task_short]),
    ];
    for (name, args) in &cases {
        let start = Instant::now();
        prefect(&data.db, args);
        println!("first call: prefect {name}: {:.1} ms", start.elapsed().as_secs_f64() * 1e3);
    }
    divan::main();
}

/// `prefect flow-run ls`: the 100 newest of 1,000 flow runs.
#[divan::bench(sample_count = 20)]
fn flow_run_ls() {
    prefect(&dataset().db, &["flow-run", "ls"]);
}

/// `prefect flow-run ls --state failed --flow etl-0`.
#[divan::bench(sample_count = 20)]
fn flow_run_ls_filtered() {
    prefect(&dataset().db, &["flow-run", "ls", "--state", "failed", "--flow", "etl-0"]);
}

/// `prefect flow-run inspect SHORT-ID`: states, parameters, 100 of 1,000
/// task runs and the per-state counts of all of them.
#[divan::bench(sample_count = 20)]
fn flow_run_inspect() {
    let data = dataset();
    prefect(&data.db, &["flow-run", "inspect", &data.short()]);
}

/// `prefect flow-run inspect NAME`: the same, found by its name.
#[divan::bench(sample_count = 20)]
fn flow_run_inspect_by_name() {
    let data = dataset();
    prefect(&data.db, &["flow-run", "inspect", &data.middle_name]);
}

/// `prefect flow-run logs TASK-SHORT-ID`: a task run's short id, found by
/// scanning the 1,000,000 task runs (the run has no log lines).
#[divan::bench(sample_count = 10)]
fn flow_run_logs_by_task_short_id() {
    let data = dataset();
    prefect(&data.db, &["flow-run", "logs", &ShortId::of(data.middle_task).to_string()]);
}

/// `prefect flow-run inspect ID --task-limit 1000`: every task run.
#[divan::bench(sample_count = 20)]
fn flow_run_inspect_all_tasks() {
    let data = dataset();
    prefect(&data.db, &["flow-run", "inspect", &data.middle.to_string(), "--task-limit", "1000"]);
}

/// `prefect version`: process start alone, no database.
#[divan::bench(sample_count = 20)]
fn version() {
    prefect(&dataset().db, &["version"]);
}
