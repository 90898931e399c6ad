//! Submitting tasks, their futures, data dependencies and wait_for.

use std::time::Duration;

use prefect::futures::{allow_failure, as_completed, wait};
use prefect::prelude::*;
use prefect::record::DependencyKind;
use prefect::testing;

#[derive(Debug, thiserror::Error)]
#[error("refused {0}")]
struct Refused(u64);

#[task]
async fn slow_double(x: u64, ms: u64) -> u64 {
    tokio::time::sleep(Duration::from_millis(ms)).await;
    x * 2
}

#[task]
async fn add(a: u64, b: u64) -> u64 {
    a + b
}

#[task]
async fn refuse(x: u64) -> Result<u64, Refused> {
    Err(Refused(x))
}

#[task]
async fn sum(xs: Vec<u64>) -> u64 {
    xs.iter().sum()
}

#[task]
async fn recover(input: Result<u64, prefect::Error>) -> u64 {
    input.unwrap_or(0)
}

#[tokio::test(start_paused = true)]
async fn submit_runs_concurrently_and_the_future_gives_the_value() {
    let h = testing::harness();
    h.run(async {
        let start = tokio::time::Instant::now();
        let a = slow_double(1, 100).submit();
        let b = slow_double(2, 100).submit();
        assert_eq!(a.await.unwrap() + b.await.unwrap(), 6);
        assert_eq!(start.elapsed(), Duration::from_millis(100), "both ran at once");
    })
    .await;
}

#[tokio::test(start_paused = true)]
async fn a_future_reports_state_and_waits_with_timeouts() {
    let h = testing::harness();
    h.run(async {
        let mut fut = slow_double(5, 1_000).submit();
        tokio::task::yield_now().await;
        assert_eq!(fut.state().unwrap().state_type, StateType::Running);
        let err = fut.wait_timeout(Duration::from_millis(10)).await.unwrap_err();
        assert!(matches!(err, prefect::Error::WaitTimeout { .. }), "{err}");
        let err = fut.result_timeout(Duration::from_millis(10)).await.unwrap_err();
        assert!(matches!(err, prefect::Error::WaitTimeout { .. }));
        assert_eq!(
            fut.result_timeout(Duration::from_secs(5)).await.unwrap(),
            10,
            "the timeout did not cancel it"
        );
        let again = fut.result_timeout(Duration::from_secs(1)).await.unwrap_err();
        assert!(matches!(again, prefect::Error::ResultTaken { .. }), "a value is taken once: {again}");
        assert_eq!(fut.wait().await.state_type, StateType::Completed);
    })
    .await;
}

#[tokio::test(start_paused = true)]
async fn wait_splits_done_and_not_done_and_as_completed_follows_finishing_order() {
    let h = testing::harness();
    h.run(async {
        let futures =
            vec![slow_double(1, 300).submit(), slow_double(2, 10).submit(), slow_double(3, 100).submit()];
        let split = wait(futures, Some(Duration::from_millis(150))).await;
        assert_eq!(split.done.len(), 2);
        assert_eq!(split.not_done.len(), 1);

        use futures::StreamExt as _;
        let futures =
            vec![slow_double(1, 300).submit(), slow_double(2, 10).submit(), slow_double(3, 100).submit()];
        let order: Vec<u64> = as_completed(futures).then(|f| async move { f.await.unwrap() }).collect().await;
        assert_eq!(order, [4, 6, 2]);
    })
    .await;
}

#[flow]
async fn chained() -> Result<u64, prefect::Error> {
    let a = slow_double(1, 10).submit();
    let b = slow_double(2, 5).submit();
    let c = add(a, b).submit(); // futures as arguments
    let total = sum(vec![c, slow_double(10, 1).submit()]).await?; // a Vec of futures
    Ok(total)
}

