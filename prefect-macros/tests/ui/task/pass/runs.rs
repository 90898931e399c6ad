//! The generated code drives real runs: names, run-name templates, retries with
//! cloned arguments, direct calls.

use std::sync::atomic::{AtomicU32, Ordering};

use prefect::prelude::*;

static ATTEMPTS: AtomicU32 = AtomicU32::new(0);

#[derive(Debug)]
struct Flaky;

impl std::fmt::Display for Flaky {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("flaky")
    }
}

impl std::error::Error for Flaky {}

#[task(retries = 2, task_run_name = "fetch-{url}-{{x}}")]
async fn fetch(url: String, page: u32) -> Result<String, Flaky> {
    if ATTEMPTS.fetch_add(1, Ordering::SeqCst) < 2 {
        return Err(Flaky);
    }
    Ok(format!("{url}#{page}"))
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    // A pass case must print nothing: trybuild shows a program\'s output.
    prefect::logging::init_with_level("off").unwrap();
    let harness = prefect::testing::harness();
    let body = harness.run(fetch("u".to_owned(), 7)).await.unwrap();
    assert_eq!(body, "u#7");
    let runs = harness.task_runs_of("fetch");
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].run_count, 3);
    assert_eq!(runs[0].record.name, "fetch-u-{x}");
    assert_eq!(fetch::call_direct("v".to_owned(), 1).await.unwrap(), "v#1");
    assert_eq!(harness.task_runs().len(), 1, "call_direct records nothing");
}
