//! Prefect's state rules where they differed: groups of returned states,
//! per-call run names, maps with nothing mapped, a body's own timeout, and
//! skips that propagate downstream.

use std::time::Duration;

use prefect::futures::unmapped;
use prefect::prelude::*;
use prefect::testing;

#[derive(Debug, thiserror::Error)]
#[error("row {0} is bad")]
struct BadRow(u32);

#[task]
async fn check(row: u32) -> Result<u32, BadRow> {
    if row.is_multiple_of(2) { Ok(row) } else { Err(BadRow(row)) }
}

#[flow]
async fn checked(rows: Vec<u32>) -> Vec<State<u32>> {
    let mut states = Vec::new();
    for row in rows {
        states.push(check(row).return_state().await);
    }
    states
}

#[tokio::test]
async fn a_group_of_states_names_its_failures_and_keeps_the_first_error() {
    let h = testing::harness();
    let failed = h.run(checked(vec![2, 3, 4, 5])).await.unwrap_err();
    assert_eq!(failed.state().unwrap().message.as_deref(), Some("2/4 states failed."));
    assert_eq!(failed.downcast_ref::<BadRow>().map(|e| e.0), Some(3), "the first failed member's own error");
    let empty = h.run(checked(vec![]).return_state()).await;
    assert!(empty.is_completed());
    assert_eq!((empty.message(), empty.value()), (None, Some(&vec![])), "an empty group is plain data");
}

#[task(task_run_name = "load-{day}")]
async fn load(day: String) -> String {
    day
}

#[tokio::test]
async fn a_run_name_given_for_one_call_wins_over_the_attributes_template() {
    let h = testing::harness();
    h.run(load("mon".to_string())).await.unwrap();
    h.run(load("tue".to_string()).with_options(|t| t.run_name(|| "backfill".to_string()))).await.unwrap();
    let names: Vec<String> = h.task_runs_of("load").iter().map(|r| r.name.clone()).collect();
    assert_eq!(names, ["load-mon", "backfill"]);
}

#[task]
async fn scale(x: u64, factor: u64) -> u64 {
    x * factor
}

#[tokio::test]
async fn a_map_with_nothing_mapped_is_an_error_naming_the_task() {
    let h = testing::harness();
    let results = h.run(scale::map(unmapped(1), unmapped(2))).await;
    assert_eq!(results.len(), 1);
    let error = results.into_iter().next().unwrap().unwrap_err();
    assert!(matches!(error, prefect::Error::NothingMapped { ref task } if task == "scale"), "{error}");
}

#[task]
async fn own_timeout() -> Result<u32, tokio::time::error::Elapsed> {
    tokio::time::timeout(Duration::from_millis(1), std::future::pending::<u32>()).await
}

#[tokio::test(start_paused = true)]
async fn a_body_returning_its_own_elapsed_timeout_ends_timed_out() {
    let h = testing::harness();
    let state = h.run(own_timeout().return_state()).await;
    assert_eq!((state.state_type(), state.name()), (StateType::Failed, "TimedOut"));
}

#[task]
async fn nothing_new() -> Result<u32, Signal> {
    Err(Signal::skip("nothing new today"))
}

#[task]
async fn transform(x: u32) -> u32 {
    x + 1
}

#[task(skip_on_upstream_skip = false)]
async fn report() -> String {
    "always".to_string()
}

#[flow]
async fn pipeline() -> (State<u32>, State<String>) {
    let upstream = nothing_new().submit();
    let report = report().wait_for(&[&upstream]).return_state().await;
    (transform(upstream).return_state().await, report)
}

#[tokio::test]
async fn a_skip_propagates_downstream_unless_the_task_opts_out() {
    let h = testing::harness();
    let (downstream, report) = h.run(pipeline()).await.unwrap();
    assert_eq!((downstream.state_type(), downstream.name()), (StateType::Completed, "Skipped"));
    assert!(downstream.message().unwrap().contains("was skipped"), "{downstream}");
    assert_eq!(report.value().map(String::as_str), Some("always"), "an opted-out task runs");
}
