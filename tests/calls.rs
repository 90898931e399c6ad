//! Calling tasks and flows: values, errors, states, options, sync bodies.

use prefect::prelude::*;
use prefect::testing;

#[derive(Debug, thiserror::Error, PartialEq)]
#[error("fetch failed for {0}")]
struct FetchError(u32);

#[task]
async fn double(x: u64) -> u64 {
    x * 2
}

#[task]
async fn fetch(id: u32) -> Result<String, FetchError> {
    if id == 0 { Err(FetchError(id)) } else { Ok(format!("row-{id}")) }
}

#[task]
fn checksum(bytes: Vec<u8>) -> u64 {
    bytes.iter().map(|b| *b as u64).sum()
}

#[task]
async fn no_return() {}

#[flow]
async fn pipeline(ids: Vec<u32>) -> Result<Vec<String>, prefect::Error> {
    let mut rows = Vec::new();
    for id in ids {
        rows.push(fetch(id).await?);
    }
    Ok(rows)
}

#[flow]
fn sync_flow(n: u64) -> Result<u64, prefect::Error> {
    let doubled = double(n).blocking()?;
    Ok(doubled + checksum(vec![1, 2, 3]).blocking()?)
}

#[tokio::test]
async fn a_task_call_returns_the_body_value() {
    let h = testing::harness();
    assert_eq!(h.run(double(21)).await.unwrap(), 42);
    h.run(no_return()).await.unwrap();
    let runs = h.task_runs();
    assert_eq!(runs.len(), 2);
    assert_eq!(runs[0].task_name, "double");
    assert!(runs[0].name.starts_with("double-"), "{}", runs[0].name);
    assert_eq!(runs[0].flow_run_id, None, "a task called outside a flow has no flow run");
}

#[tokio::test]
async fn a_sync_task_runs_on_the_blocking_pool() {
    let h = testing::harness();
    let main_thread = std::thread::current().id();
    #[task]
    fn which_thread() -> String {
        format!("{:?}", std::thread::current().id())
    }
    let body_thread = h.run(which_thread()).await.unwrap();
    assert_ne!(body_thread, format!("{main_thread:?}"));
    assert_eq!(h.run(checksum(vec![1, 2, 250])).await.unwrap(), 253);
    assert_eq!(h.task_runs()[1].state_names(), ["Pending", "Running", "Completed"]);
}

#[tokio::test]
async fn the_error_keeps_the_body_error_and_the_state() {
    let h = testing::harness();
    let err = h.run(fetch(0)).await.unwrap_err();
    assert_eq!(err.downcast_ref::<FetchError>(), Some(&FetchError(0)));
    let state = err.state().expect("a run failure carries its state");
    assert_eq!(state.state_type, StateType::Failed);
    assert_eq!(state.message.as_deref(), Some("fetch failed for 0"));
    assert!(err.to_string().contains("Failed('fetch failed for 0')"), "{err}");
}

#[tokio::test]
async fn question_mark_propagates_a_task_failure_out_of_a_flow() {
    let h = testing::harness();
    assert_eq!(h.run(pipeline(vec![1, 2])).await.unwrap(), ["row-1", "row-2"]);
    let err = h.run(pipeline(vec![3, 0, 4])).await.unwrap_err();
    assert_eq!(
        err.downcast_ref::<FetchError>(),
        Some(&FetchError(0)),
        "the task's error survives two levels"
    );
    let flows = h.flow_runs();
    assert_eq!(flows[1].state().unwrap().state_type, StateType::Failed);
    // fetch(4) never ran: the flow stopped at the first failure.
    assert_eq!(h.task_runs().len(), 2 + 2);
}

#[tokio::test]
async fn return_state_gives_the_final_state_and_never_fails() {
    let h = testing::harness();
    let ok: State<u64> = h.run(double(4).return_state()).await;
    assert!(ok.is_completed());
    assert_eq!(ok.value(), Some(&8));
    assert_eq!(ok.to_string(), "Completed()");

    let failed = h.run(fetch(0).return_state()).await;
    assert!(failed.is_failed());
    assert_eq!(failed.to_string(), "Failed('fetch failed for 0')");
    assert!(failed.error().unwrap().downcast_ref::<FetchError>().is_some());
    assert_eq!(failed.run_id().map(|id| id.uuid()), Some(h.task_runs()[1].id.0));
}

