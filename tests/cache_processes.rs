//! The cache outlives the process: a second process is served from the
//! first one's records, and two processes computing the same key at once
//! compute it once (a file lock). Each case runs this test binary again as
//! child processes with their own `PREFECT_HOME`, so records go to the
//! default storage, `$PREFECT_HOME/storage`.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use prefect::prelude::*;
use prefect::results::{self, LocalStorage};

const CHILD: &str = "PREFECT_TEST_CACHE_CHILD";

/// Appends a line to `$PREFECT_HOME/ran.log` per execution of the body.
#[task(cache_key = input_hash, cache_expiration = "1h")]
async fn expensive(n: u64) -> u64 {
    let log = PathBuf::from(std::env::var("PREFECT_HOME").unwrap()).join("ran.log");
    let mut file = std::fs::OpenOptions::new().create(true).append(true).open(log).unwrap();
    writeln!(file, "ran {n}").unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    n * 1000
}

#[flow(persist_result = true, result_storage_key = "reports/{parameters.n}.json")]
async fn report(n: u64) -> Result<String, prefect::Error> {
    let state = expensive(n).return_state().await;
    println!("TASK_STATE={}", state.name());
    Ok(format!("report {}", state.into_result()?))
}

/// In the child: run the flow once.
#[tokio::test]
async fn child_body() {
    if std::env::var(CHILD).is_ok() {
        report(7).await.unwrap();
    }
}

fn child(home: &Path) -> Command {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args(["child_body", "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD, "1")
        .env("PREFECT_HOME", home)
        .env("PREFECT_RECORDING_ENABLED", "false")
        .env_remove("PREFECT_RESULTS_STORAGE_PATH")
        .env_remove("PREFECT_RESULTS_PERSIST_BY_DEFAULT");
    cmd
}

fn task_state(out: &Output) -> String {
    assert!(out.status.success(), "child failed: {}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout.lines().find_map(|l| l.split_once("TASK_STATE=").map(|(_, state)| state.trim()));
    line.unwrap_or_else(|| panic!("no TASK_STATE line in: {stdout}")).to_string()
}

fn executions(home: &Path) -> usize {
    std::fs::read_to_string(home.join("ran.log")).map(|s| s.lines().count()).unwrap_or(0)
}

#[test]
fn a_second_process_is_served_from_the_first_ones_records() {
    let home = tempfile::tempdir().unwrap();
    let first = child(home.path()).output().unwrap();
    assert_eq!(task_state(&first), "Completed");
    let second = child(home.path()).output().unwrap();
    assert_eq!(task_state(&second), "Cached");
    assert_eq!(executions(home.path()), 1, "the body ran in the first process only");

    // The flow's value was persisted under its template, in the default storage.
    let storage = LocalStorage::new(home.path().join("storage"));
    let value: String = results::load_from(&storage, "reports/7.json").unwrap();
    assert_eq!(value, "report 7000");
}

#[test]
fn two_processes_computing_one_key_at_once_compute_it_once() {
    let home = tempfile::tempdir().unwrap();
    let spawn = || child(home.path()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let (a, b) = (spawn(), spawn());
    let (a, b) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
    let mut states = [task_state(&a), task_state(&b)];
    states.sort();
    assert_eq!(states, ["Cached", "Completed"]);
    assert_eq!(executions(home.path()), 1);
}
