//! Hooks: once per final state, in order, inside the run's context; a
//! failing hook is logged and changes nothing.

use std::sync::Mutex;

use prefect::prelude::*;
use prefect::testing;

static SEEN: Mutex<Vec<String>> = Mutex::new(Vec::new());

fn seen() -> Vec<String> {
    std::mem::take(&mut *SEEN.lock().unwrap())
}

fn note(what: &str, ctx: &HookContext) {
    let run = match ctx.task_run() {
        Some(t) => format!("{}#{}", t.task_name(), t.run_count()),
        None => ctx.flow_run().unwrap().flow_name().to_string(),
    };
    SEEN.lock().unwrap().push(format!("{what}:{run}:{}", ctx.state().name));
}

fn first(ctx: &HookContext) {
    note("first", ctx);
}

fn second(ctx: &HookContext) {
    note("second", ctx);
}

fn broken(_ctx: &HookContext) -> Result<(), std::io::Error> {
    Err(std::io::Error::other("hook exploded"))
}

fn panicking(_ctx: &HookContext) {
    panic!("hook panicked");
}

fn on_running(ctx: &HookContext) {
    // Hooks run inside the run's context.
    let task = prefect::context::task_run().expect("inside the task run");
    assert_eq!(task.id(), ctx.task_run().unwrap().id());
    note("running", ctx);
}

fn failed(ctx: &HookContext) {
    assert!(ctx.error().is_some(), "on_failure sees the error");
    note("failure", ctx);
}

#[derive(Debug, thiserror::Error)]
#[error("nope")]
struct Nope;

#[task(
    retries = 2,
    on_running = [on_running],
    on_completion = [first, broken, panicking, second],
    on_failure = [failed]
)]
async fn hooked(fail: bool) -> Result<u8, Nope> {
    if fail { Err(Nope) } else { Ok(1) }
}

#[flow(on_completion = [first], on_failure = [failed], on_crashed = [second])]
async fn hooked_flow(hang: bool) -> u8 {
    if hang {
        std::future::pending::<()>().await;
    }
    hooked(false).await.unwrap()
}

// One test so the shared SEEN log is not interleaved between tests.
#[tokio::test(start_paused = true)]
async fn hooks_run_in_order_once_per_final_state() {
    let h = testing::harness();

    assert_eq!(h.run(hooked(false)).await.unwrap(), 1, "failing hooks do not change the state");
    assert_eq!(seen(), ["running:hooked#1:Running", "first:hooked#1:Completed", "second:hooked#1:Completed"]);
    let logs: Vec<String> = h.logs(h.task_runs()[0].id).into_iter().map(|l| l.message).collect();
    assert!(logs.iter().any(|l| l.contains("hook exploded")), "a failing hook is logged");
    assert!(logs.iter().any(|l| l.contains("hook panicked")), "a panicking hook is logged");
    assert!(
        logs.iter().any(|l| l == "Hook 'first' finished running successfully"),
        "each hook is logged by name: {logs:?}"
    );
    assert!(logs.iter().any(|l| l.starts_with("Hook 'broken' for state Completed failed")), "{logs:?}");

    let state = h.run(hooked(true).return_state()).await;
    assert!(state.is_failed());
    assert_eq!(
        seen(),
        [
            "running:hooked#1:Running",
            "running:hooked#2:Retrying",
            "running:hooked#3:Retrying",
            "failure:hooked#3:Failed"
        ],
        "on_running at every attempt; on_failure once, after the retries"
    );

    h.run(hooked_flow(false)).await.unwrap();
    let flow_hooks: Vec<String> = seen().into_iter().filter(|s| s.contains("hooked-flow")).collect();
    assert_eq!(flow_hooks, ["first:hooked-flow:Completed"]);

    // A flow whose future is dropped mid-run was interrupted: Crashed, on_crashed runs.
    let timed = tokio::time::timeout(std::time::Duration::from_secs(1), h.run(hooked_flow(true))).await;
    assert!(timed.is_err());
    assert_eq!(seen(), ["second:hooked-flow:Crashed"]);
    let crashed = h.flow_runs().pop().unwrap();
    assert_eq!(crashed.state_names(), ["Pending", "Running", "Crashed"]);
}

static CANCELLED_HOOKS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
static CRASHED_HOOKS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

fn count_cancelled(_: &HookContext) {
    CANCELLED_HOOKS.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
}

fn count_crashed(_: &HookContext) {
    CRASHED_HOOKS.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
}

#[flow(on_cancellation = [count_cancelled], on_crashed = [count_crashed])]
async fn ends_in(state_type: String) -> State<u8> {
    let state_type: StateType = state_type.parse().unwrap();
    State::from_meta(prefect::StateMeta::new(state_type).with_message("chosen by the body"))
}

#[tokio::test]
async fn a_returned_state_is_the_runs_last_and_picks_its_hooks() {
    use std::sync::atomic::Ordering::SeqCst;
    let h = testing::harness();
    for (state_type, name) in [("paused", "Paused"), ("pending", "Pending"), ("cancelling", "Cancelling")] {
        let state = h.run(ends_in(state_type.into()).return_state()).await;
        assert_eq!(state.name(), name);
        let run = h.flow_runs().pop().unwrap();
        assert_eq!(run.state_names(), ["Pending", "Running", name], "nothing is appended after it");
    }
    assert_eq!(CANCELLED_HOOKS.load(SeqCst), 1, "a returned Cancelling runs on_cancellation");
    assert_eq!(CRASHED_HOOKS.load(SeqCst), 0, "no spurious Crashed");
}
