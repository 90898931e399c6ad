//! Records a flow into PostgreSQL and reads its runs back.
//!
//! ```sh
//! cargo run --example postgres -- postgresql://postgres@127.0.0.1:5432/test
//! prefect flow-run ls --db postgresql://postgres@127.0.0.1:5432/test
//! ```
//!
//! The URL defaults to `$PREFECT_TEST_POSTGRES_URL`, else the one above.

use std::sync::Arc;

use prefect::prelude::*;
use prefect::store::prelude::*;
use prefect::store::{FlowRunFilter, PostgresStore, RecorderOptions, StoreLimits};

#[task(retries = 2, retry_delay = "100ms")]
async fn fetch(day: u32) -> Result<Vec<u32>, std::io::Error> {
    tracing::info!("fetching day {day}");
    Ok((0..day).collect())
}

#[task(tags = ["warehouse"])]
async fn load(rows: Vec<u32>) -> usize {
    rows.len()
}

#[flow]
async fn daily_load(days: Vec<u32>) -> Result<usize, prefect::Error> {
    let mut loaded = 0;
    for day in days {
        let rows = fetch(day).await?;
        loaded += load(rows).await?;
    }
    Ok(loaded)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url = std::env::args()
        .nth(1)
        .or_else(|| std::env::var("PREFECT_TEST_POSTGRES_URL").ok())
        .unwrap_or_else(|| "postgresql://postgres@127.0.0.1:5432/test".to_owned());
    let store = Arc::new(PostgresStore::connect(&url)?);
    // One load at a time, across every process recording here.
    store.set_concurrency_limit("warehouse", 1).await?;
    let recorder = Arc::new(RecorderOptions::default().start(store.clone())?);
    let env =
        prefect::env::Env::new().recorder(recorder).shared_limits(Arc::new(StoreLimits::new(store.clone())));
    let loaded = env.run(daily_load(vec![3, 5, 8])).await?;
    println!("loaded {loaded} rows");
    for run in store.list_flow_runs(&FlowRunFilter::new().limit(5)).await? {
        let state = run.state.map(|s| s.name.to_string()).unwrap_or_default();
        println!("{}  {}  {}  {state}", run.id, run.flow_name, run.name);
    }
    Ok(())
}
