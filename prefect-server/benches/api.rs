//! Latency of the API on a large run database, over loopback:
//! 100,000 flow runs and 1,000,000 task runs, one run with 10,000 task
//! runs (a tree of dependencies) and 100,000 log lines. Prints p50 and p95
//! per call (200 calls each, one at a time, a new connection per call), for
//! API calls and the UI's pages.
//!
//! `cargo bench -p prefect-server --bench api`. Building the database
//! takes a while; `API_BENCH_DB=path` keeps it there for the next run.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use prefect_model::{LogLevel, StateType};
use prefect_server::Server;
use prefect_store::AnyStore;
use prefect_store::conformance::Events;
use prefect_store::prelude::*;
use prefect_store_sqlite::SqliteStore;

const FLOW_RUNS: usize = 100_000;
const TASK_RUNS: usize = 1_000_000;
const BIG_TASKS: usize = 10_000;
const BIG_LOGS: usize = 100_000;
const CALLS: usize = 200;

/// Fills `store`; returns the id of the big run.
fn populate(store: &SqliteStore) -> prefect_model::FlowRunId {
    let write =
        |events: &mut Events| futures::executor::block_on(store.write_events(None, &events.take())).unwrap();
    let mut events = Events::starting_ago(Duration::from_secs(30 * 86_400));
    let big = events.flow_run("etl", "big-run");
    events.state(big, StateType::Running);
    // Its task runs form a binary tree of dependencies (14 columns deep).
    let mut tasks = Vec::with_capacity(BIG_TASKS);
    for i in 0..BIG_TASKS {
        let task = events.task_run(Some(big), "extract");
        if i > 0 {
            events.dependency(task, tasks[(i - 1) / 2], prefect_model::DependencyKind::WaitFor);
        }
        tasks.push(task);
        events.lifecycle(task, if i % 100 == 0 { StateType::Failed } else { StateType::Completed });
        if i % 5_000 == 4_999 {
            write(&mut events);
        }
    }
    for i in 0..BIG_LOGS {
        events.log(Some(big), None, LogLevel::Info, &format!("line {i}"));
        if i % 20_000 == 0 {
            write(&mut events);
        }
    }
    events.state(big, StateType::Failed);
    write(&mut events);
    let per_run = (TASK_RUNS - BIG_TASKS) / (FLOW_RUNS - 1);
    for i in 1..FLOW_RUNS {
        let flow = ["etl", "report", "ingest", "sync"][i % 4];
        let run = events.flow_run(flow, &format!("run-{i}"));
        events.state(run, StateType::Running);
        for _ in 0..per_run {
            let task = events.task_run(Some(run), "step");
            events.lifecycle(task, StateType::Completed);
        }
        events.state(run, if i % 50 == 0 { StateType::Failed } else { StateType::Completed });
        if i % 500 == 0 {
            write(&mut events);
        }
    }
    write(&mut events);
    big
}

fn call(addr: SocketAddr, path: &str) -> (Duration, usize) {
    let start = Instant::now();
    let mut stream = TcpStream::connect(addr).unwrap();
    write!(stream, "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).unwrap();
    let elapsed = start.elapsed();
    assert!(
        response.starts_with(b"HTTP/1.1 200"),
        "{path}: {}",
        String::from_utf8_lossy(&response[..200.min(response.len())])
    );
    (elapsed, response.len())
}

fn report(addr: SocketAddr, what: &str, path: &str) {
    call(addr, path);
    let mut times: Vec<Duration> = Vec::with_capacity(CALLS);
    let mut bytes = 0;
    for _ in 0..CALLS {
        let (time, size) = call(addr, path);
        times.push(time);
        bytes = size;
    }
    times.sort_unstable();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!(
        "api: {what}: p50 {:.1} ms, p95 {:.1} ms ({} KB, {CALLS} calls)",
        ms(times[CALLS / 2]),
        ms(times[CALLS * 95 / 100]),
        bytes / 1024
    );
}

fn main() {
    let dir = tempfile::tempdir().unwrap();
    let path = std::env::var_os("API_BENCH_DB").map_or_else(|| dir.path().join("runs.db"), Into::into);
    let fresh = !path.exists();
    let sqlite = SqliteStore::open(&path).unwrap();
    let big = if fresh {
        let start = Instant::now();
        let big = populate(&sqlite);
        println!(
            "api: database of {FLOW_RUNS} flow runs, {TASK_RUNS} task runs built in {:.1} s",
            start.elapsed().as_secs_f64()
        );
        big
    } else {
        let runs =
            futures::executor::block_on(sqlite.resolve_run("big-run", prefect_store::RunScope::FlowRuns))
                .unwrap();
        match runs {
            prefect_model::RunId::Flow(id) => id,
            prefect_model::RunId::Task(_) => panic!("`big-run` resolved to a task run"),
        }
    };
    let store = AnyStore::new(sqlite);
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let server = runtime.block_on(Server::builder(store).port(0).bind()).unwrap();
    let addr = server.local_addr();
    runtime.spawn(server.serve(std::future::pending()));
    report(addr, "runs list, newest 50", "/api/flow_runs?limit=50");
    report(addr, "failed runs list, newest 50", "/api/flow_runs?state=failed&limit=50");
    report(addr, "runs of one flow, newest 50", "/api/flow_runs?flow=report&limit=50");
    report(addr, "run page, a run with 10,000 task runs (first 100)", &format!("/api/flow_runs/{}", big.0));
    report(addr, "task runs of that run, first page of 100", &format!("/api/flow_runs/{}/task_runs", big.0));
    report(
        addr,
        "task runs of that run, first 1,000",
        &format!("/api/flow_runs/{}/task_runs?limit=1000", big.0),
    );
    report(
        addr,
        "logs of a run with 100,000 lines, first page of 100",
        &format!("/api/flow_runs/{}/logs", big.0),
    );
    report(addr, "runs list, name search (a scan)", "/api/flow_runs?name=run-9999&limit=50");
    report(
        addr,
        "graph of the run with 10,000 task runs, laid out",
        &format!("/api/flow_runs/{}/graph", big.0),
    );
    report(addr, "task runs across flow runs, newest 50", "/api/task_runs?limit=50");
    report(addr, "task runs of one flow, newest 50", "/api/task_runs?flow=report&limit=50");
    report(
        addr,
        "failed task runs, newest 50 (all in the oldest run: a scan)",
        "/api/task_runs?state=failed&limit=50",
    );
    report(addr, "page: dashboard", "/");
    report(addr, "page: dashboard, 30 days (1,000 runs counted)", "/?window=30d");
    report(addr, "page: runs list", "/runs");
    report(addr, "page: the run with 10,000 task runs", &format!("/runs/{}", big.0));
}
