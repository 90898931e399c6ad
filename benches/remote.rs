//! Recording to a server over HTTP, against recording into SQLite:
//!
//! - events per second from one client into the server (the events of real
//!   task runs, sent in batches of 1,000 and acknowledged);
//! - per task, a flow of trivial tasks recording to the server, next to the
//!   same flow recording into a local SQLite file (and the ratio).
//!
//! `cargo bench --bench remote`. The server runs in this process on a
//! loopback port, over a SQLite file, as `prefect server start` would.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use prefect::prelude::*;
use prefect::record::{Event, FlushFuture, Recorder};
use prefect::store::prelude::*;
use prefect::store::{AnyStore, HttpOptions, HttpStore, RecorderOptions, SqliteStore};

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

/// Keeps every event, to send them again.
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

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// A server over a fresh SQLite file on a loopback port; its API URL.
fn start_server(rt: &tokio::runtime::Runtime, dir: &std::path::Path) -> String {
    let store = AnyStore::new(SqliteStore::open(dir.join("server.db")).unwrap());
    let server = rt.block_on(prefect_server::Server::builder(store).port(0).bind()).unwrap();
    let api = format!("http://{}/api", server.local_addr());
    rt.spawn(server.serve(std::future::pending()));
    api
}

fn client(api: &str, dir: &std::path::Path) -> HttpStore {
    HttpStore::connect(HttpOptions::new(api).spool_root(dir.join("spool"))).unwrap()
}

fn main() {
    let level = std::env::var("PREFECT_LOGGING_LEVEL").unwrap_or_else(|_| "warn".into());
    prefect::logging::init_with_level(&level).expect("a valid level");
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let n: u64 = 20_000;

    // The events of n real task runs.
    let collected = Arc::new(Collecting::default());
    rt.block_on(prefect::testing::with_recorder(collected.clone(), sequential(n))).unwrap();
    let events = std::mem::take(&mut *collected.0.lock().unwrap());

    let rates: Vec<f64> = (0..3)
        .map(|_| {
            let dir = tempfile::tempdir().unwrap();
            let api = start_server(&rt, dir.path());
            let store = client(&api, dir.path());
            let start = Instant::now();
            for batch in events.chunks(1_000) {
                futures::executor::block_on(store.write_events(None, batch)).unwrap();
            }
            events.len() as f64 / start.elapsed().as_secs_f64()
        })
        .collect();
    println!(
        "remote throughput, one client, batches of 1,000: {:.0} events/s ({} events of {n} task runs; target >= 50,000)",
        median(rates),
        events.len()
    );

    // Where a batch's time goes, per event: encoding on the client,
    // decoding on the server, storing in SQLite.
    let start = Instant::now();
    let encoded: Vec<Vec<u8>> = events.chunks(1_000).map(|b| serde_json::to_vec(b).unwrap()).collect();
    let encode = start.elapsed().as_secs_f64() * 1e6 / events.len() as f64;
    let start = Instant::now();
    for batch in &encoded {
        let _: Vec<Event> = serde_json::from_slice(batch).unwrap();
    }
    let decode = start.elapsed().as_secs_f64() * 1e6 / events.len() as f64;
    let dir = tempfile::tempdir().unwrap();
    let sqlite = SqliteStore::open(dir.path().join("alone.db")).unwrap();
    let start = Instant::now();
    for batch in events.chunks(1_000) {
        futures::executor::block_on(sqlite.write_events_once(prefect::store::BatchId::new(), None, batch))
            .unwrap();
    }
    let store = start.elapsed().as_secs_f64() * 1e6 / events.len() as f64;
    let bytes: usize = encoded.iter().map(Vec::len).sum();
    println!(
        "  per event: JSON encode {encode:.2} µs, decode {decode:.2} µs, SQLite store {store:.2} µs ({} bytes of JSON)",
        bytes / events.len()
    );

    let mut remote = Vec::new();
    let mut local = Vec::new();
    for _ in 0..3 {
        let dir = tempfile::tempdir().unwrap();
        let api = start_server(&rt, dir.path());
        let recorder =
            Arc::new(RecorderOptions::default().start(Arc::new(client(&api, dir.path()))).unwrap());
        let start = Instant::now();
        rt.block_on(prefect::testing::with_recorder(recorder.clone(), sequential(n))).unwrap();
        remote.push(start.elapsed().as_secs_f64() * 1e6 / n as f64);
        assert_eq!(recorder.lost_count(), 0);

        let recorder = Arc::new(prefect::store::SqliteRecorder::open(dir.path().join("local.db")).unwrap());
        let start = Instant::now();
        rt.block_on(prefect::testing::with_recorder(recorder, sequential(n))).unwrap();
        local.push(start.elapsed().as_secs_f64() * 1e6 / n as f64);
    }
    let (remote, local) = (median(remote), median(local));
    println!(
        "per task, recording to the server: {remote:.2} µs; into SQLite: {local:.2} µs; ratio {:.2}x (target <= 3x)",
        remote / local
    );
}
