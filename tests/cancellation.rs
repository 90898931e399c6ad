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
    // Wait for the state, not the clock: the machine may be loaded.
    until(|| flow.state().is_some_and(|s| s.state_type == StateType::Running)).await;
    until(|| {
        h.task_runs().iter().filter(|t| t.state().is_some_and(|s| s.state_type == StateType::Running)).count()
            >= 4
    })
    .await;
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

/// Polls `condition` until it holds; fails after 20 s (a generous bound for
/// a loaded machine, not a timing assertion).
async fn until(condition: impl Fn() -> bool) {
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while !condition() {
        assert!(std::time::Instant::now() < deadline, "the awaited state never came");
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

/// Releases the sync bodies below, which block until told.
static RELEASE: std::sync::Mutex<Option<std::sync::mpsc::Receiver<()>>> = std::sync::Mutex::new(None);
static BODIES_DONE: AtomicUsize = AtomicUsize::new(0);

#[task(timeout = "50ms", tags = ["one-at-a-time"])]
fn overruns() -> u32 {
    let release = RELEASE.lock().unwrap().take();
    if let Some(release) = release {
        let _ = release.recv();
    }
    BODIES_DONE.fetch_add(1, Ordering::SeqCst);
    1
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_blocking_body_that_overruns_is_timed_out_on_time_and_keeps_its_slot() {
    prefect::concurrency::set_limit("one-at-a-time", 1);
    let (release, wait) = std::sync::mpsc::channel();
    *RELEASE.lock().unwrap() = Some(wait);
    let h = testing::harness();
    let state = h.run(overruns().return_state()).await;
    assert_eq!(state.name(), "TimedOut");
    assert_eq!(BODIES_DONE.load(Ordering::SeqCst), 0, "marked on time, while the body still runs");
    assert_eq!(
        prefect::concurrency::active_slots("one-at-a-time"),
        Some(1),
        "the slot stays held while the body's thread runs"
    );
    release.send(()).unwrap();
    until(|| prefect::concurrency::active_slots("one-at-a-time") == Some(0)).await;
    assert_eq!(BODIES_DONE.load(Ordering::SeqCst), 1);
    let logs = h.logs(h.task_runs()[0].id);
    assert!(
        logs.iter().any(|l| l.level == prefect::record::LogLevel::Warning && l.message.contains("discarded"))
    );
}

static SLOW_DONE: AtomicUsize = AtomicUsize::new(0);

#[task(tags = ["dropped-flow"])]
async fn holds_the_slot() {
    std::future::pending::<()>().await;
    SLOW_DONE.fetch_add(1, Ordering::SeqCst);
}

#[flow]
async fn abandoned() {
    let _child = holds_the_slot().submit();
    std::future::pending::<()>().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_a_flow_stops_its_runs_before_the_flow_ends() {
    prefect::concurrency::set_limit("dropped-flow", 1);
    let h = testing::harness();
    let h2 = h.clone();
    let running = tokio::spawn(async move { h2.run(abandoned()).await });
    until(|| prefect::concurrency::active_slots("dropped-flow") == Some(1)).await;
    running.abort();
    let _ = running.await;
    until(|| h.flow_runs().iter().any(|f| f.state().is_some_and(|s| s.is_final()))).await;
    let flow = &h.flow_runs()[0];
    let flow_end = flow.state().unwrap().timestamp;
    assert_eq!(flow.state().unwrap().state_type, StateType::Crashed);
    let child = &h.task_runs_of("holds_the_slot")[0];
    let child_end = child.state().unwrap();
    assert_eq!(child_end.state_type, StateType::Cancelled, "the flow's runs are stopped");
    assert!(child_end.timestamp <= flow_end, "no run of the flow ends after the flow");
    assert_eq!(prefect::concurrency::active_slots("dropped-flow"), Some(0), "its slot is free");
    assert_eq!(SLOW_DONE.load(Ordering::SeqCst), 0);
}

#[task(tags = ["db-queue"])]
async fn queued_on_the_database(i: u32) -> u32 {
    std::future::pending::<()>().await;
    i
}

#[flow]
async fn many_queued() {
    let runs: Vec<_> = (0..5).map(|i| queued_on_the_database(i).submit()).collect();
    for run in runs {
        let _ = run.await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelling_reaches_runs_queued_on_a_database_limit_at_once() {
    use prefect::store::{SqliteStore, StoreLimits};
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path().join("prefect.db")).unwrap();
    prefect::store::prelude::ConcurrencySlots::set_concurrency_limit(&store, "db-queue", 1).await.unwrap();
    let limits = std::sync::Arc::new(StoreLimits::new(std::sync::Arc::new(store.clone())));
    let h = testing::harness();
    let env = prefect::env::Env::new().recorder(h.recorder()).shared_limits(limits);
    let flow = env.run(async { many_queued().submit() }).await;
    until(|| {
        h.task_runs()
            .iter()
            .filter(|t| t.state().is_some_and(|s| s.name == "AwaitingConcurrencySlot"))
            .count()
            == 4
    })
    .await;
    let asked = std::time::Instant::now();
    flow.cancel();
    let state = flow.final_state().await.unwrap();
    assert!(state.is_cancelled(), "{state}");
    let waited = asked.elapsed();
    assert!(h.task_runs().iter().all(|t| t.state().unwrap().state_type == StateType::Cancelled));
    // Bounded, not timed: the backoff between tries reaches 1 s, and a
    // cancellation that waited for it took 4-13 s with five queued runs.
    assert!(waited < Duration::from_secs(3), "the queued runs noticed only after {waited:?}");
    let limit = prefect::store::prelude::ConcurrencySlots::concurrency_limit(&store, "db-queue")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(limit.active_slots, 0, "no slot was leaked by the cancelled waits");
}
