//! The engine through its builder API and the testing harness, without the
//! macros: states and histories, retries on a paused clock, timeouts,
//! panics, signals, hooks, subflows, submitted runs and their futures,
//! dependencies, maps, cancellation and caching.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use futures::StreamExt;
use prefect_core::futures::{as_completed, wait};
use prefect_core::results::MemoryStorage;
use prefect_core::{Flow, HookContext, RetryDelay, Signal, StateType, Task, flow_call, task_call, testing};

type Io = std::io::Error;

fn counter() -> Arc<AtomicU32> {
    Arc::new(AtomicU32::new(0))
}

#[tokio::test]
async fn a_task_call_goes_pending_running_completed() {
    let h = testing::harness();
    let value = h.run(task_call(Task::new("add"), || async { Ok::<_, Io>(2 + 2) })).await.unwrap();
    assert_eq!(value, 4);
    let runs = h.task_runs_of("add");
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].state_names(), ["Pending", "Running", "Completed"]);
    assert_eq!(runs[0].run_count, 1);
}

#[tokio::test(start_paused = true)]
async fn retries_wait_out_their_delays_and_count_runs() {
    let h = testing::harness();
    let attempts = counter();
    let seen = attempts.clone();
    let task = Task::new("flaky").retries(2).retry_delay(RetryDelay::Exponential(Duration::from_secs(10)));
    let start = tokio::time::Instant::now();
    let call = task_call(task, move || {
        let n = seen.fetch_add(1, Ordering::SeqCst);
        async move { if n < 2 { Err(Io::other("not yet")) } else { Ok(n) } }
    });
    assert_eq!(h.run(call).await.unwrap(), 2);
    assert_eq!(start.elapsed(), Duration::from_secs(30), "10 s, then 20 s");
    let run = &h.task_runs_of("flaky")[0];
    assert_eq!(run.run_count, 3);
    assert_eq!(
        run.state_names(),
        ["Pending", "Running", "AwaitingRetry", "Retrying", "AwaitingRetry", "Retrying", "Completed"]
    );
}

#[tokio::test(start_paused = true)]
async fn a_timeout_ends_the_attempt_timed_out() {
    let h = testing::harness();
    let task = Task::new("slow").timeout(Duration::from_secs(1));
    let call = task_call(task, || async {
        tokio::time::sleep(Duration::from_secs(60)).await;
        Ok::<_, Io>(())
    });
    let state = h.run(call.return_state()).await;
    assert_eq!((state.state_type(), state.name()), (StateType::Failed, "TimedOut"));
}

#[tokio::test]
async fn panics_fail_the_run_and_signals_choose_the_state() {
    let h = testing::harness();
    let panicked = h
        .run(
            task_call(Task::new("boom"), || async {
                if true {
                    panic!("cannot handle it");
                }
                Ok::<_, Io>(())
            })
            .return_state(),
        )
        .await;
    assert_eq!(panicked.message(), Some("panicked: cannot handle it"));
    let skipped = h
        .run(
            task_call(Task::new("skip"), || async { Err::<(), _>(Signal::skip("nothing new")) })
                .return_state(),
        )
        .await;
    assert_eq!((skipped.state_type(), skipped.name()), (StateType::Completed, "Skipped"));
    let attempts = counter();
    let seen = attempts.clone();
    let failed = h
        .run(
            task_call(Task::new("give-up").retries(5), move || {
                seen.fetch_add(1, Ordering::SeqCst);
                async { Err::<(), _>(Signal::fail("permanent")) }
            })
            .return_state(),
        )
        .await;
    assert_eq!(failed.message(), Some("permanent"));
    assert_eq!(attempts.load(Ordering::SeqCst), 1, "a fail signal skips the retries");
}

static COMPLETED: AtomicU32 = AtomicU32::new(0);

fn count_completion(_: &HookContext) {
    COMPLETED.fetch_add(1, Ordering::SeqCst);
}

#[tokio::test]
async fn hooks_run_once_per_final_state() {
    let h = testing::harness();
    let before = COMPLETED.load(Ordering::SeqCst);
    let task = Task::new("hooked").on_completion(prefect_core::hooks::hook(count_completion));
    h.run(task_call(task, || async { Ok::<_, Io>(()) })).await.unwrap();
    assert_eq!(COMPLETED.load(Ordering::SeqCst), before + 1);
}

#[tokio::test]
async fn a_flow_call_owns_its_task_runs_and_subflows() {
    let h = testing::harness();
    let flow = flow_call(Flow::new("parent"), serde_json::json!({ "n": 2 }), || async {
        let a = task_call(Task::new("inner"), || async { Ok::<_, Io>(1) }).await?;
        let b = flow_call(Flow::new("child"), serde_json::json!({}), || async { Ok::<_, Io>(2) }).await?;
        Ok::<_, prefect_core::Error>(a + b)
    });
    assert_eq!(h.run(flow).await.unwrap(), 3);
    let flows = h.flow_runs();
    let parent = flows.iter().find(|f| f.record.flow_name == "parent").unwrap();
    let child = flows.iter().find(|f| f.record.flow_name == "child").unwrap();
    assert_eq!(child.record.parent_flow_run_id, Some(parent.record.id));
    assert_eq!(parent.record.parameters["n"], 2);
    let inner = &h.task_runs_of("inner")[0];
    assert_eq!(inner.flow_run_id, Some(parent.record.id));
    // The subflow's placeholder task run in the parent.
    let placeholder = h.task_runs().into_iter().find(|t| t.subflow_run_id == Some(child.record.id)).unwrap();
    assert_eq!(placeholder.state().unwrap().state_type, StateType::Completed);
}

