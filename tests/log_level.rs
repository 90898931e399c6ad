//! The console level comes from PREFECT_LOGGING_LEVEL (or RUST_LOG). Each
//! case runs this test binary again as a child process with the variable
//! set, because the level is read once per process.

use std::process::Command;

use prefect::prelude::*;

#[task]
async fn chatty() {
    tracing::info!("an info line");
    tracing::warn!("a warning line");
}

const CHILD: &str = "PREFECT_TEST_LOG_LEVEL_CHILD";

/// In the child: run one task. In the parent: nothing.
#[tokio::test]
async fn child_body() {
    if std::env::var_os(CHILD).is_some() {
        chatty().await.unwrap();
    }
}

fn child_stderr(var: &str, value: &str) -> String {
    child_stderr_in(std::env::current_dir().unwrap(), var, value)
}

fn child_stderr_in(dir: impl AsRef<std::path::Path>, var: &str, value: &str) -> String {
    let out = Command::new(std::env::current_exe().unwrap())
        .current_dir(dir)
        .args(["child_body", "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD, "1")
        .env("PREFECT_RECORDING_ENABLED", "false")
        .env_remove("PREFECT_LOGGING_LEVEL")
        .env_remove("RUST_LOG")
        .env(var, value)
        .output()
        .unwrap();
    assert!(out.status.success(), "child failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stderr).unwrap()
}

#[test]
fn prefect_logging_level_filters_the_console() {
    let warn_only = child_stderr("PREFECT_LOGGING_LEVEL", "WARNING");
    assert!(warn_only.contains("| WARNING | Task run 'chatty-"), "{warn_only}");
    assert!(!warn_only.contains("an info line"), "{warn_only}");

    let info = child_stderr("PREFECT_LOGGING_LEVEL", "info");
    assert!(info.contains("| INFO    | Task run 'chatty-") && info.contains("an info line"), "{info}");
}

#[test]
fn rust_log_is_used_when_prefect_logging_level_is_unset() {
    let errors_only = child_stderr("RUST_LOG", "error");
    assert!(!errors_only.contains("a warning line"), "{errors_only}");
}

#[test]
fn a_bad_level_names_the_variable_and_falls_back_to_info() {
    let bad = child_stderr("PREFECT_LOGGING_LEVEL", "loud");
    assert!(bad.contains("PREFECT_LOGGING_LEVEL=\"loud\" is not a level"), "{bad}");
    assert!(bad.contains("an info line"), "{bad}");
}

#[test]
fn prefect_toml_sets_the_level_when_the_environment_does_not() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("prefect.toml"), "[logging]\nlevel = \"WARNING\"\n").unwrap();
    let warn_only = child_stderr_in(dir.path(), "PREFECT_HOME", dir.path().to_str().unwrap());
    assert!(warn_only.contains("a warning line"), "{warn_only}");
    assert!(!warn_only.contains("an info line"), "{warn_only}");
}
