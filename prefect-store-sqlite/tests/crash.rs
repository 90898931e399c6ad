//! A process killed with SIGKILL in the middle of a flow leaves a consistent
//! database, and its unfinished runs are marked Crashed at the next open.
//!
//! The test runs this test binary again as the child (filtered to
//! `child_records_forever`, with an environment variable naming the
//! database), so no other binary has to be built first.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use futures::executor::block_on;
use prefect_model::Recorder;
use prefect_model::StateType;
use prefect_store::conformance::Events;
use prefect_store::prelude::*;
use prefect_store::{FlowRunFilter, TaskRunFilter};
use prefect_store_sqlite::{SqliteOptions, SqliteStore};

const CHILD_DB: &str = "PREFECT_STORE_CRASH_CHILD_DB";

/// The child's body: a flow run whose task runs never stop coming. Does
/// nothing unless started by the crash test.
#[test]
fn child_records_forever() {
    let Some(path) = std::env::var_os(CHILD_DB) else { return };
    let recorder = prefect_store_sqlite::SqliteRecorder::open(path).unwrap();
    let mut events = Events::starting_now();
    let run = events.flow_run("crash-test", "doomed");
    events.state(run, StateType::Pending);
    events.state(run, StateType::Running);
    for index in 0u64.. {
        let task = events.task_run(Some(run), "work");
        events.state(task, StateType::Pending);
        events.state(task, StateType::Running);
        for event in events.take() {
            recorder.record(event);
        }
        if index % 50 == 0 {
            std::thread::sleep(Duration::from_millis(2));
        }
        events.state(task, StateType::Completed);
    }
}

/// Waits until the child has committed at least `tasks` task runs.
fn wait_for_progress(path: &std::path::Path, tasks: u64) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
        let Ok(store) = SqliteOptions::new().detect_crashes(false).open(path) else { continue };
        let Ok(runs) = block_on(store.list_flow_runs(&FlowRunFilter::new())) else { continue };
        let Some(run) = runs.first() else { continue };
        if block_on(store.inspect_flow_run(run.id, 0)).is_ok_and(|d| d.task_run_count >= tasks) {
            return;
        }
    }
    panic!("the child process made no progress in 30 s");
}

#[test]
fn sigkill_mid_flow_leaves_a_consistent_database() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("crash.db");
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "child_records_forever", "--nocapture", "--test-threads=1"])
        .env(CHILD_DB, &path)
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    wait_for_progress(&path, 500);
    child.kill().unwrap();
    child.wait().unwrap();

    let store = SqliteStore::open(&path).unwrap();
    assert_eq!(store.integrity_check().unwrap(), Vec::<String>::new());
    let run = block_on(store.list_flow_runs(&FlowRunFilter::new())).unwrap().remove(0);
    let state = run.state.unwrap();
    assert_eq!(state.state_type, StateType::Crashed);
    let message = state.message.unwrap_or_default();
    assert!(message.contains(&format!("pid {}", child.id())), "{message}");

    let all = TaskRunFilter::of_flow_run(run.id).limit(usize::MAX);
    let tasks = block_on(store.list_task_runs(&all)).unwrap();
    assert!(tasks.len() >= 500);
    let unfinished = tasks.iter().filter(|t| !t.state.as_ref().is_some_and(|s| s.is_final())).count();
    assert_eq!(unfinished, 0, "a task run was left unfinished");
    let crashed = tasks.iter().filter(|t| t.state.as_ref().unwrap().state_type == StateType::Crashed).count();
    assert!(crashed >= 1, "the interrupted task run was not marked Crashed");
    assert!(crashed < tasks.len() / 2, "{crashed} of {} task runs crashed", tasks.len());
}
