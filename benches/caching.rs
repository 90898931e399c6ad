//! Caching and persisted results.
//!
//! `cargo bench --bench caching` prints:
//! - cache-hit latency: a `cache_key = input_hash` task with a 1 KB input,
//!   served from a local-file record, per call (in a flow, in-process);
//! - the same task uncached, for comparison;
//! - persisted-result write throughput: task runs that each store a new
//!   1 KB value in local files (each a miss, a key lock and an atomic write);
//! - key computation: the blake3 cache key of a call with a 1 KB input.
//!
//! Console logging is set to WARNING so the figures measure the engine.

use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::Instant;

use prefect::prelude::*;
use prefect::results::{CachePolicy, LocalStorage, TaskIdentity};

const HITS: u32 = 5_000;
const WRITES: u32 = 2_000;
const KEYS: u32 = 100_000;

/// The bench's storage directory, made once.
fn dir() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("prefect-bench-caching-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    })
}

fn storage() -> LocalStorage {
    LocalStorage::new(dir())
}

#[task(cache_key = input_hash, result_storage = storage)]
async fn cached_len(payload: String) -> usize {
    payload.len()
}

#[task]
async fn plain_len(payload: String) -> usize {
    payload.len()
}

#[task(cache_key = input_hash, result_storage = storage)]
async fn stored(i: u32, payload: String) -> String {
    let _ = i;
    payload
}

#[flow]
async fn hits(payload: String, n: u32) -> Result<f64, prefect::Error> {
    cached_len(payload.clone()).await?; // the record
    let start = Instant::now();
    for _ in 0..n {
        let state = cached_len(payload.clone()).return_state().await;
        assert_eq!(state.name(), "Cached");
    }
    Ok(start.elapsed().as_secs_f64() * 1e6 / f64::from(n))
}

#[flow]
async fn uncached(payload: String, n: u32) -> Result<f64, prefect::Error> {
    let start = Instant::now();
    for _ in 0..n {
        plain_len(payload.clone()).await?;
    }
    Ok(start.elapsed().as_secs_f64() * 1e6 / f64::from(n))
}

#[flow]
async fn writes(payload: String, n: u32) -> Result<f64, prefect::Error> {
    let start = Instant::now();
    for i in 0..n {
        stored(i, payload.clone()).await?;
    }
    Ok(f64::from(n) / start.elapsed().as_secs_f64())
}

fn key_cost(payload: &str) -> f64 {
    let policy = CachePolicy::inputs().and_task_source();
    let start = Instant::now();
    for _ in 0..KEYS {
        let task = TaskIdentity::new("cached_len").with_source_hash("0123456789abcdef0123456789abcdef");
        let key = policy.key_for(task).input("payload", payload).finish().unwrap();
        std::hint::black_box(key);
    }
    start.elapsed().as_secs_f64() * 1e6 / f64::from(KEYS)
}

fn main() {
    let level = std::env::var("PREFECT_LOGGING_LEVEL").unwrap_or_else(|_| "warn".into());
    prefect::logging::init_with_level(&level).expect("a valid level");
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let payload: String = "x".repeat(1024);
    let harness = prefect::testing::harness();
    let (hit, plain, rate) = rt.block_on(harness.run(async {
        hits(payload.clone(), 200).await.unwrap(); // warm-up
        let hit = hits(payload.clone(), HITS).await.unwrap();
        let plain = uncached(payload.clone(), HITS).await.unwrap();
        let rate = writes(payload.clone(), WRITES).await.unwrap();
        (hit, plain, rate)
    }));
    let key = key_cost(&payload);
    println!(
        "caching: cache hit, 1 KB input, local files: {hit:.1} µs per call ({HITS} calls, target ≤ 5 µs)"
    );
    println!("caching: same task uncached: {plain:.1} µs per call");
    println!("caching: persisted-result writes, 1 KB values, local files: {rate:.0} records/s");
    println!("caching: cache key of a call with a 1 KB input: {key:.2} µs");
    let _ = std::fs::remove_dir_all(dir());
}
