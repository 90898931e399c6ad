//! Flows wait for what they submitted; task runners; concurrency limits.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use prefect::prelude::*;
use prefect::runner::{ConcurrentTaskRunner, SequentialTaskRunner};
use prefect::{concurrency, testing};

static FINISHED: AtomicUsize = AtomicUsize::new(0);

#[task]
async fn background(ms: u64) {
    tokio::time::sleep(Duration::from_millis(ms)).await;
    FINISHED.fetch_add(1, Ordering::SeqCst);
}

#[task]
async fn broken() -> Result<(), std::io::Error> {
    Err(std::io::Error::other("nobody is watching"))
}

#[flow]
async fn forgets_its_futures() {
    let _ = background(50).submit();
    let _ = background(80).submit();
    let _ = broken().submit();
}

#[tokio::test(start_paused = true)]
async fn a_flow_waits_for_every_submitted_task_before_its_final_state() {
    let h = testing::harness();
    h.run(forgets_its_futures()).await.unwrap();
    assert_eq!(FINISHED.load(Ordering::SeqCst), 2, "nothing keeps running after the flow ends");
    let flow = &h.flow_runs()[0];
    assert_eq!(
        flow.state().unwrap().state_type,
        StateType::Completed,
        "an unawaited failure does not fail the flow"
    );
    let last_task_end = h.task_runs().iter().map(|t| t.state().unwrap().timestamp).max().unwrap();
    assert!(flow.state().unwrap().timestamp > last_task_end);
    let warning =
        h.logs(flow.id).into_iter().find(|l| l.level == prefect::record::LogLevel::Warning).unwrap();
    assert!(warning.message.contains("its future was dropped without being awaited"), "{}", warning.message);
}

static ORDER: Mutex<Vec<u64>> = Mutex::new(Vec::new());

#[task]
async fn note(x: u64) {
    tokio::time::sleep(Duration::from_millis(10 * (5 - x))).await;
    ORDER.lock().unwrap().push(x);
}

#[flow(task_runner = sequential)]
async fn one_at_a_time() {
    let futures: Vec<_> = (0..5).map(|i| note(i).submit()).collect();
    for f in futures {
        f.await.unwrap();
    }
}

#[tokio::test(start_paused = true)]
async fn the_sequential_runner_runs_in_submission_order() {
    testing::harness().run(one_at_a_time()).await.unwrap();
    assert_eq!(*ORDER.lock().unwrap(), [0, 1, 2, 3, 4], "later ones would finish first if concurrent");
}

static RUNNING: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

#[task]
fn blocking_work(ms: u64) {
    let now = RUNNING.fetch_add(1, Ordering::SeqCst) + 1;
    PEAK.fetch_max(now, Ordering::SeqCst);
    std::thread::sleep(Duration::from_millis(ms));
    RUNNING.fetch_sub(1, Ordering::SeqCst);
}

fn two_blocking() -> ConcurrentTaskRunner {
    ConcurrentTaskRunner::new().max_blocking(2)
}