#[tokio::test]
async fn submitted_runs_are_futures_the_flow_waits_for() {
    let h = testing::harness();
    let flow = flow_call(Flow::new("fan-out"), serde_json::json!({}), || async {
        let futures: Vec<_> = (0..4u32)
            .map(|i| task_call(Task::new("square"), move || async move { Ok::<_, Io>(i * i) }).submit())
            .collect();
        let done = wait(futures, None).await;
        assert_eq!(done.done.len(), 4);
        let mut values = Vec::new();
        for future in done.done {
            values.push(future.await?);
        }
        values.sort_unstable();
        Ok::<_, prefect_core::Error>(values)
    });
    assert_eq!(h.run(flow).await.unwrap(), [0, 1, 4, 9]);
}

#[tokio::test]
async fn dependencies_wait_and_a_failed_upstream_makes_not_ready() {
    let h = testing::harness();
    let flow = flow_call(Flow::new("deps"), serde_json::json!({}), || async {
        let bad = task_call(Task::new("bad"), || async { Err::<u32, _>(Io::other("no")) }).submit();
        let after =
            task_call(Task::new("after"), || async { Ok::<_, Io>(1) }).wait_for(&[&bad]).return_state().await;
        assert_eq!((after.state_type(), after.name()), (StateType::Pending, "NotReady"));
        let tolerant = task_call(Task::new("tolerant"), || async { Ok::<_, Io>(2) });
        let first: Vec<_> = as_completed(vec![bad]).collect::<Vec<_>>().await;
        assert_eq!(first.len(), 1);
        tolerant.await
    });
    assert_eq!(h.run(flow).await.unwrap(), 2);
    assert!(h.task_runs_of("after").iter().all(|r| r.state().unwrap().name == "NotReady"));
}

#[tokio::test]
async fn a_map_keeps_input_order_and_indexes() {
    let h = testing::harness();
    let flow = flow_call(Flow::new("mapped"), serde_json::json!({}), || async {
        let items = vec![3u32, 1, 2];
        let call = prefect_core::__private_v1::map_call("double", Vec::new(), move || {
            let mut iter = items.into_iter();
            Ok(prefect_core::__private_v1::map_children(3, move |_| {
                let x = iter.next()?;
                Some(task_call(Task::new("double"), move || async move { Ok::<_, Io>(x * 2) }))
            }))
        });
        let values: Result<Vec<_>, _> = call.await.into_iter().collect();
        values
    });
    assert_eq!(h.run(flow).await.unwrap(), [6, 2, 4]);
    let mut indexes: Vec<_> = h.task_runs_of("double").iter().map(|r| r.map_index.unwrap()).collect();
    indexes.sort_unstable();
    assert_eq!(indexes, [0, 1, 2]);
}

#[tokio::test]
async fn a_cancelled_flow_future_cancels_its_running_tasks() {
    let h = testing::harness();
    let started = Arc::new(tokio::sync::Notify::new());
    let signal = started.clone();
    let future = h
        .run(async move {
            flow_call(Flow::new("long"), serde_json::json!({}), move || {
                let signal = signal.clone();
                async move {
                    task_call(Task::new("forever"), move || {
                        let signal = signal.clone();
                        async move {
                            signal.notify_one();
                            std::future::pending::<()>().await;
                            Ok::<_, Io>(())
                        }
                    })
                    .await
                }
            })
            .submit()
        })
        .await;
    started.notified().await;
    future.cancel();
    let state = future.final_state().await.unwrap();
    assert!(state.is_cancelled());
    assert_eq!(h.task_runs_of("forever")[0].state().unwrap().state_type, StateType::Cancelled);
}

#[tokio::test]
async fn a_cacheable_call_is_served_from_its_record() {
    let h = testing::harness();
    let storage = Arc::new(MemoryStorage::new());
    let runs = counter();
    let task = Task::new("answer")
        .source_hash("v1")
        .cache_policy(prefect_core::results::CachePolicy::TASK_SOURCE)
        .result_storage(storage.clone());
    for _ in 0..2 {
        let seen = runs.clone();
        let call = task_call(task.clone(), move || {
            seen.fetch_add(1, Ordering::SeqCst);
            async { Ok::<_, Io>(42u32) }
        });
        assert_eq!(h.run(call.cacheable()).await.unwrap(), 42);
    }
    assert_eq!(runs.load(Ordering::SeqCst), 1);
    let names: Vec<String> =
        h.task_runs_of("answer").iter().map(|r| r.state().unwrap().name.to_string()).collect();
    assert_eq!(names, ["Completed", "Cached"]);
}
