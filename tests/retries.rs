//! Retries, delays, jitter, retry conditions, timeouts and panics.
//! Delays are checked on tokio's paused clock: no test waits in real time.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use prefect::prelude::*;
use prefect::testing;
use tokio::time::Instant;

#[derive(Debug, thiserror::Error)]
#[error("boom")]
struct Boom;

/// Start times of each attempt, per test (tests in one binary run in parallel,
/// so each test uses its own task and its own static).
macro_rules! attempt_log {
    ($name:ident) => {
        static $name: Mutex<Vec<Instant>> = Mutex::new(Vec::new());
    };
}

fn gaps(log: &Mutex<Vec<Instant>>) -> Vec<Duration> {
    let times = log.lock().unwrap();
    times.windows(2).map(|w| w[1] - w[0]).collect()
}

attempt_log!(ALWAYS_FAILS);
#[task(retries = 3, retry_delay = "2s")]
async fn always_fails() -> Result<(), Boom> {
    ALWAYS_FAILS.lock().unwrap().push(Instant::now());
    Err(Boom)
}

#[tokio::test(start_paused = true)]
async fn three_retries_run_the_body_four_times_with_the_delay_each_time() {
    let h = testing::harness();
    let state = h.run(always_fails().return_state()).await;
    assert!(state.is_failed());
    let run = &h.task_runs()[0];
    assert_eq!(run.run_count, 4);
    assert_eq!(
        run.state_names(),
        [
            "Pending",
            "Running",
            "AwaitingRetry",
            "Retrying",
            "AwaitingRetry",
            "Retrying",
            "AwaitingRetry",
            "Retrying",
            "Failed"
        ]
    );
    let types: Vec<StateType> = run.states.iter().map(|s| s.state_type).collect();
    assert_eq!(types[2], StateType::Scheduled);
    assert_eq!(types[3], StateType::Running);
    assert!(run.states[2].scheduled_time.is_some(), "AwaitingRetry says when the retry is due");
    assert_eq!(gaps(&ALWAYS_FAILS), [Duration::from_secs(2); 3]);
    let stamps: Vec<_> = run.states.iter().map(|s| s.timestamp).collect();
    assert!(stamps.windows(2).all(|w| w[0] < w[1]), "timestamps strictly increase");
}

attempt_log!(NO_DELAY);
#[task(retries = 2)]
async fn fails_without_delay() -> Result<(), Boom> {
    NO_DELAY.lock().unwrap().push(Instant::now());
    Err(Boom)
}

#[tokio::test(start_paused = true)]
async fn a_zero_delay_goes_straight_to_retrying() {
    let h = testing::harness();
    h.run(fails_without_delay().return_state()).await;
    let run = &h.task_runs()[0];
    assert_eq!(run.state_names(), ["Pending", "Running", "Retrying", "Retrying", "Failed"]);
    assert_eq!(gaps(&NO_DELAY), [Duration::ZERO; 2]);
    // run_count is recorded with each state: 1 on Running, then 2 and 3.
    let counts: Vec<u32> = h
        .events()
        .iter()
        .filter_map(|e| match e {
            prefect::record::Event::StateChanged(c) if c.state.state_type == StateType::Running => {
                Some(c.run_count)
            }
            _ => None,
        })
        .collect();
    assert_eq!(counts, [1, 2, 3]);
}

attempt_log!(LISTED);
#[task(retries = 4, retry_delay = ["1s", "10s", "1m"])]
async fn listed_delays() -> Result<(), Boom> {
    LISTED.lock().unwrap().push(Instant::now());
    Err(Boom)
}

#[tokio::test(start_paused = true)]
async fn a_delay_list_is_used_in_order_and_its_last_value_repeats() {
    testing::harness().run(listed_delays().return_state()).await;
    let s = Duration::from_secs;
    assert_eq!(gaps(&LISTED), [s(1), s(10), s(60), s(60)]);
}

attempt_log!(EXPONENTIAL);
#[task(retries = 4, retry_delay = exponential("1s"))]
async fn exponential_delays() -> Result<(), Boom> {
    EXPONENTIAL.lock().unwrap().push(Instant::now());
    Err(Boom)
}

#[tokio::test(start_paused = true)]
async fn exponential_backoff_doubles() {
    testing::harness().run(exponential_delays().return_state()).await;
    let s = Duration::from_secs;
    assert_eq!(gaps(&EXPONENTIAL), [s(1), s(2), s(4), s(8)]);
}

attempt_log!(JITTERED);
#[task(retries = 20, retry_delay = "10s", retry_jitter = 0.5)]
async fn jittered() -> Result<(), Boom> {
    JITTERED.lock().unwrap().push(Instant::now());
    Err(Boom)
}

#[tokio::test(start_paused = true)]
async fn jitter_really_spreads_the_delays() {
    testing::harness().run(jittered().return_state()).await;
    let gaps = gaps(&JITTERED);
    assert_eq!(gaps.len(), 20);
    let (lo, hi) = (Duration::from_secs(5), Duration::from_millis(15_001));
    assert!(gaps.iter().all(|g| *g >= lo && *g <= hi), "{gaps:?}");
    let distinct: std::collections::HashSet<_> = gaps.iter().collect();
    assert!(distinct.len() >= 10, "jitter must vary the delays: {gaps:?}");
}

#[derive(Debug, thiserror::Error)]
enum ApiError {
    #[error("rate limited")]
    RateLimited,
    #[error("not found")]
    NotFound,
}

