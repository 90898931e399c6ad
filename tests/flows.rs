//! Flow final states, signals, subflows and parameters.

use prefect::prelude::*;
use prefect::testing;

#[derive(Debug, thiserror::Error)]
#[error("bad row")]
struct BadRow;

#[task]
async fn check(x: i32) -> Result<i32, BadRow> {
    if x < 0 { Err(BadRow) } else { Ok(x) }
}

#[flow]
async fn ignores_a_failure() -> i32 {
    let _ = check(-1).await; // neither returned nor propagated
    check(2).await.unwrap_or(0)
}

#[tokio::test]
async fn a_task_failure_the_flow_does_not_return_leaves_it_completed() {
    let h = testing::harness();
    assert_eq!(h.run(ignores_a_failure()).await.unwrap(), 2);
    assert_eq!(h.flow_runs()[0].state().unwrap().state_type, StateType::Completed);
    assert_eq!(h.task_runs()[0].state().unwrap().state_type, StateType::Failed);
}

#[flow(name = "custom-name", flow_run_name = "load-{day}", tags = ["etl"], version = "7")]
async fn named(day: String, n: u32) -> u32 {
    assert!(!day.is_empty());
    n
}

#[flow]
async fn default_named_flow() {}

#[tokio::test]
async fn names_templates_tags_and_parameters_are_recorded() {
    let h = testing::harness();
    h.run(named("monday".into(), 3)).await.unwrap();
    h.run(default_named_flow()).await.unwrap();
    let runs = h.flow_runs();
    assert_eq!(runs[0].flow_name, "custom-name");
    assert_eq!(runs[0].name, "load-monday");
    assert_eq!(&*runs[0].tags, ["etl"]);
    assert_eq!(runs[0].flow_version.as_deref(), Some("7"));
    assert_eq!(runs[0].parameters, serde_json::json!({"day": "monday", "n": 3}));
    assert_eq!(runs[1].flow_name, "default-named-flow");
    assert_eq!(runs[1].name.split('-').count(), 2, "a random two-word slug: {}", runs[1].name);
}

#[task]
async fn maybe_skip(x: i32) -> Result<i32, prefect::Signal> {
    if x == 0 { Err(Signal::skip("nothing to do")) } else { Ok(x) }
}

#[tokio::test]
async fn skip_ends_completed_named_skipped() {
    let h = testing::harness();
    let state = h.run(maybe_skip(0).return_state()).await;
    assert!(state.is_completed());
    assert_eq!(state.to_string(), "Skipped('nothing to do', type=COMPLETED)");
    assert_eq!(state.value(), None);
    let err = h.run(maybe_skip(0)).await.unwrap_err();
    assert!(err.as_run_failure().unwrap().is_skipped(), "awaiting a skipped run has no value");
}

