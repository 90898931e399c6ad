//! Workers of one binary on several "machines", sharing a PostgreSQL run
//! database: each worker is this test binary again, in a child process
//! that sets nothing up but `PREFECT_API_DATABASE_URL`.
//!
//! The machines are network namespaces joined to this one by veth pairs,
//! each with a host name of its own (a UTS namespace), so a worker's lease
//! is judged as another machine's: only its expiry tells that it died. The
//! workers there reach the database over TCP through a forwarder this test
//! runs on the host side of their veth.
//!
//! Uses schemas in the database of `PREFECT_TEST_POSTGRES_URL` (default
//! `postgresql://postgres@127.0.0.1:5432/test`), dropped after. Without a
//! server the tests print why they skip; under `CI=true` they fail. The
//! namespace test needs root and `ip`; elsewhere it skips with the reason.

use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use chrono::{TimeDelta, Utc};
use prefect::FlowRunId;
use prefect::Worker;
use prefect::prelude::*;
use prefect::store::prelude::*;
use prefect::store::{NewFlowRun, PostgresOptions, PostgresStore};

mod common;

use common::{Running, fragile, mark, start, wait_for_line};

const CHILD: &str = "PREFECT_TEST_PG_WORKER";

/// Takes 20 ms, and appends when it ran (microseconds since the epoch,
/// start and end) to the file `out`.
#[flow]
async fn timed(out: String) -> Result<(), std::io::Error> {
    use std::io::Write;
    let now = || std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_micros();
    let start = now();
    tokio::time::sleep(Duration::from_millis(20)).await;
    let line = format!("{start} {}\n", now());
    std::fs::OpenOptions::new().create(true).append(true).open(out)?.write_all(line.as_bytes())
}

/// In the child: work as the parent asked.
#[tokio::test]
async fn child_body() {
    let Ok(mode) = std::env::var(CHILD) else { return };
    let report = match mode.as_str() {
        "worker-once" => Worker::new().flows([mark::entry()]).run_once().run().await,
        "timed" => Worker::new().flows([timed::entry()]).run_once().run().await,
        "marker" => Worker::new().flows([mark::entry()]).heartbeat(Duration::from_millis(100)).run().await,
        "fragile" => {
            Worker::new()
                .flows([fragile::entry(), mark::entry()])
                .heartbeat(Duration::from_millis(100))
                .lease_ttl(Duration::from_millis(500))
                .run()
                .await
        }
        other => panic!("unknown mode {other}"),
    };
    let report = report.unwrap();
    println!("REPORT started={} completed={}", report.started, report.completed);
}

/// The database's URL, or `None` (with the reason printed).
fn server() -> Option<String> {
    let url = std::env::var("PREFECT_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgresql://postgres@127.0.0.1:5432/test".to_owned());
    if TcpStream::connect_timeout(&([127, 0, 0, 1], 5432).into(), Duration::from_secs(2)).is_ok() {
        return Some(url);
    }
    assert!(std::env::var("CI").as_deref() != Ok("true"), "CI=true and no PostgreSQL answers at {url}");
    eprintln!("SKIPPED the PostgreSQL worker tests: no server answers at {url}");
    None
}

/// A schema of this test's, dropped with it; `url` points connections at it.
struct Schema {
    base: String,
    name: String,
    url: String,
}

impl Schema {
    fn new(base: &str, test: &str) -> Schema {
        let name = format!("prefect_workers_{}_{test}", std::process::id());
        let separator = if base.contains('?') { '&' } else { '?' };
        let url = format!("{base}{separator}options=-csearch_path%3D{name}");
        let schema = Schema { base: base.to_owned(), name, url };
        schema.drop_it();
        schema
    }

    /// The store, which creates the schema and its tables.
    fn open(&self) -> PostgresStore {
        PostgresOptions::new().schema(&self.name).open(&self.base).unwrap()
    }

