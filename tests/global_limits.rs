//! `prefect::concurrency::concurrency(name, n)` with a limit of the run
//! database: the same limit holds for code in every process and machine
//! using the database, and for tagged task runs. Run on a SQLite store, and
//! on PostgreSQL when a server answers (required under `CI=true`).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use prefect::prelude::*;
use prefect::store::{AnyStore, StoreLimits};

/// When each guarded block ran, and the most slots seen held at once.
static SPANS: Mutex<Vec<(&'static str, Instant, Instant)>> = Mutex::new(Vec::new());

#[task]
async fn load(part: u32) -> u32 {
    let _slot = prefect::concurrency::concurrency("warehouse", 1).await;
    let start = Instant::now();
    // Some work inside the guard, long enough for an overlap to show.
    tokio::time::sleep(Duration::from_millis(15)).await;
    SPANS.lock().unwrap().push(("load", start, Instant::now()));
    part
}

#[task]
async fn bulk(part: u32) -> u32 {
    // Two slots of a limit of three: two callers can never both hold them.
    let _slots = prefect::concurrency::concurrency("bulk", 2).await;
    let start = Instant::now();
    tokio::time::sleep(Duration::from_millis(15)).await;
    SPANS.lock().unwrap().push(("bulk", start, Instant::now()));
    part
}

#[flow]
async fn nightly() -> u32 {
    let loads: Vec<_> = (0..4).map(|i| load(i).submit()).collect();
    let bulks: Vec<_> = (0..3).map(|i| bulk(i).submit()).collect();
    let mut total = 0;
    for run in loads.into_iter().chain(bulks) {
        total += run.await.unwrap_or(0);
    }
    total
}

fn overlaps(kind: &str) -> usize {
    let spans: Vec<_> = SPANS.lock().unwrap().iter().filter(|s| s.0 == kind).map(|s| (s.1, s.2)).collect();
    let mut count = 0;
    for (i, a) in spans.iter().enumerate() {
        for b in &spans[i + 1..] {
            count += usize::from(a.0 < b.1 && b.0 < a.1);
        }
    }
    count
}

async fn run_against(store: AnyStore) {
    store.set_concurrency_limit("warehouse", 1).await.unwrap();
    store.set_concurrency_limit("bulk", 3).await.unwrap();
    SPANS.lock().unwrap().clear();
    let limits = Arc::new(StoreLimits::new(store.as_arc()));
    let home = tempfile::tempdir().unwrap();
    let mut settings = prefect::settings::Settings::defaults(home.path());
    settings.logging_level = prefect::settings::LogLevel::Warning;
    let env = prefect::env::Env::new()
        .settings(settings)
        .recorder(Arc::new(prefect::record::MemoryRecorder::new()))
        .shared_limits(limits);
    assert_eq!(env.run(nightly()).await.unwrap(), 6 + 3);
    assert_eq!(SPANS.lock().unwrap().len(), 7, "every guarded block ran");
    assert_eq!(overlaps("load"), 0, "one block at a time under a database limit of 1");
    assert_eq!(overlaps("bulk"), 0, "two slots of three: one holder at a time");
    // Every slot was given back (released off the runtime: wait for it).
    let deadline = Instant::now() + Duration::from_secs(30);
    for tag in ["warehouse", "bulk"] {
        while store.concurrency_limit(tag).await.unwrap().unwrap().active_slots > 0 {
            assert!(Instant::now() < deadline, "the slots of {tag} were never given back");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_limit_bounds_guarded_code_on_sqlite_and_postgresql() {
    let dir = tempfile::tempdir().unwrap();
    let sqlite = prefect::store::SqliteStore::open(dir.path().join("prefect.db")).unwrap();
    run_against(AnyStore::new(sqlite)).await;

    let url = std::env::var("PREFECT_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgresql://postgres@127.0.0.1:5432/test".to_owned());
    if std::net::TcpStream::connect_timeout(&([127, 0, 0, 1], 5432).into(), Duration::from_secs(2)).is_err() {
        assert!(std::env::var("CI").as_deref() != Ok("true"), "CI=true and no PostgreSQL answers at {url}");
        eprintln!("SKIPPED the PostgreSQL half of the global limits test: no server answers at {url}");
        return;
    }
    let schema =
        DroppedSchema { url: url.clone(), name: format!("prefect_limits_test_{}", std::process::id()) };
    let store = prefect::store::PostgresOptions::new().schema(&schema.name).open(&url).unwrap();
    run_against(AnyStore::new(store)).await;
}

/// A schema dropped when the test ends, passed or not.
struct DroppedSchema {
    url: String,
    name: String,
}

impl Drop for DroppedSchema {
    fn drop(&mut self) {
        let (url, name) = (self.url.clone(), self.name.clone());
        // A runtime of its own on a thread of its own: the test's is async.
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            runtime.block_on(async {
                let (client, connection) =
                    tokio_postgres::connect(&url, tokio_postgres::NoTls).await.unwrap();
                tokio::spawn(connection);
                client.batch_execute(&format!("DROP SCHEMA IF EXISTS {name} CASCADE")).await.unwrap();
            });
        });
        let _ = dropped.join();
    }
}
