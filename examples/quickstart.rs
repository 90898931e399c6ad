//! A small ETL flow: a task that fails twice before it succeeds (retries), a
//! subflow, logs, and at the end every recorded run with its final state.
//!
//! Run it with `cargo run --example quickstart`.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use prefect::prelude::*;
use prefect::record::MemoryRecorder;

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
    tracing::info!(%source, "extracted 5 rows");
    Ok(vec![3, 1, 4, 1, 5])
}

#[task]
fn transform(rows: Vec<u32>) -> Vec<u32> {
    rows.into_iter().map(|r| r * 10).collect()
}

#[task(timeout = "5s")]
async fn load(rows: Vec<u32>) -> usize {
    tracing::info!(count = rows.len(), "loaded rows");
    rows.len()
}

/// A subflow: its own flow run, linked to the parent.
#[flow]
async fn report(loaded: usize) -> String {
    let line = format!("{loaded} rows loaded");
    tracing::info!("{line}");
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
    let recorder = Arc::new(MemoryRecorder::new());
    prefect::record::set_global_recorder(recorder.clone())?;

    let summary = etl("orders".to_string()).await?;
    println!("\nflow result: {summary}\n");

    println!("recorded runs:");
    for flow in recorder.flow_runs() {
        println!(
            "  flow run {:<18} {:<22} {}",
            flow.name,
            flow.state().unwrap().to_string(),
            flow.state_names().join(" -> ")
        );
    }
    for task in recorder.task_runs() {
        println!(
            "  task run {:<18} {:<22} runs={} {}",
            task.name,
            task.state().unwrap().to_string(),
            task.run_count,
            task.state_names().join(" -> ")
        );
    }
    println!("  {} log lines recorded", recorder.all_logs().len());
    Ok(())
}