    /// The URL with its host replaced: how a namespace reaches it.
    fn url_via(&self, host: Ipv4Addr) -> String {
        self.url.replacen("127.0.0.1", &host.to_string(), 1).replacen("localhost", &host.to_string(), 1)
    }

    fn drop_it(&self) {
        let (base, name) = (self.base.clone(), self.name.clone());
        // On a thread of its own: the tests are async, and a runtime cannot
        // block inside another.
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            runtime.block_on(async {
                let (client, connection) =
                    tokio_postgres::connect(&base, tokio_postgres::NoTls).await.unwrap();
                let driver = tokio::spawn(connection);
                client.batch_execute(&format!("DROP SCHEMA IF EXISTS {name} CASCADE")).await.unwrap();
                drop(client);
                let _ = driver.await;
            });
        });
        dropped.join().expect("the schema was dropped");
    }
}

impl Drop for Schema {
    fn drop(&mut self) {
        self.drop_it();
    }
}

fn child(home: &Path, url: &str, mode: &str) -> Command {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args(["child_body", "--exact", "--nocapture", "--test-threads=1"]);
    configure(&mut cmd, home, url, mode);
    cmd
}

fn configure(cmd: &mut Command, home: &Path, url: &str, mode: &str) {
    cmd.env(CHILD, mode)
        .env("PREFECT_HOME", home)
        .env("PREFECT_API_DATABASE_URL", url)
        .env_remove("PREFECT_API_URL")
        .env_remove("PREFECT_RECORDING_ENABLED");
}

fn run_now(deployment: &prefect::store::Deployment, parameters: serde_json::Value) -> NewFlowRun {
    NewFlowRun {
        id: FlowRunId::new(),
        deployment: deployment.id,
        name: "by-hand".into(),
        parameters,
        scheduled: Utc::now() - TimeDelta::seconds(1),
        auto_scheduled: false,
        parent_flow_run_id: None,
        created: Utc::now(),
    }
}