#[tokio::test]
async fn with_options_overrides_one_call_only() {
    let h = testing::harness();
    let state = h.run(fetch(0).with_options(|t| t.retries(2).name("patient-fetch")).return_state()).await;
    assert!(state.is_failed());
    let again = h.run(fetch(0).return_state()).await;
    assert!(again.is_failed());
    let runs = h.task_runs();
    assert_eq!((runs[0].task_name.as_ref(), runs[0].run_count), ("patient-fetch", 3));
    assert_eq!((runs[1].task_name.as_ref(), runs[1].run_count), ("fetch", 1));
}

#[tokio::test]
async fn invalid_runtime_options_are_a_failed_state_not_a_panic() {
    let h = testing::harness();
    let state = h.run(double(1).with_options(|t| t.retry_jitter(-1.0)).return_state()).await;
    assert!(state.is_failed());
    assert!(state.message().unwrap().contains("retry_jitter"), "{state}");
    let err = h.run(double(1).with_options(|t| t.timeout(std::time::Duration::ZERO))).await.unwrap_err();
    assert!(err.to_string().contains("timeout"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sync_flow_calls_tasks_with_blocking() {
    let h = testing::harness();
    assert_eq!(h.run(sync_flow(5)).await.unwrap(), 16);
    let flow = &h.flow_runs()[0];
    let tasks = h.task_runs();
    assert_eq!(tasks.len(), 2);
    assert!(tasks.iter().all(|t| t.flow_run_id == Some(flow.id)), "tasks in a sync flow belong to it");
}

#[tokio::test]
async fn blocking_in_async_code_is_an_error_not_a_hang() {
    let err = double(1).blocking().unwrap_err();
    assert!(matches!(err, prefect::Error::Blocking { .. }));
    assert!(err.to_string().contains("use .await"), "{err}");
}

#[test]
fn blocking_works_without_a_runtime() {
    let h = testing::harness();
    assert_eq!(h.run_sync(|| double(8).blocking()).unwrap(), 16);
    assert_eq!(h.run_sync(|| pipeline(vec![7]).blocking()).unwrap(), ["row-7"]);
    assert_eq!(h.flow_runs().len(), 1);
}

#[tokio::test]
async fn call_direct_runs_the_body_without_a_run() {
    let h = testing::harness();
    assert_eq!(h.run(double::call_direct(5)).await, 10);
    assert_eq!(fetch::call_direct(0).await, Err(FetchError(0)));
    assert!(h.task_runs().is_empty());
    assert_eq!(double::task().options().name(), "double");
}

#[derive(Debug, thiserror::Error)]
#[error("could not reach the API")]
struct Unreachable(#[source] std::io::Error);

#[task]
async fn unreachable() -> Result<(), Unreachable> {
    Err(Unreachable(std::io::Error::other("connection refused")))
}

#[tokio::test]
async fn an_errors_debug_is_its_message_and_causes_as_main_prints_it() {
    let h = testing::harness();
    let err = h.run(unreachable()).await.unwrap_err();
    let printed = format!("{err:?}");
    let (message, causes) = printed.split_once("\n\nCaused by:\n").expect(&printed);
    assert_eq!(message, err.to_string());
    assert!(message.contains("ended in state Failed('could not reach the API')"), "{printed}");
    assert_eq!(causes, "    0: could not reach the API\n    1: connection refused", "{printed}");
    let plain = prefect::Error::NothingMapped { task: "t".into() };
    assert_eq!(format!("{plain:?}"), plain.to_string(), "no causes, no section");
}

#[test]
fn awaiting_outside_a_tokio_runtime_says_what_to_do() {
    let h = prefect::testing::harness();
    let err = futures::executor::block_on(h.run(double(2))).unwrap_err();
    assert!(matches!(err, prefect::Error::NoRuntime { .. }), "{err:?}");
    let message = err.to_string();
    assert!(message.starts_with("task 'double' was awaited outside a tokio runtime"), "{message}");
    assert!(message.contains("#[tokio::main]") && message.contains(".blocking()"), "{message}");
    let state = futures::executor::block_on(h.run(pipeline(vec![1]).return_state()));
    assert!(
        state.is_failed() && state.message().unwrap_or_default().contains("flow 'pipeline'"),
        "{state:?}"
    );
    assert!(h.task_runs().is_empty() && h.flow_runs().is_empty(), "no run was created");
}
