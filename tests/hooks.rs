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
    let logs = h.logs(h.task_runs()[0].id);
    assert!(logs.iter().any(|l| l.message.contains("hook exploded")), "a failing hook is logged");
    assert!(logs.iter().any(|l| l.message.contains("hook panicked")), "a panicking hook is logged");

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
