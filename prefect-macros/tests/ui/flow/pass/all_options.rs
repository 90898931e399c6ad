//! Every `#[flow]` option at once, and the descriptor they build.

use std::time::Duration;

use prefect::prelude::*;

fn retry_if_io(ctx: &HookContext) -> bool {
    ctx.error_as::<std::io::Error>().is_some()
}

fn hook(_: &HookContext) {}

mod hooks {
    pub fn fallible(_: &prefect::HookContext) -> Result<(), std::io::Error> {
        Ok(())
    }
}

#[flow(
    name = "nightly-etl",
    description = "Loads everything.",
    version = "2",
    tags = ["etl"],
    retries = 1,
    retry_delay = exponential("10s"),
    retry_jitter = 0.1,
    retry_condition = retry_if_io,
    timeout = "2h",
    flow_run_name = "etl-{day}",
    on_running = [hook],
    on_completion = [hook, hooks::fallible],
    on_failure = hook,
    on_cancellation = [hook],
    on_crashed = [hooks::fallible],
    task_runner = sequential,
    crate = "prefect",
)]
async fn etl(day: String, limit: u32) -> Result<u32, std::io::Error> {
    Ok(day.len() as u32 + limit)
}

fn bounded() -> prefect::runner::ConcurrentTaskRunner {
    prefect::runner::ConcurrentTaskRunner::new().max_concurrency(2)
}

#[flow(task_runner = bounded)]
async fn daily_report() {}

#[flow(task_runner = concurrent)]
fn sync_flow() {}

fn main() {
    let options = etl::flow().options();
    assert_eq!(options.name(), "nightly-etl");
    assert_eq!(options.description(), Some("Loads everything."));
    assert_eq!(options.version(), Some("2"));
    assert_eq!(options.tags(), ["etl"]);
    assert_eq!(options.retries(), 1);
    assert_eq!(options.retry_delay().delay_for(1), Duration::from_secs(20));
    assert_eq!(options.timeout(), Some(Duration::from_secs(7200)));
    assert_eq!(daily_report::flow().options().name(), "daily-report");
    let _call: FlowCall<u32> = etl("mon".to_owned(), 1);
    let _call: FlowCall<()> = sync_flow();
}
