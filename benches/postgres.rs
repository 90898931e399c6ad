//! Per-task cost of recording into PostgreSQL against recording in memory:
//! a flow of sequential trivial tasks, its events batched by the store's
//! recorder into a fresh schema of the database of
//! `PREFECT_TEST_POSTGRES_URL` (default `postgresql://postgres@127.0.0.1:5432/test`).
//! Bounded: 3 rounds of 5,000 tasks. Skips with a message when no server
//! answers.
//!
//! `cargo bench --bench postgres`

use std::sync::Arc;
use std::time::Instant;

use prefect::prelude::*;
use prefect::record::MemoryRecorder;
use prefect::store::prelude::*;
use prefect::store::{FlowRunFilter, PostgresOptions, RecorderOptions};

const TASKS: u64 = 5_000;
const ROUNDS: usize = 3;

#[task]
async fn trivial(x: u64) -> u64 {
    x + 1
}

#[flow]
async fn sequential(n: u64) -> u64 {
    let mut acc = 0;
    for i in 0..n {
        acc += trivial(i).await.unwrap_or(0);
    }
    acc
}

fn median(mut times: Vec<f64>) -> f64 {
    times.sort_by(f64::total_cmp);
    times[times.len() / 2]
}

fn main() {
    let url = std::env::var("PREFECT_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgresql://postgres@127.0.0.1:5432/test".to_owned());
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let memory = median(
        (0..5)
            .map(|_| {
                let start = Instant::now();
                rt.block_on(prefect::testing::with_recorder(
                    Arc::new(MemoryRecorder::new()),
                    sequential(TASKS),
                ))
                .unwrap();
                start.elapsed().as_secs_f64() * 1e6 / TASKS as f64
            })
            .collect(),
    );
    let schema = format!("prefect_bench_{}", std::process::id());
    let store = match PostgresOptions::new().schema(&schema).open(&url) {
        Ok(store) => Arc::new(store),
        Err(error) => {
            println!("postgres: SKIPPED: no PostgreSQL at {url} ({error})");
            return;
        }
    };
    let mut times = Vec::new();
    for _ in 0..ROUNDS {
        let recorder = Arc::new(RecorderOptions::default().start(store.clone()).unwrap());
        let start = Instant::now();
        // Returns once the flow's final state is stored.
        rt.block_on(prefect::testing::with_recorder(recorder.clone(), sequential(TASKS))).unwrap();
        times.push(start.elapsed().as_secs_f64() * 1e6 / TASKS as f64);
        recorder.flush_blocking();
    }
    let runs = futures::executor::block_on(store.list_flow_runs(&FlowRunFilter::new())).unwrap();
    assert_eq!(runs.len(), ROUNDS, "every round's flow run is stored");
    let postgres = median(times);
    println!("postgres: per task, in memory: {memory:.2} µs ({TASKS} sequential tasks, median of 5)");
    println!(
        "postgres: per task, PostgreSQL recording: {postgres:.2} µs (median of {ROUNDS}; {:.1}x in memory, target ≤ 3x)",
        postgres / memory
    );
    drop(store);
    let drop_schema = format!("DROP SCHEMA {schema} CASCADE");
    rt.block_on(async {
        let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await.unwrap();
        tokio::spawn(connection);
        client.batch_execute(&drop_schema).await.unwrap();
    });
}
