//! Settings give defaults to options that are not set: default retries for
//! tasks and flows, and the default retry delay for tasks. An option given
//! in the attribute always wins. Settings are read once per process, so each
//! case runs this test binary again as a child with the settings in its
//! environment.

use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

use prefect::prelude::*;
use prefect::testing;

const CHILD: &str = "PREFECT_TEST_SETTINGS_CHILD";

#[task]
async fn no_retry_option() -> Result<(), std::io::Error> {
    Err(std::io::Error::other("always"))
}

#[task(retries = 0)]
async fn explicit_no_retries() -> Result<(), std::io::Error> {
    Err(std::io::Error::other("always"))
}

static FLOW_ATTEMPTS: AtomicU32 = AtomicU32::new(0);

#[flow]
async fn flaky_flow() -> Result<u32, std::io::Error> {
    let n = FLOW_ATTEMPTS.fetch_add(1, Ordering::SeqCst) + 1;
    if n < 2 { Err(std::io::Error::other("first attempt fails")) } else { Ok(n) }
}

/// In the child: run the tasks and print their run counts.
#[tokio::test(start_paused = true)]
async fn child_body() {
    if std::env::var_os(CHILD).is_none() {
        return;
    }
    let h = testing::harness();
    let start = tokio::time::Instant::now();
    h.run(no_retry_option().return_state()).await;
    let waited = start.elapsed();
    h.run(explicit_no_retries().return_state()).await;
    let flow = h.run(flaky_flow().return_state()).await;
    let counts: Vec<u32> = h.task_runs().iter().map(|r| r.run_count).collect();
    println!("RESULT task_runs={counts:?} waited_ms={} flow={flow}", waited.as_millis());
}

fn child(env: &[(&str, &str)]) -> String {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args(["child_body", "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD, "1")
        .env("PREFECT_RECORDING_ENABLED", "false")
        .env("PREFECT_HOME", std::env::temp_dir().join("prefect-settings-defaults-test"));
    for key in [
        "PREFECT_TASKS_DEFAULT_RETRIES",
        "PREFECT_TASKS_DEFAULT_RETRY_DELAY",
        "PREFECT_FLOWS_DEFAULT_RETRIES",
    ] {
        cmd.env_remove(key);
    }
    for (key, value) in env {
        cmd.env(key, value);
    }
    let out = cmd.output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    // The test harness prints `test child_body ... ` on the same line.
    let line =
        stdout.lines().find(|l| l.contains("RESULT ")).unwrap_or_else(|| panic!("no result in: {stdout}"));
    line[line.find("RESULT ").unwrap_or(0)..].to_string()
}

#[test]
fn without_settings_nothing_is_retried() {
    let result = child(&[]);
    assert!(result.contains("task_runs=[1, 1]"), "{result}");
    assert!(result.contains("flow=Failed"), "{result}");
}

#[test]
fn default_retries_and_delay_come_from_the_settings_unless_the_attribute_says() {
    let result = child(&[
        ("PREFECT_TASKS_DEFAULT_RETRIES", "2"),
        ("PREFECT_TASKS_DEFAULT_RETRY_DELAY", "5s"),
        ("PREFECT_FLOWS_DEFAULT_RETRIES", "1"),
    ]);
    assert!(
        result.contains("task_runs=[3, 1]"),
        "two retries by default, none when the attribute says 0: {result}"
    );
    assert!(result.contains("waited_ms=10000"), "the default delay applies to each retry: {result}");
    assert!(result.contains("flow=Completed"), "the flow was retried once: {result}");
}
