//! Recording is on by default: a program that sets nothing up writes its
//! runs to $PREFECT_HOME/prefect.db. A process killed mid-flow leaves the
//! database consistent, and its unfinished runs are Crashed at next open.
//! Each case runs this test binary again as a child process, so the child
//! starts with no recorder installed.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use prefect::prelude::*;
use prefect::store::prelude::*;
use prefect::store::{FlowRunFilter, SqliteStore};

const CHILD: &str = "PREFECT_TEST_RECORDING_CHILD";

#[task(retries = 1)]
async fn flaky(attempt_ok: u32) -> Result<u32, std::io::Error> {
    let run = prefect::context::task_run().unwrap().run_count();
    if run < attempt_ok { Err(std::io::Error::other("try again")) } else { Ok(run) }
}

#[task]
async fn hang() {
    std::future::pending::<()>().await;
}

#[flow]
async fn nightly(hang_forever: bool) -> Result<u32, prefect::Error> {
    tracing::info!("started");
    let n = flaky(2).await?;
    if hang_forever {
        println!("HANGING");
        hang().await?;
    }
    Ok(n)
}

#[task(tags = ["db"])]
async fn limited_work() {
    tokio::time::sleep(std::time::Duration::from_millis(150)).await;
}

#[flow]
async fn limited_flow() -> Result<(), prefect::Error> {
    let a = limited_work().submit();
    let b = limited_work().submit();
    a.await?;
    b.await
}

/// In the child: run the flow the parent asked for.
#[tokio::test]
async fn child_body() {
    match std::env::var(CHILD).as_deref() {
        Ok("complete") => {
            nightly(false).await.unwrap();
        }
        Ok("hang") => {
            let _ = nightly(true).await;
        }
        Ok("limited") => {
            limited_flow().await.unwrap();
        }
        Ok("task") => {
            // A task outside any flow, then the process exits at once.
            flaky(1).await.unwrap();
        }
        Ok("exit") => {
            // A program's own main thread: its first run registers the
            // recorder's close for when the thread ends.
            std::thread::Builder::new()
                .name("main".into())
                .spawn(|| {
                    let runtime = tokio::runtime::Runtime::new().unwrap();
                    runtime.block_on(async { nightly(false).await }).unwrap();
                })
                .unwrap()
                .join()
                .unwrap();
            println!("MAIN ENDED");
        }
        _ => {}
    }
}

fn child(home: &std::path::Path, mode: &str) -> Command {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args(["child_body", "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD, mode)
        .env("PREFECT_HOME", home)
        .env_remove("PREFECT_API_DATABASE_URL")
        .env_remove("PREFECT_API_URL")
        .env_remove("PREFECT_RECORDING_ENABLED");
    cmd
}

#[tokio::test]
async fn a_program_with_no_setup_records_its_runs() {
    let home = tempfile::tempdir().unwrap();
    let out = child(home.path(), "complete").output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    let store = SqliteStore::open(home.path().join("prefect.db")).unwrap();
    let runs = store.list_flow_runs(&FlowRunFilter::new()).await.unwrap();
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].flow_name, "nightly");
    let detail = store.inspect_flow_run(runs[0].id, 100).await.unwrap();
    let names: Vec<&str> = detail.states.iter().map(|s| &*s.name).collect();
    assert_eq!(names, ["Pending", "Running", "Completed"]);
    assert_eq!(detail.parameters, serde_json::json!({"hang_forever": false}));
    let task = &detail.task_runs[0];
    assert_eq!(task.run_count, 2);
    let task_states: Vec<String> =
        store.inspect_task_run(task.id).await.unwrap().states.iter().map(|s| s.name.to_string()).collect();
    assert_eq!(task_states, ["Pending", "Running", "Retrying", "Completed"]);
    let logs = store.logs(&prefect::store::LogFilter::of(runs[0].id)).await.unwrap();
    assert!(logs.iter().any(|l| l.record.message == "started"));
}

#[tokio::test]
async fn a_program_that_ends_normally_leaves_a_complete_database_file() {
    let home = tempfile::tempdir().unwrap();
    let out = child(home.path(), "exit").output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("MAIN ENDED"));
    let wal = home.path().join("prefect.db-wal");
    let wal_len = std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0);
    assert_eq!(wal_len, 0, "the write-ahead log was folded into the database file at exit");
    let store = SqliteStore::open(home.path().join("prefect.db")).unwrap();
    let runs = store.list_flow_runs(&FlowRunFilter::new()).await.unwrap();
    assert_eq!(runs[0].state.as_ref().unwrap().state_type, StateType::Completed);
}