#[derive(Debug, thiserror::Error)]
enum LoadError {
    #[error("signal")]
    Signal(#[source] Signal),
}

static FAIL_NOW_CALLS: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
#[task(retries = 5)]
async fn fail_now() -> Result<(), LoadError> {
    FAIL_NOW_CALLS.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    Err(LoadError::Signal(Signal::fail("schema changed; retrying will not help")))
}

#[tokio::test]
async fn fail_signal_skips_the_remaining_retries_even_as_a_source() {
    let h = testing::harness();
    let state = h.run(fail_now().return_state()).await;
    assert_eq!(state.to_string(), "Failed('schema changed; retrying will not help')");
    assert_eq!(FAIL_NOW_CALLS.load(std::sync::atomic::Ordering::SeqCst), 1);
}

static RETRY_NOW_CALLS: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
#[task(retries = 2, retry_delay = "1h")]
async fn retry_now() -> Result<u32, Box<dyn std::error::Error + Send + Sync>> {
    let n = RETRY_NOW_CALLS.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    if n == 0 { Err(Signal::retry("token refreshed").into()) } else { Ok(n) }
}

#[tokio::test(start_paused = true)]
async fn retry_signal_retries_at_once() {
    let h = testing::harness();
    let start = tokio::time::Instant::now();
    assert_eq!(h.run(retry_now()).await.unwrap(), 1);
    assert_eq!(start.elapsed(), std::time::Duration::ZERO, "the 1h delay was skipped");
    assert_eq!(h.task_runs()[0].state_names(), ["Pending", "Running", "Retrying", "Completed"]);
}

#[flow]
async fn returns_a_state(ok: bool) -> State<u32> {
    if ok { State::completed(5) } else { State::failed("chose to fail") }
}

#[flow]
async fn returns_states(xs: Vec<i32>) -> Vec<State<i32>> {
    let mut states = Vec::new();
    for x in xs {
        states.push(check(x).return_state().await);
    }
    states
}

#[tokio::test]
async fn a_flow_can_return_a_state_or_a_collection_of_states() {
    let h = testing::harness();
    assert_eq!(h.run(returns_a_state(true)).await.unwrap(), 5);
    let state = h.run(returns_a_state(false).return_state()).await;
    assert_eq!(state.to_string(), "Failed('chose to fail')");

    assert_eq!(h.run(returns_states(vec![1, 2])).await.unwrap(), [1, 2]);
    let state = h.run(returns_states(vec![1, -1, -2]).return_state()).await;
    assert!(state.is_failed());
    assert_eq!(state.message(), Some("2/3 states failed."));
}

#[flow]
async fn child(x: i32) -> Result<i32, prefect::Error> {
    Ok(check(x).await? * 10)
}

#[flow]
async fn parent(x: i32) -> Result<i32, prefect::Error> {
    child(x).await
}

#[flow]
async fn countdown(n: u32) -> Result<u32, prefect::Error> {
    if n == 0 { Ok(0) } else { Ok(1 + countdown(n - 1).await?) }
}

#[tokio::test]
async fn a_subflow_is_its_own_run_linked_to_the_parent() {
    let h = testing::harness();
    assert_eq!(h.run(parent(4)).await.unwrap(), 40);
    let flows = h.flow_runs();
    let (outer, inner) = (&flows[0], &flows[1]);
    assert_eq!(inner.flow_name, "child");
    assert_eq!(inner.parent_flow_run_id, Some(outer.id));
    let placeholder = h.task_runs().into_iter().find(|t| t.subflow_run_id == Some(inner.id)).unwrap();
    assert_eq!(inner.parent_task_run_id, Some(placeholder.id));
    assert_eq!(placeholder.flow_run_id, Some(outer.id));
    assert_eq!(placeholder.state_names(), ["Pending", "Running", "Completed"]);
    let check_run = h.task_runs().into_iter().find(|t| t.task_name == "check").unwrap();
    assert_eq!(check_run.flow_run_id, Some(inner.id), "tasks belong to the innermost flow");
}

#[tokio::test]
async fn a_subflow_failure_propagates_and_recursion_works() {
    let h = testing::harness();
    let err = h.run(parent(-1)).await.unwrap_err();
    assert!(err.downcast_ref::<BadRow>().is_some());
    let states: Vec<StateType> = h.flow_runs().iter().map(|f| f.state().unwrap().state_type).collect();
    assert_eq!(states, [StateType::Failed, StateType::Failed]);
    let messages: Vec<_> = h.flow_runs().iter().map(|f| f.state().unwrap().message.clone()).collect();
    assert_eq!(
        messages,
        [Some("bad row".to_string()), Some("bad row".to_string())],
        "the root cause, not a nesting"
    );

    let h = testing::harness();
    assert_eq!(h.run(countdown(5)).await.unwrap(), 5);
    let flows = h.flow_runs();
    assert_eq!(flows.len(), 6);
    assert!(flows.windows(2).all(|w| w[1].parent_flow_run_id == Some(w[0].id)));
}

/// Loads the day's orders.
///
/// Runs after midnight.
#[flow]
async fn documented() {}

#[flow(version = "2024.06")]
async fn versioned() {}

#[tokio::test]
async fn a_flows_doc_comment_is_its_description_and_its_source_hash_its_version() {
    let flow = documented::flow();
    assert_eq!(flow.options().description(), Some("Loads the day's orders.\n\nRuns after midnight."));
    let version = flow.options().version().unwrap();
    assert_eq!(version.len(), 12, "a hash of the source: {version}");
    assert!(version.chars().all(|c| c.is_ascii_hexdigit()), "{version}");
    assert_eq!(versioned::flow().options().version(), Some("2024.06"));
    let h = prefect::testing::harness();
    h.run(documented()).await.unwrap();
    assert_eq!(h.flow_runs()[0].record.flow_version.as_deref(), Some(version), "recorded with the run");
}

#[tokio::test]
async fn a_flow_name_with_a_forbidden_character_given_at_run_time_fails_the_run() {
    let h = prefect::testing::harness();
    let state = h.run(versioned().with_options(|f| f.name("etl/daily")).return_state()).await;
    assert!(state.is_failed());
    assert!(state.message().unwrap().contains("must not contain `/`"), "{state}");
}

#[flow]
async fn nested(depth: u32) -> Result<u32, prefect::Error> {
    if depth == 0 {
        return Ok(0);
    }
    Ok(nested(depth - 1).await? + 1)
}

#[task]
async fn nested_task(depth: u32) -> Result<u32, prefect::Error> {
    if depth == 0 {
        return Ok(0);
    }
    Ok(nested_task(depth - 1).await? + 1)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_nested_subflows_and_tasks_run_without_overflowing_a_stack() {
    let h = testing::harness();
    assert_eq!(h.run(nested(10_000)).await.unwrap(), 10_000);
    let runs = h.flow_runs();
    assert_eq!(runs.len(), 10_001);
    assert!(runs.iter().all(|r| r.states.last().unwrap().name == "Completed"));
    let by_id: std::collections::HashMap<_, _> = runs.iter().map(|r| (r.record.id, &r.record)).collect();
    let mut run = &runs.iter().find(|r| r.record.parameters["depth"] == 0).unwrap().record;
    let mut depth = 0;
    while let Some(parent) = run.parent_flow_run_id {
        run = by_id[&parent];
        depth += 1;
    }
    assert_eq!(depth, 10_000, "each level is a subflow of the one above");

    assert_eq!(h.run(nested_task(10_000)).await.unwrap(), 10_000);
    assert_eq!(h.task_runs_of("nested_task").len(), 10_001);
}

#[test]
fn deep_subflows_run_on_a_current_thread_runtime_too() {
    let h = testing::harness();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    assert_eq!(runtime.block_on(h.run(nested(3_000))).unwrap(), 3_000);
}
