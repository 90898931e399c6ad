//! Engine overhead with in-memory recording.
//!
//! `cargo bench --bench engine` prints the per-task overhead (a flow running
//! N trivial tasks one after another) and the cost of an empty flow run,
//! then divan's detailed timings. Console logging is set to WARNING so the
//! figures measure the engine, not the terminal.

use std::sync::Arc;
use std::time::Instant;

use prefect::prelude::*;
use prefect::record::MemoryRecorder;

const TASKS: u64 = 10_000;
const FLOWS: u32 = 10_000;

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

#[flow]
async fn empty() {}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap()
}

fn summary() {
    let rt = runtime();
    rt.block_on(async {
        // Warm up, then measure on a fresh recorder each time.
        prefect::testing::harness().run(sequential(1_000)).await.unwrap();

        let recorder = Arc::new(MemoryRecorder::new());
        let start = Instant::now();
        prefect::testing::with_recorder(recorder.clone(), sequential(TASKS)).await.unwrap();
        let per_task = start.elapsed().as_secs_f64() * 1e6 / TASKS as f64;
        assert_eq!(recorder.task_runs().len() as u64, TASKS);

        let recorder = Arc::new(MemoryRecorder::new());
        let start = Instant::now();
        prefect::testing::with_recorder(recorder.clone(), async {
            for _ in 0..FLOWS {
                empty().await.unwrap();
            }
        })
        .await;
        let elapsed = start.elapsed().as_secs_f64();
        println!("engine: {TASKS} sequential trivial tasks in one flow: {per_task:.2} µs per task (in-memory recording)");
        sqlite_figures(per_task).await;
        println!(
            "engine: empty flow run start-to-end: {:.2} µs per flow run, {:.0} flow runs/s",
            elapsed * 1e6 / FLOWS as f64,
            FLOWS as f64 / elapsed
        );
    });
}

/// The same flow recorded into a fresh SQLite run database; the time
/// includes the flush at the flow's end, so every event is on disk.
async fn sqlite_figures(in_memory_per_task: f64) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("prefect.db");
    let recorder = Arc::new(prefect::store::SqliteRecorder::open(&path).unwrap());
    let start = Instant::now();
    prefect::testing::with_recorder(recorder.clone(), sequential(TASKS)).await.unwrap();
    let per_task = start.elapsed().as_secs_f64() * 1e6 / TASKS as f64;
    println!(
        "engine: {TASKS} sequential trivial tasks, SQLite recording (flushed): {per_task:.2} µs per task ({:.1}x in-memory)",
        per_task / in_memory_per_task
    );
    let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0)
        + std::fs::metadata(dir.path().join("prefect.db-wal")).map(|m| m.len()).unwrap_or(0);
    println!(
        "engine: database size: {:.0} KB per 1,000 task runs",
        size as f64 / 1024.0 / (TASKS as f64 / 1000.0)
    );
}

fn main() {
    // Only warnings reach the console (and the run logs) while benchmarking,
    // unless PREFECT_LOGGING_LEVEL says otherwise.
    let level = std::env::var("PREFECT_LOGGING_LEVEL").unwrap_or_else(|_| "warn".into());
    prefect::logging::init_with_level(&level).expect("a valid level");
    summary();
    divan::main();
}

#[divan::bench(sample_count = 20)]
fn task_call(bencher: divan::Bencher) {
    let rt = runtime();
    let recorder = Arc::new(MemoryRecorder::new());
    bencher
        .bench_local(|| rt.block_on(prefect::testing::with_recorder(recorder.clone(), trivial(1))).unwrap());
}

#[divan::bench(sample_count = 20)]
fn empty_flow_run(bencher: divan::Bencher) {
    let rt = runtime();
    let recorder = Arc::new(MemoryRecorder::new());
    bencher.bench_local(|| rt.block_on(prefect::testing::with_recorder(recorder.clone(), empty())).unwrap());
}