async fn state_names(store: &PostgresStore, id: FlowRunId) -> Vec<String> {
    store.inspect_flow_run(id, 0).await.unwrap().states.iter().map(|s| s.name.to_string()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_workers_on_postgresql_run_each_of_a_thousand_runs_exactly_once() {
    let Some(base) = server() else { return };
    let schema = Schema::new(&base, "bulk");
    let store = schema.open();
    let home = tempfile::tempdir().unwrap();
    let out = home.path().join("executions.txt");
    let deployment = store.upsert_deployment(&mark::deployment("bulk").spec().unwrap()).await.unwrap();
    let runs: Vec<NewFlowRun> = (0..1000)
        .map(|_| run_now(&deployment, serde_json::json!({ "out": out.to_string_lossy() })))
        .collect();
    assert_eq!(store.create_flow_runs(&runs).await.unwrap().len(), 1000);

    let children: Vec<Running> = (0..4)
        .map(|_| {
            start(child(home.path(), &schema.url, "worker-once").stdout(Stdio::piped()).stderr(Stdio::null()))
        })
        .collect();
    let mut started = Vec::new();
    for c in children {
        let output = c.output();
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(output.status.success(), "{stdout}");
        let report =
            stdout.split("REPORT started=").nth(1).unwrap_or_else(|| panic!("no report in {stdout}"));
        started.push(report.split(' ').next().unwrap().parse::<usize>().unwrap());
    }
    assert_eq!(started.iter().sum::<usize>(), 1000, "the workers started 1000 runs in all: {started:?}");
    let executed = std::fs::read_to_string(&out).unwrap();
    let mut ids: Vec<&str> = executed.lines().collect();
    assert_eq!(ids.len(), 1000, "every run executed once in all");
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 1000, "no run executed twice");
    for run in &runs {
        assert_eq!(state_names(&store, run.id).await, ["Scheduled", "Pending", "Running", "Completed"]);
    }
    assert!(store.queued_runs(None, None, 10).await.unwrap().is_empty());
}

/// A network namespace joined to this one by a veth pair, with a TCP
/// forwarder from its host-side address to the local PostgreSQL.
struct Machine {
    namespace: String,
    host_side: String,
    /// The address the namespace reaches the database at.
    gateway: Ipv4Addr,
}

impl Machine {
    /// Machine `index` of this test process; `None` when namespaces cannot
    /// be made here (the reason is returned).
    fn new(index: u8) -> Result<Machine, String> {
        let tag = std::process::id() % 10_000;
        let namespace = format!("pfw{tag}n{index}");
        let host_side = format!("pfw{tag}h{index}");
        let peer = format!("pfw{tag}p{index}");
        // 10.231.X.Y/30 per machine: X and Y from the pid and the index.
        let block = (tag % 60) as u8 * 4 + index;
        let gateway = Ipv4Addr::new(10, 231, block, 1);
        let inside = Ipv4Addr::new(10, 231, block, 2);
        let machine = Machine { namespace: namespace.clone(), host_side: host_side.clone(), gateway };
        machine.teardown();
        let steps: [&[&str]; 8] = [
            &["netns", "add", &namespace],
            &["link", "add", &host_side, "type", "veth", "peer", "name", &peer, "netns", &namespace],
            &["addr", "add", &format!("{gateway}/30"), "dev", &host_side],
            &["link", "set", &host_side, "up"],
            &["-n", &namespace, "addr", "add", &format!("{inside}/30"), "dev", &peer],
            &["-n", &namespace, "link", "set", &peer, "up"],
            &["-n", &namespace, "link", "set", "lo", "up"],
            &["-n", &namespace, "route", "add", "default", "via", &gateway.to_string()],
        ];
        for step in steps {
            let out = Command::new("ip").args(step).output().map_err(|e| format!("`ip` cannot run: {e}"))?;
            if !out.status.success() {
                return Err(format!(
                    "`ip {}` failed: {}",
                    step.join(" "),
                    String::from_utf8_lossy(&out.stderr)
                ));
            }
        }
        let listener =
            TcpListener::bind((gateway, 5432)).map_err(|e| format!("cannot listen on {gateway}: {e}"))?;
        std::thread::spawn(move || forward(listener));
        Ok(machine)
    }

    /// A command run in the namespace under host name `host`.
    fn command(&self, host: &str, program: &Path) -> Command {
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", &self.namespace, "unshare", "--uts", "sh", "-c"])
            .arg("hostname \"$0\" && exec \"$@\"")
            .arg(host)
            .arg(program);
        cmd
    }

    fn teardown(&self) {
        let _ = Command::new("ip").args(["link", "del", &self.host_side]).stderr(Stdio::null()).status();
        let _ = Command::new("ip").args(["netns", "del", &self.namespace]).stderr(Stdio::null()).status();
    }
}

impl Drop for Machine {
    fn drop(&mut self) {
        self.teardown();
    }
}

/// Sends every connection made to `listener` on to 127.0.0.1:5432.
fn forward(listener: TcpListener) {
    for inbound in listener.incoming() {
        let Ok(inbound) = inbound else { return };
        let Ok(outbound) = TcpStream::connect(("127.0.0.1", 5432)) else { continue };
        let (mut in_read, mut out_write) = (inbound.try_clone().unwrap(), outbound.try_clone().unwrap());
        std::thread::spawn(move || {
            let _ = std::io::copy(&mut in_read, &mut out_write);
            let _ = out_write.shutdown(std::net::Shutdown::Write);
        });
        let (mut out_read, mut in_write) = (outbound, inbound);
        std::thread::spawn(move || {
            let _ = std::io::copy(&mut out_read, &mut in_write);
            let _ = in_write.shutdown(std::net::Shutdown::Write);
        });
    }
}

/// Two machines, or the reason there are none (printed; a failure under
/// `CI=true`, where this machine can make them).
fn machines() -> Option<(Machine, Machine)> {
    match Machine::new(0).and_then(|a| Ok((a, Machine::new(1)?))) {
        Ok(pair) => Some(pair),
        Err(reason) => {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "CI=true and no network namespaces: {reason}"
            );
            eprintln!("SKIPPED the network-namespace worker test: {reason}");
            None
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_killed_on_another_machine_crashes_its_runs_and_the_retry_runs_on_the_other() {
    let Some(base) = server() else { return };
    let Some((first_machine, second_machine)) = machines() else { return };
    let schema = Schema::new(&base, "netns");
    let store = schema.open();
    let home = tempfile::tempdir().unwrap();
    let out = home.path().join("executions.txt");
    // The run that hangs is due first, so the first worker takes it; then
    // ordinary runs that both machines share, some in flight at the kill.
    let deployment = store.upsert_deployment(&fragile::deployment("manual").spec().unwrap()).await.unwrap();
    let mut run = run_now(&deployment, serde_json::json!({}));
    run.scheduled -= TimeDelta::seconds(10);
    store.create_flow_runs(std::slice::from_ref(&run)).await.unwrap();
    let bulk = store.upsert_deployment(&mark::deployment("bulk").spec().unwrap()).await.unwrap();
    let marks: Vec<NewFlowRun> =
        (0..300).map(|_| run_now(&bulk, serde_json::json!({ "out": out.to_string_lossy() }))).collect();
    store.create_flow_runs(&marks).await.unwrap();
    let exe = std::env::current_exe().unwrap();
    let spawn = |machine: &Machine, host: &str| {
        let mut cmd = machine.command(host, &exe);
        cmd.args(["child_body", "--exact", "--nocapture", "--test-threads=1"]);
        configure(&mut cmd, home.path(), &schema.url_via(machine.gateway), "fragile");
        start(cmd.stdout(Stdio::piped()).stderr(Stdio::null()))
    };

    // The first machine's worker takes the run and hangs in it.
    let mut first = spawn(&first_machine, "machine-a");
    wait_for_line(&mut first, "HANGING");
    let workers = store.list_workers().await.unwrap();
    assert_eq!(workers.len(), 1);
    assert_eq!(workers[0].host.as_deref(), Some("machine-a"), "the worker reports its own machine");
    let mut second = spawn(&second_machine, "machine-b");
    first.stop();

    // The second machine's worker cannot see that process: the runs it held
    // crash when the dead worker's lease lapses, and the one whose flow has
    // a retry left comes back to the queue.
    let final_states = async || {
        let mut ended = 0;
        for id in marks.iter().map(|m| m.id).chain([run.id]) {
            let state = store.inspect_flow_run(id, 0).await.unwrap().run.state.unwrap();
            ended +=
                usize::from(state.is_final() && !(id == run.id && state.state_type == StateType::Crashed));
        }
        ended
    };
    let deadline = Instant::now() + Duration::from_secs(120);
    while final_states().await < marks.len() + 1 {
        assert!(Instant::now() < deadline, "runs did not end: {:?}", state_names(&store, run.id).await);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    second.stop();
    let names = state_names(&store, run.id).await;
    assert_eq!(
        names,
        ["Scheduled", "Pending", "Running", "Crashed", "AwaitingRetry", "Pending", "Retrying", "Completed"]
    );
    let detail = store.inspect_flow_run(run.id, 0).await.unwrap();
    assert_eq!(detail.run.run_count, 2, "it ran twice, one attempt after the other");
    let crashed = detail.states.iter().find(|s| s.state_type == StateType::Crashed).unwrap();
    let retried = detail.states.iter().find(|s| s.name == "Retrying").unwrap();
    assert!(crashed.timestamp < retried.timestamp, "never two attempts at once");
    // Every ordinary run ran once and completed, or crashed with the
    // worker that was running it (its flow has no retries); none ran twice.
    let executed = std::fs::read_to_string(&out).unwrap_or_default();
    let mut ids: Vec<&str> = executed.lines().collect();
    let total = ids.len();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), total, "no run executed twice");
    let mut completed = 0;
    for mark in &marks {
        let states = state_names(&store, mark.id).await;
        match states.last().map(String::as_str) {
            Some("Completed") => {
                completed += 1;
                assert!(ids.contains(&&*mark.id.to_string()), "a completed run executed");
                // Claimed by the dead worker before it started, a run is
                // queued again (it never ran): it runs once all the same.
                let started = states.iter().filter(|s| *s == "Running").count();
                assert_eq!(started, 1, "{states:?}");
            }
            // Running when its worker died: no retries, so it stays Crashed.
            Some("Crashed") => assert_eq!(states, ["Scheduled", "Pending", "Running", "Crashed"]),
            other => panic!("run {} ended {other:?}", mark.id),
        }
    }
    eprintln!("{completed} of {} ordinary runs completed, the rest crashed with their worker", marks.len());
    assert!(completed >= marks.len() - 16, "at most one worker's limit of runs crashed: {completed}");
    let hosts: Vec<_> = store.list_workers().await.unwrap().into_iter().filter_map(|w| w.host).collect();
    assert!(hosts.contains(&"machine-b".to_owned()), "{hosts:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_work_queue_limit_holds_across_four_worker_processes() {
    let Some(base) = server() else { return };
    let schema = Schema::new(&base, "narrow");
    let store = schema.open();
    let home = tempfile::tempdir().unwrap();
    let out = home.path().join("spans.txt");
    let limit = prefect::store::WorkQueueUpdate { concurrency_limit: Some(Some(2)), ..Default::default() };
    store.update_work_queue("narrow", &limit).await.unwrap();
    let deployment = store
        .upsert_deployment(&timed::deployment("narrow").work_queue("narrow").spec().unwrap())
        .await
        .unwrap();
    let runs: Vec<NewFlowRun> =
        (0..40).map(|_| run_now(&deployment, serde_json::json!({ "out": out.to_string_lossy() }))).collect();
    store.create_flow_runs(&runs).await.unwrap();
    let workers: Vec<Running> = (0..4)
        .map(|_| {
            let mut cmd = child(home.path(), &schema.url, "timed");
            start(cmd.stdout(Stdio::piped()).stderr(Stdio::null()))
        })
        .collect();
    for worker in workers {
        assert!(worker.output().status.success());
    }
    let spans: Vec<(u128, u128)> = std::fs::read_to_string(&out)
        .unwrap()
        .lines()
        .map(|line| {
            let (start, end) = line.split_once(' ').unwrap();
            (start.parse().unwrap(), end.parse().unwrap())
        })
        .collect();
    assert_eq!(spans.len(), runs.len(), "every run ran once");
    // The most runs in their bodies at one moment: at a start, count the
    // spans that cover it.
    let most = spans.iter().map(|(at, _)| spans.iter().filter(|(s, e)| s <= at && at < e).count()).max();
    assert!(most.unwrap() <= 2, "at most 2 at once in a queue limited to 2: {most:?}");
    assert_eq!(most, Some(2), "the limit's room was used");
}

/// A forwarder to the local PostgreSQL that can cut every connection, as a
/// server restart or a network failure does, and refuse new ones for a
/// while.
struct Cutter {
    port: u16,
    open: std::sync::Arc<std::sync::Mutex<Vec<TcpStream>>>,
    refusing: std::sync::Arc<std::sync::atomic::AtomicBool>,
    refused: std::sync::Arc<std::sync::atomic::AtomicU32>,
}

impl Cutter {
    fn start() -> Cutter {
        use std::sync::atomic::Ordering;
        let listener = TcpListener::bind(("127.0.0.1", 0)).unwrap();
        let cutter = Cutter {
            port: listener.local_addr().unwrap().port(),
            open: Default::default(),
            refusing: Default::default(),
            refused: Default::default(),
        };
        let (open, refusing, refused) =
            (cutter.open.clone(), cutter.refusing.clone(), cutter.refused.clone());
        std::thread::spawn(move || {
            for inbound in listener.incoming() {
                let Ok(inbound) = inbound else { return };
                if refusing.load(Ordering::SeqCst) {
                    refused.fetch_add(1, Ordering::SeqCst);
                    drop(inbound);
                    continue;
                }
                let Ok(outbound) = TcpStream::connect(("127.0.0.1", 5432)) else { continue };
                let mut list = open.lock().unwrap();
                list.push(inbound.try_clone().unwrap());
                list.push(outbound.try_clone().unwrap());
                drop(list);
                let (mut in_read, mut out_write) =
                    (inbound.try_clone().unwrap(), outbound.try_clone().unwrap());
                std::thread::spawn(move || {
                    let _ = std::io::copy(&mut in_read, &mut out_write);
                    let _ = out_write.shutdown(std::net::Shutdown::Both);
                });
                let (mut out_read, mut in_write) = (outbound, inbound);
                std::thread::spawn(move || {
                    let _ = std::io::copy(&mut out_read, &mut in_write);
                    let _ = in_write.shutdown(std::net::Shutdown::Both);
                });
            }
        });
        cutter
    }

    /// Cuts every connection, then refuses new ones until `attempts` were
    /// refused (the clients noticed and are trying to come back).
    fn cut(&self, attempts: u32) {
        use std::sync::atomic::Ordering;
        self.refusing.store(true, Ordering::SeqCst);
        for stream in self.open.lock().unwrap().drain(..) {
            let _ = stream.shutdown(std::net::Shutdown::Both);
        }
        let deadline = Instant::now() + Duration::from_secs(60);
        while self.refused.load(Ordering::SeqCst) < attempts {
            assert!(Instant::now() < deadline, "nobody tried to reconnect");
            std::thread::sleep(Duration::from_millis(5));
        }
        self.refusing.store(false, Ordering::SeqCst);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workers_reconnect_after_the_database_connection_is_cut_and_lose_or_repeat_no_run() {
    let Some(base) = server() else { return };
    let schema = Schema::new(&base, "cut");
    let store = schema.open();
    let home = tempfile::tempdir().unwrap();
    let out = home.path().join("executions.txt");
    let deployment = store.upsert_deployment(&mark::deployment("cut").spec().unwrap()).await.unwrap();
    let runs: Vec<NewFlowRun> =
        (0..400).map(|_| run_now(&deployment, serde_json::json!({ "out": out.to_string_lossy() }))).collect();
    store.create_flow_runs(&runs).await.unwrap();
    let cutter = Cutter::start();
    let url = schema.url.replacen(":5432", &format!(":{}", cutter.port), 1);
    assert_ne!(url, schema.url, "the workers go through the cutter");
    let mut workers: Vec<Running> = (0..2)
        .map(|_| {
            let mut cmd = child(home.path(), &url, "marker");
            start(cmd.stdout(Stdio::null()).stderr(Stdio::null()))
        })
        .collect();
    let executed = || std::fs::read_to_string(&out).map(|text| text.lines().count()).unwrap_or(0);
    let deadline = Instant::now() + Duration::from_secs(120);
    while executed() < 40 {
        assert!(Instant::now() < deadline, "the workers did not start");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    // Mid-way: every connection is cut, and the server is away until the
    // workers have tried to come back twice.
    tokio::task::spawn_blocking(move || {
        cutter.cut(2);
        cutter
    })
    .await
    .unwrap();
    let completed = async || {
        let filter = prefect::store::FlowRunFilter::new().state(StateType::Completed).limit(10_000);
        store.list_flow_runs(&filter).await.unwrap().len()
    };
    while completed().await < runs.len() {
        assert!(Instant::now() < deadline, "only {} runs completed", completed().await);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    for worker in &mut workers {
        worker.stop();
    }
    let executed = std::fs::read_to_string(&out).unwrap();
    let mut ids: Vec<&str> = executed.lines().collect();
    assert_eq!(ids.len(), runs.len(), "every run executed once in all");
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), runs.len(), "no run executed twice");
    for run in &runs {
        assert_eq!(state_names(&store, run.id).await, ["Scheduled", "Pending", "Running", "Completed"]);
    }
}
