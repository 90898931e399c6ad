//! Flow runs through four worker processes sharing a PostgreSQL run
//! database (issue 14): each worker is this binary again, started with
//! nothing but `PREFECT_API_DATABASE_URL`, pointing at a fresh schema of
//! the database of `PREFECT_TEST_POSTGRES_URL` (default
//! `postgresql://postgres@127.0.0.1:5432/test`), dropped after.
//!
//! - throughput: 4,000 empty flow runs queued at once, with the four
//!   workers already idle (each with a limit of 16): runs per second until
//!   the last is Completed, every state recorded in PostgreSQL;
//! - latency: runs created due now, one at a time at a random moment,
//!   while the workers idle: from creation to Running in a worker (read
//!   from the states stored), p50 and p99 over 300 runs.
//!
//! Loopback only, bounded in count and time. Skips with a message when no
//! server answers. `cargo bench --bench workers_postgres`.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use chrono::{TimeDelta, Utc};
use prefect::prelude::*;
use prefect::store::prelude::*;
use prefect::store::{NewFlowRun, PostgresOptions};
use prefect::{FlowRunId, Worker};

const CHILD: &str = "WORKERS_BENCH_CHILD";
const WORKERS: usize = 4;
const THROUGHPUT_RUNS: usize = 4_000;
const LATENCY_RUNS: usize = 300;

#[flow]
async fn empty() {}

fn runs_due(deployment: &prefect::store::Deployment, count: usize) -> Vec<NewFlowRun> {
    let now = Utc::now();
    (0..count)
        .map(|i| NewFlowRun {
            id: FlowRunId::new(),
            deployment: deployment.id,
            name: format!("bench-{i}"),
            parameters: serde_json::json!({}),
            scheduled: now,
            auto_scheduled: false,
            parent_flow_run_id: None,
            created: now,
        })
        .collect()
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

/// Runs `sql` and returns the first column of its one row.
async fn count(client: &tokio_postgres::Client, sql: &str) -> i64 {
    client.query_one(sql, &[]).await.unwrap().get(0)
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    if std::env::var(CHILD).is_ok() {
        let report = rt.block_on(Worker::new().flows([empty::entry()]).limit(16).run()).unwrap();
        println!("REPORT completed={}", report.completed);
        return;
    }
    if std::env::args().any(|a| a == "--list" || a == "--test") {
        return;
    }
    let base = std::env::var("PREFECT_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgresql://postgres@127.0.0.1:5432/test".to_owned());
    if std::net::TcpStream::connect_timeout(&([127, 0, 0, 1], 5432).into(), Duration::from_secs(2)).is_err() {
        println!("workers_postgres: SKIPPED, no PostgreSQL server answers at {base}");
        return;
    }
    let schema = format!("prefect_bench_workers_{}", std::process::id());
    let separator = if base.contains('?') { '&' } else { '?' };
    let url = format!("{base}{separator}options=-csearch_path%3D{schema}");
    let store = PostgresOptions::new().schema(&schema).open(&base).unwrap();
    let home = tempfile::tempdir().unwrap();
    let mut workers: Vec<Child> = (0..WORKERS)
        .map(|_| {
            Command::new(std::env::current_exe().unwrap())
                .env(CHILD, "1")
                .env("PREFECT_HOME", home.path())
                .env("PREFECT_API_DATABASE_URL", &url)
                .env("PREFECT_LOGGING_LEVEL", "WARNING")
                .stdout(Stdio::null())
                .spawn()
                .unwrap()
        })
        .collect();
    rt.block_on(async {
        let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await.unwrap();
        tokio::spawn(connection);
        let deployment = store.upsert_deployment(&empty::deployment("bench").spec().unwrap()).await.unwrap();
        let deadline = Instant::now() + Duration::from_secs(60);
        while store.list_workers().await.unwrap().len() < WORKERS {
            assert!(Instant::now() < deadline, "the workers did not report");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }

        // Throughput: everything queued at once.
        let runs = runs_due(&deployment, THROUGHPUT_RUNS);
        let start = Instant::now();
        store.create_flow_runs(&runs).await.unwrap();
        let done_sql = "SELECT COUNT(*) FROM flow_runs WHERE state_type = 6";
        let deadline = Instant::now() + Duration::from_secs(300);
        while count(&client, done_sql).await < THROUGHPUT_RUNS as i64 {
            assert!(Instant::now() < deadline, "the runs did not complete in time");
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        let elapsed = start.elapsed().as_secs_f64();
        let per_worker = client
            .query("SELECT COUNT(DISTINCT lease_id) FROM flow_runs WHERE state_type = 6", &[])
            .await
            .unwrap()[0]
            .get::<_, i64>(0);
        println!(
            "workers_postgres: {THROUGHPUT_RUNS} empty flow runs through {WORKERS} worker processes \
             (PostgreSQL recording, {per_worker} workers took runs): {:.0} runs/s ({:.0} µs per run)",
            THROUGHPUT_RUNS as f64 / elapsed,
            elapsed * 1e6 / THROUGHPUT_RUNS as f64
        );

        // Latency: one run at a time, created at a random moment.
        let mut delays = Vec::with_capacity(LATENCY_RUNS);
        let mut claims = Vec::with_capacity(LATENCY_RUNS);
        for _ in 0..LATENCY_RUNS {
            let phase = u64::from(Utc::now().timestamp_subsec_micros() % 23_000);
            tokio::time::sleep(Duration::from_micros(phase)).await;
            let run = runs_due(&deployment, 1).remove(0);
            store.create_flow_runs(std::slice::from_ref(&run)).await.unwrap();
            let deadline = Instant::now() + Duration::from_secs(30);
            let running = loop {
                let detail = store.inspect_flow_run(run.id, 0).await.unwrap();
                if let Some(state) = detail.states.iter().find(|s| s.state_type == StateType::Running) {
                    let pending = detail.states.iter().find(|s| s.state_type == StateType::Pending).unwrap();
                    claims.push(
                        (pending.timestamp - run.scheduled).num_microseconds().unwrap() as f64 / 1000.0,
                    );
                    break state.timestamp;
                }
                assert!(Instant::now() < deadline, "a run was not started");
                tokio::time::sleep(Duration::from_micros(500)).await;
            };
            let scheduled = run.scheduled - TimeDelta::zero();
            delays.push((running - scheduled).num_microseconds().unwrap() as f64 / 1000.0);
        }
        delays.sort_by(f64::total_cmp);
        claims.sort_by(f64::total_cmp);
        println!(
            "workers_postgres: run created due now to Running in one of {WORKERS} idle workers over \
             {LATENCY_RUNS} runs: p50 {:.2} ms, p99 {:.2} ms (claimed: p50 {:.2} ms, p99 {:.2} ms)",
            percentile(&delays, 0.5),
            percentile(&delays, 0.99),
            percentile(&claims, 0.5),
            percentile(&claims, 0.99)
        );
    });
    for worker in &mut workers {
        let _ = worker.kill();
        let _ = worker.wait();
    }
    drop(store);
    rt.block_on(async {
        let (client, connection) = tokio_postgres::connect(&base, tokio_postgres::NoTls).await.unwrap();
        tokio::spawn(connection);
        client.batch_execute(&format!("DROP SCHEMA {schema} CASCADE")).await.unwrap();
    });
}
