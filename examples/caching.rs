//! Caching an expensive task by its inputs, and persisting a flow's value.
//!
//! Run it twice with `cargo run --example caching`: the first run computes
//! and stores each record under `$PREFECT_HOME/storage` (`~/.prefect` by
//! default); the second, a new process, is served from those records and
//! finishes at once, its task runs in state `Cached`.

use std::time::Duration;

use prefect::prelude::*;

/// Pretends to be slow: one second per city, then cached for a day. The key
/// is the task's name, a hash of its source (editing the body invalidates
/// the records) and the hashed inputs, the same on every machine.
#[task(cache_key = input_hash, cache_expiration = "1d", retries = 2)]
async fn forecast(city: String, days: u32) -> Result<Vec<i32>, std::io::Error> {
    tokio::time::sleep(Duration::from_secs(1)).await;
    let base = city.bytes().map(i32::from).sum::<i32>() % 9;
    Ok((0..days as i32).map(|d| 10 + base + d % 3).collect())
}

/// The flow's value is stored as `reports/<n>-cities.json`; read it back
/// anywhere with `prefect::results::load("reports/3-cities.json")`.
#[flow(persist_result = true, result_storage_key = "reports/{parameters.n}-cities.json")]
async fn weekly_report(n: usize) -> Result<Vec<(String, i32)>, prefect::Error> {
    let cities = ["Lyon", "Oslo", "Lima"].map(String::from);
    let forecasts = forecast::map(cities[..n].to_vec(), prefect::futures::unmapped(7)).await;
    let mut report = Vec::new();
    for (city, forecast) in cities.into_iter().zip(forecasts) {
        report.push((city, forecast?.into_iter().max().unwrap_or(0)));
    }
    Ok(report)
}

#[tokio::main]
async fn main() -> Result<(), prefect::Error> {
    let started = std::time::Instant::now();
    let report = weekly_report(3).await?;
    println!("report: {report:?} in {:.2?}", started.elapsed());
    let stored: Vec<(String, i32)> = prefect::results::load("reports/3-cities.json")?;
    assert_eq!(stored, report);
    println!("read back from the result storage: {stored:?}");
    Ok(())
}
