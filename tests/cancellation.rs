//! Cancelling a flow run: Cancelling then Cancelled, its tasks Cancelled,
//! on_cancellation hooks, and no tokio task left behind. Timeouts of sync
//! bodies.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use prefect::prelude::*;
use prefect::testing;

static CANCEL_HOOKS: AtomicUsize = AtomicUsize::new(0);

fn on_cancel(ctx: &HookContext) {
    assert_eq!(ctx.state().state_type, StateType::Cancelled);
    CANCEL_HOOKS.fetch_add(1, Ordering::SeqCst);
}

#[task]
async fn forever(i: u64) -> u64 {
    std::future::pending::<()>().await;
    i
}

#[flow]
async fn inner_forever() {
    forever(99).await.unwrap();
}

#[flow(on_cancellation = [on_cancel])]
async fn long_running() {
    let background: Vec<_> = (0..3).map(|i| forever(i).submit()).collect();
    let _subflow = inner_forever().submit();
    forever(100).await.unwrap();
    drop(background);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelling_a_flow_cancels_its_tasks_and_runs_its_hooks() {
    let metrics = tokio::runtime::Handle::current().metrics();
    let before = metrics.num_alive_tasks();
    let h = testing::harness();
    let flow = h.run(async { long_running().submit() }).await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(flow.state().unwrap().state_type, StateType::Running);
    flow.cancel();
    let state = flow.final_state().await.unwrap();
    assert!(state.is_cancelled(), "{state}");
    assert_eq!(CANCEL_HOOKS.load(Ordering::SeqCst), 1);

    let runs = h.flow_runs();
    let outer = runs.iter().find(|r| r.flow_name == "long-running").unwrap();
    assert_eq!(outer.state_names(), ["Pending", "Running", "Cancelling", "Cancelled"]);
    let inner = runs.iter().find(|r| r.flow_name == "inner-forever").unwrap();
    assert_eq!(inner.state().unwrap().state_type, StateType::Cancelled, "subflows are cancelled too");
    let tasks: Vec<_> = h.task_runs().into_iter().filter(|t| t.task_name == "forever").collect();
    assert_eq!(tasks.len(), 5);
    assert!(tasks.iter().all(|t| t.state().unwrap().state_type == StateType::Cancelled));

    // Every spawned run has ended: no tokio task is left behind.
    let mut alive = metrics.num_alive_tasks();
    for _ in 0..100 {
        if alive <= before {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
        alive = metrics.num_alive_tasks();
    }
    assert_eq!(alive, before);
}

#[task(timeout = "50ms")]
fn overruns() -> u32 {
    std::thread::sleep(Duration::from_millis(300));
    1
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_blocking_body_that_overruns_is_timed_out_on_time_with_a_warning() {
    let h = testing::harness();
    let start = std::time::Instant::now();
    let state = h.run(overruns().return_state()).await;
    let elapsed = start.elapsed();
    assert_eq!(state.name(), "TimedOut");
    assert!(
        elapsed < Duration::from_millis(250),
        "marked on time, not when the thread returned: {elapsed:?}"
    );
    let logs = h.logs(h.task_runs()[0].id);
    assert!(
        logs.iter().any(|l| l.level == prefect::record::LogLevel::Warning && l.message.contains("discarded"))
    );
}
