//! Orchestration figures of issue 12, on the SQLite run database in a
//! temporary `$PREFECT_HOME`:
//!
//! - latency from a run's scheduled time to Running in the worker, p50 and
//!   p99 over 1,000 runs due 20 ms apart (read from the states stored);
//! - the same for runs created due now while the worker idles (as
//!   `prefect deployment run` creates them), 200 one at a time;
//! - throughput: empty flow runs per second through one worker with
//!   SQLite recording (2,000 runs due at once, a limit of 16);
//! - idle cost of a serving process: CPU time and resident memory of a
//!   child process serving 100 deployments with no due runs, over
//!   `ORCHESTRATION_IDLE_SECS` seconds (default 60).
//!
//! `cargo bench --bench orchestration`. `ORCHESTRATION_ONLY=latency,
//! immediate,throughput,idle` picks figures.

use std::time::{Duration, Instant};

use chrono::{TimeDelta, Utc};
use prefect::prelude::*;
use prefect::store::prelude::*;
use prefect::store::{FlowRunFilter, NewFlowRun, SqliteStore};
use prefect::{FlowRunId, Worker};

const CHILD: &str = "ORCHESTRATION_BENCH_CHILD";

#[flow]
async fn empty() {}

fn wanted(figure: &str) -> bool {
    match std::env::var("ORCHESTRATION_ONLY") {
        Ok(list) => list.split(',').any(|f| f.trim() == figure),
        Err(_) => true,
    }
}

