//! A map of 2,000 tasks: on a terminal it draws a progress bar with counts
//! per state, prints the failures, and ends with one summary line.
//!
//! ```text
//! cargo run --example map_progress
//! PREFECT_LOGGING_PROGRESS=false cargo run --example map_progress   # one line per task run
//! ```

use std::time::Duration;

use prefect::prelude::*;

#[task(retries = 0)]
async fn check(id: u32) -> Result<u32, String> {
    // Some work that takes a moment, so the bar has something to show.
    tokio::time::sleep(Duration::from_millis(20 + u64::from(id % 20))).await;
    if id % 500 == 499 { Err(format!("record {id} is malformed")) } else { Ok(id) }
}

#[flow]
async fn nightly_checks() -> Result<usize, prefect::Error> {
    let results = check::map((0..2_000).collect::<Vec<u32>>()).limit(32).await;
    let passed = results.iter().filter(|r| r.is_ok()).count();
    info!(passed, "checks done");
    Ok(passed)
}

#[tokio::main]
async fn main() -> Result<(), prefect::Error> {
    let passed = nightly_checks().await?;
    println!("{passed} of 2000 records passed");
    Ok(())
}
