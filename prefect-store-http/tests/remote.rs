//! Recording to a real server on a loopback port: acknowledged batches,
//! a server stopped mid-flow and started again, a spool left by a dead
//! process, a key the server wants.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use prefect_model::{FlowRunId, LogLevel, Recorder, StateType};
use prefect_server::{ApiKey, Server};
use prefect_store::conformance::Events;
use prefect_store::prelude::*;
use prefect_store::{AnyStore, BatchingRecorder, FlowRunFilter, LogFilter, RecorderOptions};
use prefect_store_http::{HttpOptions, HttpStore};
use prefect_store_sqlite::SqliteStore;

/// A server over the database at `db`, on `port` (0: any); stops when the
/// returned sender is dropped or sent to.
async fn start_server(
    db: &Path,
    port: u16,
    key: Option<&str>,
) -> (SocketAddr, tokio::sync::oneshot::Sender<()>, tokio::task::JoinHandle<()>) {
    let store = AnyStore::new(SqliteStore::open(db).unwrap());
    let mut builder = Server::builder(store).port(port);
    if let Some(key) = key {
        builder = builder.api_key(ApiKey::new(key).unwrap());
    }
    let server = builder.bind().await.unwrap();
    let addr = server.local_addr();
    let (stop, stopped) = tokio::sync::oneshot::channel();
    let task = tokio::spawn(async move {
        server
            .serve(async move {
                let _ = stopped.await;
            })
            .await
            .unwrap();
    });
    (addr, stop, task)
}

/// The tests take turns: some pick a free port and leave it unbound for a
/// while, which another test's server must not take meanwhile.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// A loopback port that nothing listens on yet (bound, noted, let go).
fn free_port() -> (SocketAddr, u16) {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    (SocketAddr::from(([127, 0, 0, 1], port)), port)
}

fn api(addr: SocketAddr) -> String {
    format!("http://{addr}/api")
}

/// Polls `check` (a read of the database) until it holds: the spool is sent
/// by a background task after the server comes back.
async fn wait_until(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn states_of(db: &SqliteStore, run: FlowRunId) -> Vec<StateType> {
    let detail = futures::executor::block_on(db.inspect_flow_run(run, 0)).unwrap();
    detail.states.iter().map(|s| s.state_type).collect()
}

fn log_lines(db: &SqliteStore, run: FlowRunId) -> Vec<String> {
    let lines = futures::executor::block_on(db.logs(&LogFilter::of(run).limit(10_000))).unwrap();
    lines.into_iter().map(|l| l.record.message).collect()
}

fn spooled_files(root: &Path) -> usize {
    walk(root).iter().filter(|p| p.extension().is_some_and(|e| e == "batch" || e == "release")).count()
}

fn walk(root: &Path) -> Vec<std::path::PathBuf> {
    let Ok(entries) = std::fs::read_dir(root) else { return Vec::new() };
    let mut found = Vec::new();
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            found.extend(walk(&path));
        } else {
            found.push(path);
        }
    }
    found
}

fn start_recorder(store: HttpStore) -> BatchingRecorder {
    RecorderOptions::default().max_delay(Duration::from_millis(5)).start(Arc::new(store)).unwrap()
}