#[tokio::test]
async fn a_process_killed_mid_flow_leaves_a_consistent_database_with_the_run_crashed() {
    let home = tempfile::tempdir().unwrap();
    let mut running =
        child(home.path(), "hang").stdout(Stdio::piped()).stderr(Stdio::null()).spawn().unwrap();
    let mut stdout = running.stdout.take().unwrap();
    let start = Instant::now();
    let mut seen = String::new();
    while !seen.contains("HANGING") && start.elapsed() < Duration::from_secs(30) {
        let mut buf = [0u8; 256];
        let n = std::io::Read::read(&mut stdout, &mut buf).unwrap();
        if n == 0 {
            break;
        }
        seen.push_str(&String::from_utf8_lossy(&buf[..n]));
    }
    assert!(seen.contains("HANGING"), "the child never reached the hanging task: {seen}");
    // Wait until the writer has committed the hanging task's Running state.
    let path = home.path().join("prefect.db");
    let reader = prefect::store::SqliteOptions::new().read_only(true).detect_crashes(false);
    let committed = || {
        let Ok(store) = reader.open(&path) else { return false };
        let flows =
            futures::executor::block_on(store.list_flow_runs(&FlowRunFilter::new())).unwrap_or_default();
        let Some(flow) = flows.first() else { return false };
        let Ok(detail) = futures::executor::block_on(store.inspect_flow_run(flow.id, 100)) else {
            return false;
        };
        detail.task_runs.iter().any(|t| {
            t.task_name == "hang" && t.state.as_ref().is_some_and(|s| s.state_type == StateType::Running)
        })
    };
    while !committed() {
        assert!(start.elapsed() < Duration::from_secs(30), "the Running state was never committed");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    running.kill().unwrap(); // SIGKILL
    running.wait().unwrap();

    let store = SqliteStore::open(home.path().join("prefect.db")).unwrap();
    store.integrity_check().unwrap();
    let runs = store.list_flow_runs(&FlowRunFilter::new()).await.unwrap();
    assert_eq!(runs.len(), 1);
    let state = runs[0].state.clone().unwrap();
    assert_eq!(state.state_type, StateType::Crashed, "{state}");
    let detail = store.inspect_flow_run(runs[0].id, 100).await.unwrap();
    let hung = detail.task_runs.iter().find(|t| t.task_name == "hang").unwrap();
    assert_eq!(hung.state.as_ref().unwrap().state_type, StateType::Crashed);
    let flaky = detail.task_runs.iter().find(|t| t.task_name == "flaky").unwrap();
    assert_eq!(
        flaky.state.as_ref().unwrap().state_type,
        StateType::Completed,
        "finished runs stay as they were"
    );
}

#[tokio::test]
async fn a_database_that_is_not_ours_turns_recording_off_and_the_flow_still_runs() {
    let home = tempfile::tempdir().unwrap();
    let db = home.path().join("prefect.db");
    std::fs::write(&db, b"this is somebody's notes, not a database").unwrap();
    let out = child(home.path(), "complete").output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "the flow still runs: {stderr}");
    assert!(stderr.contains("run recording is off"), "{stderr}");
    assert!(stderr.contains("prefect.db"), "the warning names the file: {stderr}");
    assert_eq!(
        std::fs::read(&db).unwrap(),
        b"this is somebody's notes, not a database",
        "nothing overwritten"
    );
}

#[tokio::test]
async fn a_task_run_outside_any_flow_is_stored_before_the_process_exits() {
    let home = tempfile::tempdir().unwrap();
    let out = child(home.path(), "task").output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let store = SqliteStore::open(home.path().join("prefect.db")).unwrap();
    let runs = store.list_task_runs(&prefect::store::TaskRunFilter::standalone()).await.unwrap();
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].state.as_ref().unwrap().state_type, StateType::Completed);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tag_limits_in_the_database_apply_across_processes() {
    let home = tempfile::tempdir().unwrap();
    let path = home.path().join("prefect.db");
    let store = SqliteStore::open(&path).unwrap();
    store.set_concurrency_limit("db", 1).await.unwrap();

    // Two processes, two tagged runs each, one slot between them.
    let mut children: Vec<_> = (0..2).map(|_| child(home.path(), "limited").spawn().unwrap()).collect();
    for c in &mut children {
        assert!(c.wait().unwrap().success());
    }

    let mut spans = Vec::new();
    let mut waited = 0;
    for flow in store.list_flow_runs(&FlowRunFilter::new()).await.unwrap() {
        for task in store.inspect_flow_run(flow.id, 100).await.unwrap().task_runs {
            spans.push((task.start_time.unwrap(), task.end_time.unwrap()));
            let states = store.inspect_task_run(task.id).await.unwrap().states;
            if states.iter().any(|s| s.name == "AwaitingConcurrencySlot") {
                waited += 1;
            }
        }
    }
    assert_eq!(spans.len(), 4);
    spans.sort();
    for pair in spans.windows(2) {
        assert!(pair[1].0 >= pair[0].1, "two runs tagged `db` overlapped: {pair:?}");
    }
    assert!(waited >= 2, "runs waited for the slot ({waited})");
    let limit = store.concurrency_limit("db").await.unwrap().unwrap();
    assert_eq!(limit.active_slots, 0, "every slot was released");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slot_held_by_a_killed_process_is_freed() {
    let home = tempfile::tempdir().unwrap();
    let path = home.path().join("prefect.db");
    let store = SqliteStore::open(&path).unwrap();
    store.set_concurrency_limit("db", 1).await.unwrap();
    // Leave a slot held by a dead process: kill a child while it holds one.
    let mut holder = child(home.path(), "limited").spawn().unwrap();
    let start = std::time::Instant::now();
    while store.concurrency_limit("db").await.unwrap().unwrap().active_slots == 0 {
        assert!(start.elapsed() < Duration::from_secs(20), "the child never took the slot");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    holder.kill().unwrap();
    holder.wait().unwrap();
    assert_eq!(
        store.concurrency_limit("db").await.unwrap().unwrap().active_slots,
        1,
        "the dead holder's slot"
    );

    // The next process is not blocked by it (bounded: a leaked slot would
    // make it wait forever).
    let mut next = child(home.path(), "limited").spawn().unwrap();
    let start = std::time::Instant::now();
    let status = loop {
        if let Some(status) = next.try_wait().unwrap() {
            break status;
        }
        if start.elapsed() > Duration::from_secs(30) {
            next.kill().unwrap();
            panic!("the next process waited 30 s for a slot held by a dead process");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(status.success());
    assert_eq!(store.concurrency_limit("db").await.unwrap().unwrap().active_slots, 0);
}