fn runs_due(
    deployment: &prefect::store::Deployment,
    count: usize,
    first: chrono::DateTime<Utc>,
    gap: TimeDelta,
) -> Vec<NewFlowRun> {
    (0..count)
        .map(|i| NewFlowRun {
            id: FlowRunId::new(),
            deployment: deployment.id,
            name: format!("bench-{i}"),
            parameters: serde_json::json!({}),
            scheduled: first + gap * i as i32,
            auto_scheduled: false,
            parent_flow_run_id: None,
            created: Utc::now(),
        })
        .collect()
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

async fn latency(store: &SqliteStore) {
    const RUNS: usize = 1_000;
    let deployment = store.upsert_deployment(&empty::deployment("latency").spec().unwrap()).await.unwrap();
    let first = Utc::now() + TimeDelta::milliseconds(500);
    let runs = runs_due(&deployment, RUNS, first, TimeDelta::milliseconds(20));
    store.create_flow_runs(&runs).await.unwrap();
    let worker = Worker::new().flows([empty::entry()]).handle_signals(false);
    let stop = worker.stop_token();
    let handle = tokio::spawn(worker.run());
    let last = runs.last().unwrap().scheduled;
    while Utc::now() < last + TimeDelta::milliseconds(500) {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    stop.cancel();
    handle.await.unwrap().unwrap();
    let mut delays = Vec::with_capacity(RUNS);
    for run in &runs {
        let detail = store.inspect_flow_run(run.id, 0).await.unwrap();
        let running = detail.states.iter().find(|s| s.state_type == StateType::Running).expect("the run ran");
        delays.push((running.timestamp - run.scheduled).num_microseconds().unwrap() as f64 / 1000.0);
    }
    delays.sort_by(f64::total_cmp);
    println!(
        "orchestration: scheduled time to Running over {RUNS} runs: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        percentile(&delays, 0.5),
        percentile(&delays, 0.99),
        delays[RUNS - 1]
    );
}

/// Runs created due now while a worker idles (what `prefect deployment run`
/// does), one at a time at a random moment: how long until each is Running.
async fn immediate(store: &SqliteStore) {
    const RUNS: usize = 200;
    let deployment = store.upsert_deployment(&empty::deployment("immediate").spec().unwrap()).await.unwrap();
    let worker = Worker::new().flows([empty::entry()]).handle_signals(false);
    let stop = worker.stop_token();
    let handle = tokio::spawn(worker.run());
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut delays = Vec::with_capacity(RUNS);
    for _ in 0..RUNS {
        // A person's command arrives at any moment of the worker's poll.
        let phase = u64::from(Utc::now().timestamp_subsec_micros() % 37_000);
        tokio::time::sleep(Duration::from_micros(phase)).await;
        let run = runs_due(&deployment, 1, Utc::now(), TimeDelta::zero()).remove(0);
        store.create_flow_runs(std::slice::from_ref(&run)).await.unwrap();
        let running = loop {
            let detail = store.inspect_flow_run(run.id, 0).await.unwrap();
            if let Some(state) = detail.states.iter().find(|s| s.state_type == StateType::Running) {
                break state.timestamp;
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        };
        delays.push((running - run.scheduled).num_microseconds().unwrap() as f64 / 1000.0);
    }
    stop.cancel();
    handle.await.unwrap().unwrap();
    delays.sort_by(f64::total_cmp);
    println!(
        "orchestration: run created due now to Running in an idle worker over {RUNS} runs: p50 {:.2} ms, p99 {:.2} ms",
        percentile(&delays, 0.5),
        percentile(&delays, 0.99)
    );
}

async fn throughput(store: &SqliteStore) {
    const RUNS: usize = 2_000;
    let deployment = store.upsert_deployment(&empty::deployment("throughput").spec().unwrap()).await.unwrap();
    let runs = runs_due(&deployment, RUNS, Utc::now() - TimeDelta::seconds(1), TimeDelta::zero());
    store.create_flow_runs(&runs).await.unwrap();
    let start = Instant::now();
    let report =
        Worker::new().flows([empty::entry()]).limit(16).run_once().handle_signals(false).run().await.unwrap();
    let elapsed = start.elapsed().as_secs_f64();
    assert_eq!(report.completed, RUNS as u64);
    let completed = store
        .list_flow_runs(&FlowRunFilter::new().state(StateType::Completed).limit(usize::MAX >> 1))
        .await
        .unwrap()
        .len();
    assert!(completed >= RUNS);
    println!(
        "orchestration: {RUNS} empty flow runs through one worker (SQLite recording): {:.0} runs/s ({:.0} µs per run)",
        RUNS as f64 / elapsed,
        elapsed * 1e6 / RUNS as f64
    );
}

/// CPU ticks (user + system) and resident pages of a process, from /proc.
fn proc_usage(pid: u32) -> Option<(u64, u64)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let fields: Vec<&str> = stat[stat.rfind(')')? + 2..].split_whitespace().collect();
    let ticks = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    let statm = std::fs::read_to_string(format!("/proc/{pid}/statm")).ok()?;
    let resident = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some((ticks, resident))
}

fn idle(home: &std::path::Path) {
    let secs: u64 = std::env::var("ORCHESTRATION_IDLE_SECS").ok().and_then(|s| s.parse().ok()).unwrap_or(60);
    let mut child = std::process::Command::new(std::env::current_exe().unwrap())
        .env(CHILD, "idle")
        .env("PREFECT_HOME", home)
        .env("PREFECT_LOGGING_LEVEL", "WARNING")
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Measured from the moment the child says it serves.
    let mut line = String::new();
    std::io::BufRead::read_line(&mut std::io::BufReader::new(child.stdout.take().unwrap()), &mut line)
        .unwrap();
    assert!(line.contains("SERVING"), "{line}");
    let (ticks0, _) = proc_usage(child.id()).unwrap();
    std::thread::sleep(Duration::from_secs(secs));
    let (ticks1, pages) = proc_usage(child.id()).unwrap();
    let _ = child.kill();
    let _ = child.wait();
    let tick = 0.01; // USER_HZ is 100 on Linux.
    let cpu = (ticks1 - ticks0) as f64 * tick;
    println!(
        "orchestration: idle serve of 100 deployments over {secs} s: {:.2} s CPU ({:.2}%), {:.1} MiB resident",
        cpu,
        cpu * 100.0 / secs as f64,
        pages as f64 * 4096.0 / (1024.0 * 1024.0)
    );
}

/// The idle serving process: 100 hourly deployments, none due soon.
async fn serve_idle() {
    let deployments: Vec<_> = (0..100)
        .map(|i| {
            empty::deployment(format!("hourly-{i}")).cron(&format!("{} 3 * * *", i % 60), "Europe/Berlin")
        })
        .collect();
    let serve = prefect::serve(deployments).handle_signals(false);
    let stop = serve.stop_token();
    let handle = tokio::spawn(serve.into_future());
    // Serving starts with registration and the first beat: say so after it.
    tokio::time::sleep(Duration::from_secs(2)).await;
    println!("SERVING");
    use std::io::Write;
    std::io::stdout().flush().unwrap();
    handle.await.unwrap().unwrap();
    drop(stop);
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    if std::env::var(CHILD).is_ok() {
        rt.block_on(serve_idle());
        return;
    }
    if std::env::args().any(|a| a == "--list" || a == "--test") {
        return;
    }
    let home = tempfile::tempdir().unwrap();
    // The workers of this process find the run database through the
    // settings: point them at the temporary home before anything reads them.
    let mut settings = prefect::settings::Settings::defaults(home.path());
    settings.logging_level = prefect::settings::LogLevel::Warning;
    prefect::settings::set_current(settings).unwrap();
    let store = SqliteStore::open(home.path().join("prefect.db")).unwrap();
    rt.block_on(async {
        if wanted("latency") {
            latency(&store).await;
        }
        if wanted("immediate") {
            immediate(&store).await;
        }
        if wanted("throughput") {
            throughput(&store).await;
        }
    });
    if wanted("idle") {
        idle(home.path());
    }
}
