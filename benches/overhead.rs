//! The per-task costs a user pays, one line per figure:
//!
//! - per task, in-memory recording (a flow running trivial tasks in turn);
//! - per task, SQLite recording, flushed (and the ratio to in-memory);
//! - an empty root flow run with SQLite recording, durable when it returns;
//! - the SQLite writer's cost per task run (the events of real runs, written
//!   in batches of 1,000 into a fresh database);
//! - 100,000 mapped tasks with SQLite recording: wall time and peak memory
//!   above the process's baseline, on the system allocator;
//! - 100,000 mapped tasks recorded in memory (the engine alone);
//! - allocations per mapped task (engine only: a recorder that drops events);
//! - 1,000,000 mapped tasks with SQLite recording: time, peak memory.
//!
//! `cargo bench --bench overhead`. Console logging is WARNING, so the
//! figures measure the engine and the recorder, not the terminal. Each
//! timed figure is the median of several runs.

use std::alloc::System;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use prefect::prelude::*;
use prefect::record::{Event, FlushFuture, MemoryRecorder, NoopRecorder, Recorder};
use prefect::store::prelude::*;
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};

/// The system allocator, with its calls counted (the library never chooses
/// an allocator; this binary only counts).
#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

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

#[flow]
async fn mapped(n: u64) -> usize {
    trivial::map((0..n).collect::<Vec<_>>()).await.into_iter().filter(Result::is_ok).count()
}

/// Keeps every event, to write them again in the writer benchmark.
#[derive(Default)]
struct Collecting(Mutex<Vec<Event>>);

impl Recorder for Collecting {
    fn record(&self, event: Event) {
        self.0.lock().unwrap().push(event);
    }
    fn flush(&self) -> FlushFuture<'_> {
        Box::pin(async {})
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap()
}

fn median(mut times: Vec<f64>) -> f64 {
    times.sort_by(f64::total_cmp);
    times[times.len() / 2]
}

fn status_mb(field: &str) -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kb: f64 = status
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0);
    kb / 1024.0
}

/// Resets the peak-RSS mark and returns the current RSS (the baseline).
fn reset_peak() -> f64 {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    status_mb("VmRSS:")
}

fn db() -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("prefect.db");
    (dir, path)
}

fn per_task_in_memory(rt: &tokio::runtime::Runtime, n: u64) -> f64 {
    let times = (0..5)
        .map(|_| {
            let recorder = Arc::new(MemoryRecorder::new());
            let start = Instant::now();
            rt.block_on(prefect::testing::with_recorder(recorder, sequential(n))).unwrap();
            start.elapsed().as_secs_f64() * 1e6 / n as f64
        })
        .collect();
    median(times)
}

fn per_task_sqlite(rt: &tokio::runtime::Runtime, n: u64) -> f64 {
    let times = (0..3)
        .map(|_| {
            let (_dir, path) = db();
            let recorder = Arc::new(prefect::store::SqliteRecorder::open(&path).unwrap());
            let start = Instant::now();
            rt.block_on(prefect::testing::with_recorder(recorder, sequential(n))).unwrap();
            start.elapsed().as_secs_f64() * 1e6 / n as f64
        })
        .collect();
    median(times)
}

fn empty_flow_sqlite(rt: &tokio::runtime::Runtime, flows: u32) -> f64 {
    let times = (0..3)
        .map(|_| {
            let (_dir, path) = db();
            let recorder = Arc::new(prefect::store::SqliteRecorder::open(&path).unwrap());
            rt.block_on(prefect::testing::with_recorder(recorder.clone(), async {
                for _ in 0..100 {
                    empty().await.unwrap();
                }
            }));
            let start = Instant::now();
            rt.block_on(prefect::testing::with_recorder(recorder.clone(), async {
                for _ in 0..flows {
                    empty().await.unwrap();
                }
            }));
            start.elapsed().as_secs_f64() * 1e6 / f64::from(flows)
        })
        .collect();
    median(times)
}

/// The events of `n` real task runs in a flow, written again into fresh
/// databases in batches of 1,000 events, per task run.
fn writer_per_task_run(rt: &tokio::runtime::Runtime, n: u64) -> f64 {
    let collected = Arc::new(Collecting::default());
    rt.block_on(prefect::testing::with_recorder(collected.clone(), sequential(n))).unwrap();
    let events = std::mem::take(&mut *collected.0.lock().unwrap());
    let times = (0..3)
        .map(|_| {
            let (_dir, path) = db();
            let store = prefect::store::SqliteStore::open(&path).unwrap();
            let start = Instant::now();
            write_all(&store, &events);
            start.elapsed().as_secs_f64() * 1e6 / n as f64
        })
        .collect();
    median(times)
}

/// Writes `events` in batches of 1,000 (a function of its own, for profilers).
#[inline(never)]
fn write_all(store: &prefect::store::SqliteStore, events: &[Event]) {
    for batch in events.chunks(1_000) {
        futures::executor::block_on(store.write_events(None, batch)).unwrap();
    }
}

