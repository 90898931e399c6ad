//! Run logs with and without the program's own `tracing` subscriber. The
//! engine never installs a global subscriber; the facade's defaults install
//! Prefect-style console output only when the program set none. Each case
//! runs this test binary again as a child, since a subscriber is set once
//! per process.

use std::process::Command;

use prefect::prelude::*;
use tracing_subscriber::layer::SubscriberExt as _;

#[task]
async fn chatty(n: u32) -> u32 {
    tracing::info!(n, "hello from the task");
    n
}

const CHILD: &str = "PREFECT_TEST_SUBSCRIBER_CHILD";

/// In the child: maybe install a subscriber first, run one task, print how
/// many of its log lines were recorded. In the parent: nothing.
#[tokio::test]
async fn child_body() {
    let Ok(mode) = std::env::var(CHILD) else { return };
    if mode == "own" {
        let subscriber = tracing_subscriber::registry()
            .with(tracing_subscriber::fmt::layer().with_writer(std::io::stderr).with_ansi(false))
            .with(prefect::logging::layer());
        tracing::subscriber::set_global_default(subscriber).unwrap();
    }
    let harness = prefect::testing::harness();
    harness.run(chatty(7)).await.unwrap();
    let task = &harness.task_runs_of("chatty")[0];
    let recorded = harness.logs(task.id).iter().filter(|l| l.message == "hello from the task").count();
    println!("RECORDED {recorded}");
}

fn child(mode: &str) -> (String, String) {
    let home = tempfile::tempdir().unwrap();
    let out = Command::new(std::env::current_exe().unwrap())
        .args(["child_body", "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD, mode)
        .env("PREFECT_HOME", home.path())
        .env("PREFECT_RECORDING_ENABLED", "false")
        .env_remove("PREFECT_LOGGING_LEVEL")
        .env_remove("RUST_LOG")
        .output()
        .unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    );
    assert!(out.status.success(), "child failed:\n{stdout}\n{stderr}");
    (stdout, stderr)
}

#[test]
fn with_no_subscriber_the_defaults_print_prefect_style_and_record_logs() {
    let (stdout, stderr) = child("none");
    assert!(stdout.contains("RECORDED 1"), "{stdout}");
    assert!(stderr.contains("| INFO    | Task run 'chatty-"), "{stderr}");
}

#[test]
fn the_programs_own_subscriber_with_the_layer_records_logs_and_keeps_its_format() {
    let (stdout, stderr) = child("own");
    assert!(stdout.contains("RECORDED 1"), "{stdout}");
    assert!(stderr.contains("hello from the task"), "the program's subscriber printed it: {stderr}");
    assert!(!stderr.contains("| INFO    |"), "prefect installed its console over the program's: {stderr}");
}
