//! Concurrency overhead with in-memory recording.
//!
//! `cargo bench --bench concurrency` prints, for each scenario, the wall
//! time, the overhead per task and the peak resident memory:
//! - 10,000 trivial tasks submitted concurrently in one flow;
//! - 100,000 mapped trivial tasks in one flow;
//! - a chain of 1,000 dependent tasks, each taking the previous future.
//!
//! Each scenario runs several times; the median wall time is printed. Peak
//! memory is the process's high-water mark (VmHWM), reset before each run
//! through /proc/self/clear_refs (Linux).

use std::sync::Arc;
use std::time::Instant;

use prefect::prelude::*;
use prefect::record::MemoryRecorder;

#[task]
async fn trivial(x: u64) -> u64 {
    x + 1
}

#[flow]
async fn submitted(n: u64) -> u64 {
    let futures: Vec<_> = (0..n).map(|i| trivial(i).submit()).collect();
    let mut total = 0;
    for f in futures {
        total += f.await.unwrap_or(0);
    }
    total
}

#[flow]
async fn mapped(n: u64) -> usize {
    trivial::map((0..n).collect::<Vec<_>>()).await.into_iter().filter(Result::is_ok).count()
}

#[flow]
async fn chain(n: u64) -> Result<u64, prefect::Error> {
    let mut previous = trivial(0).submit();
    for _ in 1..n {
        previous = trivial(previous).submit();
    }
    previous.await
}

fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

fn peak_rss_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kb: f64 = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0);
    kb / 1024.0
}

/// Runs a scenario `runs` times on fresh recorders and prints the median
/// wall time (single runs of a few tens of milliseconds swing by ±20% on
/// this machine) and the highest peak RSS seen.
fn measure<F: std::future::IntoFuture>(
    rt: &tokio::runtime::Runtime,
    label: &str,
    tasks: u64,
    runs: usize,
    make: impl Fn() -> F,
) {
    let mut times = Vec::with_capacity(runs);
    let mut peak: f64 = 0.0;
    let mut recorded = 0;
    for _ in 0..runs {
        reset_peak_rss();
        let recorder = Arc::new(MemoryRecorder::new());
        let start = Instant::now();
        rt.block_on(prefect::testing::with_recorder(recorder.clone(), make()));
        times.push(start.elapsed().as_secs_f64());
        peak = peak.max(peak_rss_mb());
        recorded = recorder.task_runs().len();
    }
    times.sort_by(f64::total_cmp);
    let median = times[times.len() / 2];
    println!(
        "concurrency: {label}: {:.1} ms wall (median of {runs}), {:.2} µs per task, peak RSS {:.0} MB ({recorded} task runs recorded)",
        median * 1e3,
        median * 1e6 / tasks as f64,
        peak,
    );
}

fn main() {
    let level = std::env::var("PREFECT_LOGGING_LEVEL").unwrap_or_else(|_| "warn".into());
    prefect::logging::init_with_level(&level).expect("a valid level");
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    rt.block_on(prefect::testing::harness().run(submitted(1_000))).unwrap();

    measure(&rt, "10,000 submitted tasks", 10_000, 9, || submitted(10_000));
    measure(&rt, "100,000 mapped tasks", 100_000, 3, || mapped(100_000));
    measure(&rt, "chain of 1,000 dependent tasks", 1_000, 9, || chain(1_000));

    // 100,000 mapped tasks recorded into a SQLite run database; the time
    // includes the flush at the flow's end.
    let dir = tempfile::tempdir().expect("a temp dir");
    let path = dir.path().join("prefect.db");
    let recorder = Arc::new(prefect::store::SqliteRecorder::open(&path).expect("a run database"));
    reset_peak_rss();
    let start = Instant::now();
    let ok = rt.block_on(prefect::testing::with_recorder(recorder.clone(), mapped(100_000))).unwrap_or(0);
    let elapsed = start.elapsed();
    let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0)
        + std::fs::metadata(dir.path().join("prefect.db-wal")).map(|m| m.len()).unwrap_or(0);
    println!(
        "concurrency: 100,000 mapped tasks, SQLite recording (flushed): {:.1} ms wall, {:.2} µs per task, peak RSS {:.0} MB, {ok} completed, database {:.0} MB",
        elapsed.as_secs_f64() * 1e3,
        elapsed.as_secs_f64() * 1e6 / 100_000.0,
        peak_rss_mb(),
        size as f64 / 1e6
    );
    drop(recorder);

    // The same submissions on a single-threaded runtime: no cross-thread
    // wake-ups, which is where the multi-threaded figure loses time.
    let single = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    measure(&single, "10,000 submitted tasks, current-thread runtime", 10_000, 9, || submitted(10_000));
}
