//! Two deployments served from this binary: an hourly API pull (cron, in
//! Berlin time) and a sync every 30 seconds (interval), each with its
//! parameters. `serve` registers them in the run database, schedules their
//! runs ahead, and runs them when due; Ctrl-C stops it (running flows
//! finish first) and pauses their schedules.
//!
//! ```text
//! cargo run --example serve                 # serve until Ctrl-C
//! cargo run --example serve -- --run-once   # run what is due, then exit
//! ```
//!
//! Meanwhile, in another terminal, start a run by hand with other
//! parameters and watch it (the CLI is `prefect-cli`'s `prefect` binary):
//!
//! ```text
//! cargo run -p prefect-cli -- deployment run pull/hourly -p endpoints='["users"]' --watch
//! ```

use std::time::Duration;

use prefect::prelude::*;

/// Pretends to pull one endpoint of an API.
#[task(retries = 2, retry_delay = "1s")]
async fn fetch(endpoint: String) -> usize {
    info!(%endpoint, "fetched 20 rows");
    20
}

#[flow]
async fn pull(endpoints: Vec<String>) -> Result<usize, prefect::Error> {
    let mut rows = 0;
    for endpoint in endpoints {
        rows += fetch(endpoint).await?;
    }
    info!(rows, "pull done");
    Ok(rows)
}

#[flow]
async fn sync(source: String, full: bool) -> String {
    info!(%source, full, "synced");
    format!("{source} synced")
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let hourly = pull::deployment("hourly")
        .cron(prefect::cron!("0 * * * *"), prefect::timezone!("Europe/Berlin"))
        .parameter("endpoints", ["orders", "customers"])
        .tags(["api"])
        .description("Pull the API every hour, on the hour");
    let frequent = sync::deployment("every-30s")
        .interval(Duration::from_secs(30))
        .parameters(serde_json::json!({ "source": "crm", "full": false }))
        .catchup(prefect::Catchup::Latest);
    let report = prefect::serve([hourly, frequent]).limit(4).run_once_from_args().await?;
    println!(
        "served: {} run(s) started, {} completed, {} failed, {} cancelled",
        report.started, report.completed, report.failed, report.cancelled
    );
    Ok(())
}