fn retry_if_rate_limited(ctx: &HookContext) -> bool {
    assert_eq!(ctx.state().state_type, StateType::Failed, "the condition sees the failed state");
    matches!(ctx.error_as::<ApiError>(), Some(ApiError::RateLimited))
}

static CONDITIONAL_CALLS: AtomicU32 = AtomicU32::new(0);
#[task(retries = 5, retry_condition = retry_if_rate_limited)]
async fn conditional(fail_with: u8) -> Result<(), ApiError> {
    let n = CONDITIONAL_CALLS.fetch_add(1, Ordering::SeqCst);
    match (fail_with, n) {
        (0, 0) => Err(ApiError::RateLimited),
        (0, _) => Ok(()),
        _ => Err(ApiError::NotFound),
    }
}

#[tokio::test]
async fn a_retry_condition_decides_per_failure() {
    let h = testing::harness();
    h.run(conditional(0)).await.unwrap();
    let state = h.run(conditional(1).return_state()).await;
    assert!(state.is_failed());
    let runs = h.task_runs();
    assert_eq!(runs[0].run_count, 2, "rate limited: retried once, then succeeded");
    assert_eq!(runs[1].run_count, 1, "not found: the condition said no");
    assert_eq!(runs[1].state_names(), ["Pending", "Running", "Failed"]);
}

static SLOW_CALLS: AtomicU32 = AtomicU32::new(0);
#[task(retries = 2, timeout = "1s")]
async fn slow_then_fast() -> u32 {
    let n = SLOW_CALLS.fetch_add(1, Ordering::SeqCst);
    if n < 2 {
        // Each attempt gets a fresh deadline: 900ms per attempt never times out
        // across attempts, 5s always does.
        tokio::time::sleep(Duration::from_secs(5)).await;
    } else {
        tokio::time::sleep(Duration::from_millis(900)).await;
    }
    n
}

#[tokio::test(start_paused = true)]
async fn a_timeout_fails_the_attempt_named_timed_out_and_each_retry_gets_a_fresh_deadline() {
    let h = testing::harness();
    let start = Instant::now();
    assert_eq!(h.run(slow_then_fast()).await.unwrap(), 2);
    let run = &h.task_runs()[0];
    assert_eq!(run.run_count, 3);
    assert_eq!(run.state_names(), ["Pending", "Running", "Retrying", "Retrying", "Completed"]);
    assert_eq!(
        start.elapsed(),
        Duration::from_millis(2_900),
        "1s + 1s + 0.9s: timed-out attempts were stopped"
    );
}

#[task(timeout = "50ms")]
async fn never_finishes() {
    std::future::pending::<()>().await;
}

#[tokio::test(start_paused = true)]
async fn a_timeout_without_retries_ends_failed_timed_out() {
    let h = testing::harness();
    let err = h.run(never_finishes()).await.unwrap_err();
    assert!(err.is_timeout());
    let state = err.state().unwrap();
    assert_eq!((state.state_type, &*state.name), (StateType::Failed, "TimedOut"));
    assert_eq!(state.message.as_deref(), Some("Task run exceeded timeout of 50ms"));
}

#[task]
async fn panics(x: u32) -> u32 {
    if x > 0 {
        panic!("cannot handle {x}");
    }
    x
}

#[task]
fn panics_sync() -> u32 {
    panic!("sync body gave up");
}

#[tokio::test]
async fn a_panic_ends_the_run_failed_and_the_process_goes_on() {
    let h = testing::harness();
    let state = h.run(panics(7).return_state()).await;
    assert!(state.is_failed());
    assert_eq!(state.message(), Some("panicked: cannot handle 7"));
    let state = h.run(panics_sync().return_state()).await;
    assert_eq!(state.message(), Some("panicked: sync body gave up"));
    assert_eq!(h.run(panics(0)).await.unwrap(), 0, "later calls still run");
}

#[flow(retries = 2)]
async fn flaky_flow(attempts: std::sync::Arc<AtomicU32>) -> Result<u32, Boom> {
    let n = attempts.fetch_add(1, Ordering::SeqCst) + 1;
    assert_eq!(prefect::context::flow_run().unwrap().run_count(), n);
    if n < 3 { Err(Boom) } else { Ok(n) }
}

#[tokio::test]
async fn flow_retries_rerun_the_body() {
    let h = testing::harness();
    let attempts = std::sync::Arc::new(AtomicU32::new(0));
    assert_eq!(h.run(flaky_flow(attempts.clone())).await.unwrap(), 3);
    let run = &h.flow_runs()[0];
    assert_eq!(run.run_count, 3);
    assert_eq!(run.state_names(), ["Pending", "Running", "Retrying", "Retrying", "Completed"]);
}

#[task(timeout = "20ms")]
async fn blocks_its_thread() -> u32 {
    // The mistake under test: blocking code in an async body.
    std::thread::sleep(Duration::from_millis(150));
    7
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_async_body_that_blocks_past_its_timeout_is_named_and_ends_timed_out() {
    let h = testing::harness();
    let err = h.run(blocks_its_thread()).await.unwrap_err();
    assert!(err.is_timeout(), "{err}");
    let run = &h.task_runs_of("blocks_its_thread")[0];
    let warning = h
        .logs(run.id)
        .into_iter()
        .find(|l| l.level == prefect::record::LogLevel::Warning)
        .expect("a warning about the blocking body");
    assert!(
        warning.message.contains("The async body of 'blocks_its_thread' blocked its thread"),
        "{}",
        warning.message
    );
    assert!(warning.message.contains("make it a sync #[task]"), "{}", warning.message);
}
