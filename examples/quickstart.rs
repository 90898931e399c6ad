//! A small ETL flow: a task that fails twice before it succeeds (retries), a
//! subflow, logs, and at the end every recorded run with its final state.
//!
//! Run it with `cargo run --example quickstart`.

use std::sync::atomic::{AtomicU32, Ordering};

use prefect::prelude::*;
use prefect::store::{AnyStore, LogFilter, SqliteStore};

#[derive(Debug, thiserror::Error)]
#[error("the source API answered 503 (attempt {0})")]
struct Unavailable(u32);

static ATTEMPTS: AtomicU32 = AtomicU32::new(0);

/// Pretends to call a flaky API: the first two attempts fail.
#[task(retries = 3, retry_delay = ["100ms", "200ms"], tags = ["api"])]
async fn extract(source: String) -> Result<Vec<u32>, Unavailable> {
    let attempt = ATTEMPTS.fetch_add(1, Ordering::SeqCst) + 1;
    if attempt < 3 {
        return Err(Unavailable(attempt));
    }
    info!(%source, "extracted 5 rows");
    Ok(vec![3, 1, 4, 1, 5])
}

#[task]
fn transform(rows: Vec<u32>) -> Vec<u32> {
    rows.into_iter().map(|r| r * 10).collect()
}

#[task(timeout = "5s")]
async fn load(rows: Vec<u32>) -> usize {
    info!(count = rows.len(), "loaded rows");
    rows.len()
}

/// A subflow: its own flow run, linked to the parent.
#[flow]
async fn report(loaded: usize) -> String {
    let line = format!("{loaded} rows loaded");
    info!("{line}");
    line
}

#[flow(name = "etl", flow_run_name = "etl-{source}")]
async fn etl(source: String) -> Result<String, prefect::Error> {
    let rows = extract(source).await?;
    let rows = transform(rows).await?;
    let loaded = load(rows).await?;
    report(loaded).await
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // No setup: every run is recorded in the run database
    // ($PREFECT_HOME/prefect.db, by default ~/.prefect/prefect.db).
    let state = etl("orders".to_string()).return_state().await;
    println!("\nflow run ended {state}: {}\n", state.value().map(String::as_str).unwrap_or("-"));
    let Some(prefect::RunId::Flow(id)) = state.run_id() else {
        return Err("the flow run has no id".into());
    };

    // Read it back, as `prefect flow-run inspect` does: from the run
    // database (a SQLite file, or the PostgreSQL server that
    // PREFECT_API_DATABASE_URL names), or from the server when
    // PREFECT_API_URL names one.
    let settings = prefect::settings::current();
    let (store, place) = match (&settings.api_url, &settings.database_url) {
        (Some(api), _) => (AnyStore::connect(api)?, api.clone()),
        (None, Some(database)) => {
            let url = prefect::store::StoreUrl::parse(database)?;
            (AnyStore::connect(database)?, url.redacted())
        }
        (None, None) => {
            let path = &settings.database_path;
            (AnyStore::new(SqliteStore::open(path)?), path.display().to_string())
        }
    };
    let run = store.inspect_flow_run(id, 100).await?;
    println!("recorded in {place}:");
    let history: Vec<&str> = run.states.iter().map(|s| &*s.name).collect();
    println!("  flow run {:<20} {}", run.run.name, history.join(" -> "));
    for task in &run.task_runs {
        // A subflow is its own flow run; its parent holds a task run for it.
        if let Some(subflow) = task.subflow_run_id {
            let sub = store.inspect_flow_run(subflow, 100).await?;
            let history: Vec<&str> = sub.states.iter().map(|s| &*s.name).collect();
            println!(
                "  subflow  {:<20} flow run of '{}': {}",
                sub.run.name,
                sub.run.flow_name,
                history.join(" -> ")
            );
            continue;
        }
        let detail = store.inspect_task_run(task.id).await?;
        let history: Vec<&str> = detail.states.iter().map(|s| &*s.name).collect();
        println!("  task run {:<20} runs={} {}", task.name, task.run_count, history.join(" -> "));
    }
    let logs = store.logs(&LogFilter::of(id)).await?;
    println!("  {} log lines", logs.len());
    Ok(())
}