fn record(recorder: &BatchingRecorder, events: &mut Events) {
    for event in events.take() {
        recorder.record(event);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_stopped_mid_flow_loses_nothing_and_duplicates_nothing() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let dir = tempfile::tempdir().unwrap();
    let db_path = dir.path().join("server.db");
    let spool = dir.path().join("spool");
    let (addr, stop, served) = start_server(&db_path, 0, None).await;
    let store = HttpStore::connect(HttpOptions::new(api(addr)).spool_root(&spool)).unwrap();
    let recorder = start_recorder(store);

    // The flow starts while the server answers.
    let mut events = Events::starting_now();
    let run = events.flow_run("etl", "through-an-outage");
    events.state(run, StateType::Pending);
    events.state(run, StateType::Running);
    let mut expected_lines = Vec::new();
    for i in 0..50 {
        let line = format!("before the outage {i}");
        events.log(Some(run), None, LogLevel::Info, &line);
        expected_lines.push(line);
    }
    record(&recorder, &mut events);
    recorder.flush().await;
    let db = SqliteStore::open(&db_path).unwrap();
    assert_eq!(states_of(&db, run), [StateType::Pending, StateType::Running]);
    assert_eq!(spooled_files(&spool), 0, "nothing is spooled while the server answers");

    // The server goes away; the flow goes on, a task run and logs at a time.
    let _ = stop.send(());
    served.await.unwrap();
    let mut tasks = Vec::new();
    for i in 0..20 {
        let task = events.task_run(Some(run), "during");
        events.lifecycle(task, StateType::Completed);
        let line = format!("during the outage {i}");
        events.log(Some(run), Some(task), LogLevel::Warning, &line);
        expected_lines.push(line);
        tasks.push(task);
        record(&recorder, &mut events);
        // Each flush returns once its batch is on disk.
        recorder.flush().await;
    }
    assert!(spooled_files(&spool) >= 1, "batches are spooled while the server is away");
    assert_eq!(states_of(&db, run), [StateType::Pending, StateType::Running], "the server has nothing new");

    // It comes back on the same port; the spool is sent, in order.
    let (_, stop, served) = start_server(&db_path, addr.port(), None).await;
    events.state(run, StateType::Completed);
    events.log(Some(run), None, LogLevel::Info, "after the outage");
    expected_lines.push("after the outage".into());
    record(&recorder, &mut events);
    recorder.flush().await;
    wait_until("the spool is sent", || spooled_files(&spool) == 0).await;
    recorder.close();

    assert_eq!(states_of(&db, run), [StateType::Pending, StateType::Running, StateType::Completed]);
    assert_eq!(log_lines(&db, run), expected_lines, "every line once, in order");
    for task in tasks {
        let detail = futures::executor::block_on(db.inspect_task_run(task)).unwrap();
        let states: Vec<StateType> = detail.states.iter().map(|s| s.state_type).collect();
        assert_eq!(states, [StateType::Pending, StateType::Running, StateType::Completed], "{task:?}");
    }
    assert_eq!(recorder.lost_count(), 0);
    assert!(walk(&spool).is_empty(), "the spool directory is removed once sent: {:?}", walk(&spool));
    let _ = stop.send(());
    served.await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_server_at_start_gets_everything_when_it_comes() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let dir = tempfile::tempdir().unwrap();
    let db_path = dir.path().join("server.db");
    let spool = dir.path().join("spool");
    let (addr, port) = free_port();
    let store = HttpStore::connect(HttpOptions::new(api(addr)).spool_root(&spool)).unwrap();
    let recorder = start_recorder(store);
    let mut events = Events::starting_now();
    let run = events.flow_run("etl", "offline-start");
    events.lifecycle(run, StateType::Completed);
    events.log(Some(run), None, LogLevel::Info, "ran without a server");
    record(&recorder, &mut events);
    recorder.flush().await;
    assert!(spooled_files(&spool) >= 1);

    let (_, stop, served) = start_server(&db_path, port, None).await;
    let db = SqliteStore::open(&db_path).unwrap();
    wait_until("the spool is sent", || spooled_files(&spool) == 0).await;
    assert_eq!(states_of(&db, run), [StateType::Pending, StateType::Running, StateType::Completed]);
    assert_eq!(log_lines(&db, run), ["ran without a server"]);
    let runs = futures::executor::block_on(db.list_flow_runs(&FlowRunFilter::new())).unwrap();
    assert_eq!(runs.len(), 1);
    recorder.close();
    let _ = stop.send(());
    served.await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_process_spool_is_sent_once_by_the_next_recorder() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let dir = tempfile::tempdir().unwrap();
    let db_path = dir.path().join("server.db");
    let spool = dir.path().join("spool");
    let (addr, port) = free_port();

    // A process records while the server is away and ends without sending:
    // its spool stays on disk (its close waits briefly, then says so).
    let store = HttpStore::connect(
        HttpOptions::new(api(addr)).spool_root(&spool).close_wait(Duration::from_millis(10)),
    )
    .unwrap();
    let recorder = start_recorder(store);
    let mut events = Events::starting_now();
    let done = events.flow_run("etl", "finished-before-exit");
    events.lifecycle(done, StateType::Completed);
    let cut = events.flow_run("etl", "cut-off-by-exit");
    events.state(cut, StateType::Running);
    record(&recorder, &mut events);
    recorder.close();
    // The process is gone: nothing of it sends any more.
    drop(recorder);
    let left = walk(&spool);
    assert!(spooled_files(&spool) >= 2, "batches and the release are kept: {left:?}");
    // Its process is gone: rewrite the owner as a pid that cannot be alive,
    // and send one batch twice (as if it was sent but not yet deleted).
    let owner_file = left.iter().find(|p| p.ends_with("owner.json")).unwrap();
    let mut owner: serde_json::Value = serde_json::from_slice(&std::fs::read(owner_file).unwrap()).unwrap();
    owner["pid"] = serde_json::json!(0x7fff_fff0_u32);
    std::fs::write(owner_file, owner.to_string()).unwrap();
    let first = left.iter().filter(|p| p.extension().is_some_and(|e| e == "batch")).min().unwrap();
    std::fs::copy(first, first.with_file_name("00000000000000000000.batch")).unwrap();

    let (_, stop, served) = start_server(&db_path, port, None).await;
    // The next recorder from the same home sends what the dead one left.
    let next =
        HttpStore::connect(HttpOptions::new(api(addr)).spool_root(&spool).adopt_orphans(true)).unwrap();
    let db = SqliteStore::open(&db_path).unwrap();
    wait_until("the orphaned spool is sent", || walk(&spool).is_empty()).await;
    assert_eq!(states_of(&db, done), [StateType::Pending, StateType::Running, StateType::Completed]);
    // The dead process's lease is released: its unfinished run is Crashed.
    assert_eq!(states_of(&db, cut), [StateType::Running, StateType::Crashed]);
    drop(next);
    let _ = stop.send(());
    served.await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_keyed_server_takes_batches_with_its_key_only() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let dir = tempfile::tempdir().unwrap();
    let db_path = dir.path().join("server.db");
    let (addr, stop, served) = start_server(&db_path, 0, Some("s3cr3t-key")).await;
    let db = SqliteStore::open(&db_path).unwrap();

    let keyed = HttpStore::connect(
        HttpOptions::new(api(addr)).api_key("s3cr3t-key").spool_root(dir.path().join("keyed")),
    )
    .unwrap();
    let recorder = start_recorder(keyed);
    let mut events = Events::starting_now();
    let run = events.flow_run("etl", "with-key");
    events.lifecycle(run, StateType::Completed);
    record(&recorder, &mut events);
    recorder.flush().await;
    assert_eq!(states_of(&db, run).len(), 3);
    assert_eq!(spooled_files(&dir.path().join("keyed")), 0);
    recorder.close();

    // A wrong key is refused; the batch is kept on disk, not dropped.
    let wrong_spool = dir.path().join("wrong");
    let wrong = HttpStore::connect(
        HttpOptions::new(api(addr))
            .api_key("guess")
            .spool_root(&wrong_spool)
            .close_wait(Duration::from_millis(10)),
    )
    .unwrap();
    let refused = start_recorder(wrong);
    let other = events.flow_run("etl", "wrong-key");
    events.lifecycle(other, StateType::Completed);
    record(&refused, &mut events);
    refused.flush().await;
    refused.close();
    assert!(spooled_files(&wrong_spool) >= 1);
    assert!(futures::executor::block_on(db.inspect_flow_run(other, 0)).unwrap_err().is_not_found());
    let _ = stop.send(());
    served.await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_run_graph_edges_slot_holders_task_runs_and_results_read_the_same_through_the_server() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let dir = tempfile::tempdir().unwrap();
    let db_path = dir.path().join("server.db");
    let (addr, stop, served) = start_server(&db_path, 0, None).await;
    let db = SqliteStore::open(&db_path).unwrap();
    let mut events = Events::starting_now();
    let run = events.flow_run("etl", "graphed");
    let fetch = events.task_run(Some(run), "fetch");
    let parse = events.task_run(Some(run), "parse");
    events.dependency(parse, fetch, prefect_model::DependencyKind::Data { argument: "body".into() });
    events.dependency(parse, run, prefect_model::DependencyKind::WaitFor);
    events.state(parse, prefect_model::StateType::Failed);
    events.result(fetch, Some(run), "/results/fetched", Some("ab12"), true);
    let alone = events.task_run(None, "standalone");
    db.write_events(None, &events.take()).await.unwrap();
    db.set_concurrency_limit("db", 2).await.unwrap();
    db.try_acquire_slots(&["db".into()], parse).await.unwrap();

    let remote =
        HttpStore::connect(HttpOptions::new(api(addr)).spool_root(dir.path().join("spool"))).unwrap();
    let edges = remote.dependency_edges(run, 10).await.unwrap();
    assert_eq!(edges, db.dependency_edges(run, 10).await.unwrap());
    assert_eq!(edges.len(), 2);
    assert_eq!(remote.dependency_edges(run, 1).await.unwrap().len(), 1);
    assert!(remote.dependency_edges(run, 0).await.unwrap().is_empty());
    // Task runs across flow runs and within one, filtered and paged.
    use prefect_store::TaskRunFilter;
    let since = chrono::Utc::now() - chrono::TimeDelta::hours(1);
    for filter in [
        TaskRunFilter::any(),
        TaskRunFilter::any().limit(1).after(alone),
        TaskRunFilter::any().flow("etl").name_contains("PAR").since(since),
        TaskRunFilter::any().state(prefect_model::StateType::Failed).until(chrono::Utc::now()),
        TaskRunFilter::of_flow_run(run).after(fetch),
        TaskRunFilter::standalone(),
    ] {
        let (there, here) =
            (remote.list_task_runs(&filter).await.unwrap(), db.list_task_runs(&filter).await.unwrap());
        assert!(!here.is_empty(), "{filter:?}");
        assert_eq!(there, here, "{filter:?}");
    }
    assert_eq!(remote.list_task_runs(&TaskRunFilter::any().tag("none")).await.unwrap(), []);
    // Where results are.
    assert_eq!(remote.inspect_task_run(fetch).await.unwrap(), db.inspect_task_run(fetch).await.unwrap());
    let results = remote.inspect_flow_run(run, 10).await.unwrap().results;
    assert_eq!(results, db.inspect_flow_run(run, 10).await.unwrap().results);
    assert_eq!(results.len(), 1);
    let holders = remote.list_slot_holders().await.unwrap();
    assert_eq!(holders, db.list_slot_holders().await.unwrap());
    assert_eq!(
        holders[0].task_run_name.as_deref(),
        Some(&*format!("parse-{}", &parse.0.simple().to_string()[29..]))
    );
    let _ = stop.send(());
    served.await.unwrap();
}