#[flow(task_runner = two_blocking)]
async fn bounded_blocking() {
    let futures: Vec<_> = (0..6).map(|_| blocking_work(20).submit()).collect();
    for f in futures {
        f.await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blocking_bodies_are_bounded_by_the_runner() {
    testing::harness().run(bounded_blocking()).await.unwrap();
    assert_eq!(PEAK.load(Ordering::SeqCst), 2);
}

#[flow]
async fn runner_at_call_time() -> u64 {
    let a = scale_up(1).submit();
    let b = scale_up(2).submit();
    a.await.unwrap() + b.await.unwrap()
}

#[task]
async fn scale_up(x: u64) -> u64 {
    x * 100
}

#[tokio::test]
async fn a_runner_can_be_chosen_at_run_time() {
    let h = testing::harness();
    let value = h
        .run(runner_at_call_time().with_options(|f| f.task_runner(SequentialTaskRunner::new)))
        .await
        .unwrap();
    assert_eq!(value, 300);
}

#[task(tags = ["api"])]
async fn api_call(ms: u64) -> usize {
    tokio::time::sleep(Duration::from_millis(ms)).await;
    concurrency::active_slots("api").unwrap()
}

#[tokio::test(start_paused = true)]
async fn tag_limits_bound_runs_and_waiting_runs_are_awaiting_a_slot() {
    concurrency::set_limit("api", 2);
    let h = testing::harness();
    let start = tokio::time::Instant::now();
    let seen: Vec<usize> = h
        .run(async {
            let futures: Vec<_> = (0..5).map(|_| api_call(100).submit()).collect();
            let mut seen = Vec::new();
            for f in futures {
                seen.push(f.await.unwrap());
            }
            seen
        })
        .await;
    assert!(seen.iter().all(|n| *n <= 2), "{seen:?}");
    assert_eq!(start.elapsed(), Duration::from_millis(300), "5 runs, 2 at a time: three waves");
    let waited =
        h.task_runs().iter().filter(|r| r.state_names().contains(&"AwaitingConcurrencySlot")).count();
    assert_eq!(waited, 3);
    let waiting =
        h.task_runs().into_iter().find(|r| r.state_names().contains(&"AwaitingConcurrencySlot")).unwrap();
    assert_eq!(waiting.states[1].state_type, StateType::Pending);
    assert_eq!(concurrency::active_slots("api"), Some(0));
}

#[task(tags = ["frozen"])]
async fn frozen() {}

#[task(tags = ["fragile"], timeout = "10ms")]
async fn fragile(mode: u8) {
    match mode {
        0 => panic!("boom"),
        1 => std::future::pending::<()>().await,
        3 => tokio::time::sleep(Duration::from_millis(5)).await,
        _ => {}
    }
}

#[tokio::test(start_paused = true)]
async fn limit_zero_aborts_and_slots_are_released_on_every_ending() {
    concurrency::set_limit("frozen", 0);
    concurrency::set_limit("fragile", 1);
    let h = testing::harness();
    let state = h.run(frozen().return_state()).await;
    assert!(state.is_cancelled());
    assert!(state.message().unwrap().contains("'frozen' is 0"), "{state}");

    assert!(h.run(fragile(0).return_state()).await.is_failed());
    assert!(h.run(fragile(1).return_state()).await.is_failed());
    let dropped = tokio::time::timeout(Duration::from_millis(1), h.run(holds_a_slot())).await;
    assert!(dropped.is_err());
    let interrupted = h.task_runs().pop().unwrap();
    assert_eq!(interrupted.state().unwrap().state_type, StateType::Crashed, "dropped while holding the slot");
    assert_eq!(
        concurrency::active_slots("fragile"),
        Some(0),
        "panic, timeout and drop all released the slot"
    );
    assert!(h.run(fragile(2).return_state()).await.is_completed(), "the slot is free for the next run");
}

#[flow]
async fn holds_a_slot() {
    fragile(3).await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn named_guards_and_rate_limits() {
    let h = prefect::testing::harness();
    h.run(async {
        concurrency::set_limit("db-pool", 1);
        let first = concurrency::concurrency("db-pool", 1).await;
        assert_eq!(concurrency::active_slots("db-pool"), Some(1));
        let waiting = tokio::spawn(async {
            let _guard = concurrency::concurrency("db-pool", 1).await;
        });
        tokio::time::sleep(Duration::from_millis(5)).await;
        assert!(!waiting.is_finished(), "the second holder waits");
        drop(first);
        waiting.await.unwrap();

        concurrency::set_rate_limit("calls", 2, 10.0);
        let start = tokio::time::Instant::now();
        for _ in 0..4 {
            concurrency::rate_limit("calls").await;
        }
        // Two at once, then one every 100 ms.
        assert_eq!(start.elapsed(), Duration::from_millis(200));

        let _unknown = concurrency::concurrency("no-such-limit", 1).await; // runs unblocked, warns once
    })
    .await;
}

static LIMITED_RUNNING: AtomicUsize = AtomicUsize::new(0);
static LIMITED_PEAK: AtomicUsize = AtomicUsize::new(0);

#[task]
async fn counted() {
    let now = LIMITED_RUNNING.fetch_add(1, Ordering::SeqCst) + 1;
    LIMITED_PEAK.fetch_max(now, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(10)).await;
    LIMITED_RUNNING.fetch_sub(1, Ordering::SeqCst);
}

fn three_at_a_time() -> ConcurrentTaskRunner {
    ConcurrentTaskRunner::new().max_concurrency(3)
}

#[flow(task_runner = three_at_a_time)]
async fn bounded_flow() {
    let futures: Vec<_> = (0..10).map(|_| counted().submit()).collect();
    for f in futures {
        f.await.unwrap();
    }
}

#[tokio::test(start_paused = true)]
async fn the_concurrent_runner_can_bound_concurrency() {
    testing::harness().run(bounded_flow()).await.unwrap();
    assert_eq!(LIMITED_PEAK.load(Ordering::SeqCst), 3);
}

#[task(tags = ["db", "s3"])]
async fn needs_both() {
    tokio::time::sleep(Duration::from_millis(10)).await;
}

#[task(tags = ["s3"])]
async fn needs_s3() {
    tokio::time::sleep(Duration::from_millis(10)).await;
}

#[tokio::test(start_paused = true)]
async fn a_run_with_several_limited_tags_needs_a_slot_of_each() {
    concurrency::set_limit("db", 5);
    concurrency::set_limit("s3", 1);
    let h = testing::harness();
    let start = tokio::time::Instant::now();
    h.run(async {
        let a = needs_s3().submit();
        let b = needs_both().submit();
        a.await.unwrap();
        b.await.unwrap();
    })
    .await;
    assert_eq!(start.elapsed(), Duration::from_millis(20), "the db slot was free, the s3 slot was not");
    let both = h.task_runs_of("needs_both").pop().unwrap();
    assert!(both.state_names().contains(&"AwaitingConcurrencySlot"));
    assert_eq!((concurrency::active_slots("db"), concurrency::active_slots("s3")), (Some(0), Some(0)));
}

#[task(tags = ["nested-limit"])]
async fn inner_tagged(x: u32) -> u32 {
    x + 1
}

#[task(tags = ["nested-limit"])]
async fn outer_tagged(x: u32) -> u32 {
    // Called while this run holds the tag's only slot: the nested run goes
    // under it instead of waiting for it forever.
    inner_tagged(x).await.unwrap() * 10
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_nested_run_with_its_callers_tag_runs_under_the_callers_slot() {
    concurrency::set_limit("nested-limit", 1);
    let h = testing::harness();
    let value = tokio::time::timeout(std::time::Duration::from_secs(20), h.run(outer_tagged(1)))
        .await
        .expect("the nested run deadlocked on its caller's slot");
    assert_eq!(value.unwrap(), 20);
    assert_eq!(concurrency::active_slots("nested-limit"), Some(0));
    let inner = &h.task_runs_of("inner_tagged")[0];
    assert_eq!(inner.state_names(), ["Pending", "Running", "Completed"], "it never waited for a slot");
}