#[tokio::test(start_paused = true)]
async fn futures_as_arguments_pass_values_and_record_edges() {
    let h = testing::harness();
    assert_eq!(h.run(chained()).await.unwrap(), 6 + 20);
    let runs = h.task_runs();
    let add_run = runs.iter().find(|r| r.task_name == "add").unwrap();
    assert_eq!(add_run.upstream.len(), 2);
    assert!(add_run.upstream.iter().all(|e| matches!(&e.kind, DependencyKind::Data { .. })));
    let args: Vec<String> = add_run
        .upstream
        .iter()
        .map(|e| match &e.kind {
            DependencyKind::Data { argument } => argument.to_string(),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(args, ["a", "b"]);
    let sum_run = runs.iter().find(|r| r.task_name == "sum").unwrap();
    assert_eq!(sum_run.upstream.len(), 2);
}

#[flow]
async fn broken_chain() -> Vec<State<u64>> {
    let failed = refuse(1).submit();
    let middle = add(failed, 1).submit();
    let last = add(middle, 1).submit();
    let rescued = recover(allow_failure(refuse(2).submit())).submit();
    let ordered = add(1, 1).wait_for(&[&last]).submit();
    let mut states = Vec::new();
    for fut in [last, rescued, ordered] {
        states.push(fut.final_state().await.unwrap());
    }
    states
}

#[tokio::test]
async fn an_upstream_that_did_not_complete_makes_the_chain_not_ready() {
    let h = testing::harness();
    let states = h.run(broken_chain().return_state()).await;
    assert!(states.is_failed(), "NotReady runs are not Completed");
    let runs = h.task_runs();
    let adds: Vec<_> = runs.iter().filter(|r| r.task_name == "add").collect();
    for run in &adds {
        let state = run.state().unwrap();
        assert_eq!((state.state_type, &*state.name), (StateType::Pending, "NotReady"));
        assert_eq!(run.run_count, 0, "a NotReady run never ran");
        assert!(state.message.as_ref().unwrap().starts_with("Upstream task run '"));
        assert!(state.message.as_ref().unwrap().ends_with("' did not reach a 'COMPLETED' state"));
    }
    assert_eq!(adds.len(), 3, "add(failed), add(middle) and the wait_for run");
    let ordered = adds.iter().find(|r| r.upstream.iter().any(|e| e.kind == DependencyKind::WaitFor)).unwrap();
    assert_eq!(ordered.state().unwrap().name, "NotReady", "wait_for follows the same rule");
    let rescued = runs.iter().find(|r| r.task_name == "recover").unwrap();
    assert_eq!(rescued.state().unwrap().state_type, StateType::Completed, "allow_failure lets it run");
}

#[task]
async fn outer(n: u64) -> Result<u64, prefect::Error> {
    let inner = add(n, 1).submit();
    let mapped: Vec<u64> =
        add::map(vec![1, 2], prefect::futures::unmapped(n)).await.into_iter().collect::<Result<_, _>>()?;
    Ok(inner.await? + add(n, 2).await? + mapped.iter().sum::<u64>())
}

#[tokio::test]
async fn a_task_may_call_submit_and_map_tasks_and_is_their_parent() {
    let h = testing::harness();
    assert_eq!(h.run(outer(10)).await.unwrap(), 11 + 12 + 11 + 12);
    let runs = h.task_runs();
    let parent = runs.iter().find(|r| r.task_name == "outer").unwrap();
    let children: Vec<_> = runs.iter().filter(|r| r.task_name == "add").collect();
    assert_eq!(children.len(), 4);
    assert!(children.iter().all(|c| c.parent_task_run_id == Some(parent.id)));
}

static DROPPED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// A large value that counts its drops.
struct Big(#[allow(dead_code)] Vec<u8>);

impl Drop for Big {
    fn drop(&mut self) {
        DROPPED.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }
}

#[task]
async fn make_big() -> Big {
    Big(vec![0; 1 << 20])
}

#[flow]
async fn consumes_results() -> usize {
    for _ in 0..3 {
        let big = make_big().submit().await.unwrap();
        drop(big);
    }
    // Results the caller consumed are gone before the flow ends: the flow
    // keeps no copy of them.
    DROPPED.load(std::sync::atomic::Ordering::SeqCst)
}

#[tokio::test]
async fn a_consumed_result_is_not_held_until_the_flow_ends() {
    assert_eq!(testing::harness().run(consumes_results()).await.unwrap(), 3);
}

#[flow]
async fn produces() -> u64 {
    7
}

#[flow]
async fn awaits_a_foreign_future(upstream: u64) -> Result<u64, prefect::Error> {
    let ours = add(upstream, 1).submit();
    ours.await
}

#[tokio::test]
async fn a_future_can_be_awaited_outside_the_flow_that_made_it() {
    // Documented behaviour: a future is a handle on a run, usable anywhere;
    // awaiting it from another flow run simply waits for that run.
    let h = testing::harness();
    let background = h.run(async { produces().submit() }).await;
    let value = h.run(background).await.unwrap();
    assert_eq!(h.run(awaits_a_foreign_future(value)).await.unwrap(), 8);
}
