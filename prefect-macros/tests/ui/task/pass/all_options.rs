//! Every `#[task]` option at once, and the descriptor they build.

use std::time::Duration;

use prefect::prelude::*;

fn transient(ctx: &HookContext) -> bool {
    ctx.error().is_some()
}

fn log_running(_: &HookContext) {}

fn log_done(_: &HookContext) -> Result<(), std::io::Error> {
    Ok(())
}

#[task(
    name = "fetch-page",
    description = "Fetches one page.",
    version = "1.2.0",
    tags = ["api", "io"],
    retries = 3,
    retry_delay = ["1s", "10s", "1m"],
    retry_jitter = 0.5,
    retry_condition = transient,
    timeout = "30s",
    task_run_name = "fetch-{url}-{{literal}}",
    on_running = log_running,
    on_completion = [log_done, log_running],
    on_failure = [self::log_running],
    crate = "::prefect",
)]
async fn fetch(url: String, page: u32) -> Result<String, std::io::Error> {
    Ok(format!("{url}?page={page}"))
}

#[task(retry_delay = exponential("2s"), retries = 1, retry_jitter = 1)]
async fn backoff() {}

#[task(retry_delay = "1m 30s", timeout = "1h")]
async fn fixed() {}

fn main() {
    let options = fetch::task().options();
    assert_eq!(options.name(), "fetch-page");
    assert_eq!(options.description(), Some("Fetches one page."));
    assert_eq!(options.version(), Some("1.2.0"));
    assert_eq!(options.tags(), ["api", "io"]);
    assert_eq!(options.retries(), 3);
    assert_eq!(options.retry_delay().delay_for(1), Duration::from_secs(10));
    assert_eq!(options.retry_delay().delay_for(9), Duration::from_secs(60));
    assert_eq!(options.retry_jitter(), 0.5);
    assert_eq!(options.timeout(), Some(Duration::from_secs(30)));
    assert_eq!(backoff::task().options().retry_delay().delay_for(2), Duration::from_secs(8));
    assert_eq!(backoff::task().options().retry_jitter(), 1.0);
    assert_eq!(fixed::task().options().retry_delay().delay_for(0), Duration::from_secs(90));
    assert_eq!(fixed::task().options().name(), "fixed");
    let _call: TaskCall<String> = fetch("https://example.invalid".to_owned(), 2);
    let _unit: TaskCall<()> = backoff();
}