/// One map of `n` recorded by `recorder`: its wall time and peak RSS
/// above the baseline.
fn map_once(rt: &tokio::runtime::Runtime, n: u64, recorder: Arc<dyn Recorder>) -> (f64, f64) {
    let baseline = reset_peak();
    let start = Instant::now();
    let ok = rt.block_on(prefect::testing::with_recorder(recorder, mapped(n))).unwrap();
    let wall = start.elapsed().as_secs_f64();
    assert_eq!(ok as u64, n);
    (wall, status_mb("VmHWM:") - baseline)
}

/// A map of `n` with SQLite: median wall time, peak RSS above the
/// baseline, and the recorder queue's peak (events).
fn map_sqlite(rt: &tokio::runtime::Runtime, n: u64, runs: usize) -> (f64, f64, usize) {
    let (mut times, mut above, mut queue_peak) = (Vec::new(), 0.0f64, 0);
    for _ in 0..runs {
        let (_dir, path) = db();
        let recorder = Arc::new(prefect::store::SqliteRecorder::open(&path).unwrap());
        let (wall, peak) = map_once(rt, n, recorder.clone());
        times.push(wall);
        above = above.max(peak);
        queue_peak = queue_peak.max(recorder.queue_peak());
    }
    (median(times), above, queue_peak)
}

/// A map of `n` recorded in memory (the engine's own cost, which the
/// allocator decides): median wall time, peak RSS above the baseline.
fn map_in_memory(rt: &tokio::runtime::Runtime, n: u64, runs: usize) -> (f64, f64) {
    let (mut times, mut above) = (Vec::new(), 0.0f64);
    for _ in 0..runs {
        let (wall, peak) = map_once(rt, n, Arc::new(MemoryRecorder::new()));
        times.push(wall);
        above = above.max(peak);
    }
    (median(times), above)
}

fn allocations_per_mapped_task(rt: &tokio::runtime::Runtime, n: u64) -> f64 {
    let noop: Arc<dyn Recorder> = Arc::new(NoopRecorder);
    rt.block_on(prefect::testing::with_recorder(noop.clone(), mapped(1_000))).unwrap();
    let region = Region::new(GLOBAL);
    rt.block_on(prefect::testing::with_recorder(noop, mapped(n))).unwrap();
    let change = region.change();
    (change.allocations + change.reallocations) as f64 / n as f64
}

/// Whether to print figure `name`: all of them, or those named in
/// `OVERHEAD_ONLY` (comma-separated: memory, sqlite, flow, writer,
/// map, mapmem, allocs, map1m).
fn wanted(name: &str) -> bool {
    match std::env::var("OVERHEAD_ONLY") {
        Ok(only) => only.split(',').any(|n| n.trim() == name),
        Err(_) => true,
    }
}

fn main() {
    let level = std::env::var("PREFECT_LOGGING_LEVEL").unwrap_or_else(|_| "warn".into());
    prefect::logging::init_with_level(&level).expect("a valid level");
    let rt = runtime();
    rt.block_on(prefect::testing::harness().run(sequential(1_000))).unwrap();

    let in_memory =
        if wanted("memory") || wanted("sqlite") { per_task_in_memory(&rt, 20_000) } else { f64::NAN };
    if wanted("memory") {
        println!("overhead: per task, in-memory recording: {in_memory:.2} µs");
    }
    if wanted("sqlite") {
        let sqlite = per_task_sqlite(&rt, 20_000);
        println!(
            "overhead: per task, SQLite recording (flushed): {sqlite:.2} µs ({:.1}x in-memory)",
            sqlite / in_memory
        );
    }
    if wanted("flow") {
        let flow = empty_flow_sqlite(&rt, 2_000);
        println!("overhead: empty flow run, SQLite recording, durable at return: {flow:.1} µs");
    }
    if wanted("writer") {
        let writer = writer_per_task_run(&rt, 20_000);
        println!("overhead: SQLite writer cost per task run: {writer:.2} µs");
    }
    if wanted("map") {
        let (wall, above, queue) = map_sqlite(&rt, 100_000, 3);
        println!(
            "overhead: 100,000 mapped tasks, SQLite recording: {:.0} ms, peak {above:.0} MiB above baseline, recorder queue peak {queue} events",
            wall * 1e3
        );
    }
    if wanted("mapmem") {
        let (wall, above) = map_in_memory(&rt, 100_000, 3);
        println!(
            "overhead: 100,000 mapped tasks, in-memory recording: {:.0} ms, peak {above:.0} MiB above baseline",
            wall * 1e3
        );
    }
    if wanted("allocs") {
        let allocs = allocations_per_mapped_task(&rt, 100_000);
        println!("overhead: allocations per mapped task (engine, no recorder): {allocs:.1}");
    }
    if wanted("map1m") {
        let (wall, above, queue) = map_sqlite(&rt, 1_000_000, 1);
        println!(
            "overhead: 1,000,000 mapped tasks, SQLite recording: {wall:.2} s, peak {above:.0} MiB above baseline, recorder queue peak {queue} events"
        );
    }
}
