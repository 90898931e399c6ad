//! Deployments, `serve` and workers, each run in a child process (this test
//! binary again) against a run database in a temporary `$PREFECT_HOME`.
//! The parent creates runs and reads states through the store; it waits on
//! states (polling the database until a deadline), never on fixed sleeps.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use chrono::{TimeDelta, Utc};
use prefect::FlowRunId;
use prefect::prelude::*;
use prefect::store::prelude::*;
use prefect::store::{FlowRunFilter, LogFilter, NewFlowRun, SqliteStore};
use prefect::{Catchup, Deployment, Worker};

mod common;

use common::{Running, fragile, mark, start, wait_for_line};

const CHILD: &str = "PREFECT_TEST_SERVE_CHILD";
const OUT: &str = "PREFECT_TEST_SERVE_OUT";

#[flow]
async fn greet(name: String) -> String {
    info!("hello {name}");
    format!("hello {name}")
}

/// A parameter type with serde but no JSON Schema of its own.
#[derive(serde::Serialize, serde::Deserialize)]
struct Window {
    from: String,
}

#[flow]
async fn windowed(window: Window, days: Option<u32>) -> String {
    format!("{} +{}", window.from, days.unwrap_or(0))
}

#[test]
fn a_deployment_stores_the_json_schema_of_its_flows_parameters() {
    let spec = windowed::deployment("adhoc").spec().unwrap();
    let schema = spec.parameter_schema.unwrap();
    assert_eq!(schema["type"], "object");
    assert_eq!(schema["required"], serde_json::json!(["window", "days"]));
    assert_eq!(schema["properties"]["window"], serde_json::json!({}), "no JsonSchema: any value");
    let days = &schema["properties"]["days"];
    assert_eq!(days["type"], serde_json::json!(["integer", "null"]), "{days}");
    let name = &greet::deployment("manual").spec().unwrap().parameter_schema.unwrap()["properties"]["name"];
    assert_eq!(name["type"], "string");
}

/// A flow the workers of these tests are not given.
#[flow]
async fn other() {}

/// Starts a run of `greet/manual` and waits for it: a subflow run by a worker.
#[flow]
async fn caller() -> Result<String, prefect::schedules::Error> {
    let run = prefect::run_deployment("greet/manual", serde_json::json!({ "name": "sub" }))
        .timeout(Duration::from_secs(60))
        .await?;
    Ok(run.state.map(|s| s.name.to_string()).unwrap_or_default())
}

#[derive(serde::Deserialize)]
struct Approval {
    approved: bool,
    reviewer: String,
}

/// Waits for a person's approval.
#[flow]
async fn approve() -> Result<String, prefect::schedules::Error> {
    let approval: Approval = prefect::pause_flow_run_with_input(Duration::from_secs(120)).await?;
    Ok(format!("approved={} by {}", approval.approved, approval.reviewer))
}

/// Pauses briefly; nobody resumes it.
#[flow]
async fn abandoned() -> Result<(), prefect::schedules::Error> {
    prefect::pause_flow_run(Duration::from_millis(300)).await
}

/// Aborts its process when asked: what process isolation protects a worker from.
#[flow]
async fn crashy(abort: bool) -> String {
    if abort {
        std::process::abort();
    }
    "survived".to_owned()
}

/// Appends a line to `out`, its result persisted (Prefect 3's default key:
/// inputs, source and flow run).
#[task(persist_result = true)]
async fn expensive(out: String) -> Result<u32, std::io::Error> {
    use std::io::Write;
    writeln!(std::fs::OpenOptions::new().create(true).append(true).open(out)?, "expensive")?;
    Ok(42)
}

#[task]
async fn flaky_load(first_run: bool) -> Result<(), std::io::Error> {
    if first_run { Err(std::io::Error::other("the warehouse is down")) } else { Ok(()) }
}

/// Fails on its first run after its expensive task completed.
#[flow]
async fn pipeline(out: String) -> Result<u32, prefect::Error> {
    let value = expensive(out).await?;
    let first_run = prefect::context::flow_run().map(|f| f.run_count() == 1).unwrap_or(true);
    flaky_load(first_run).await?;
    Ok(value)
}

/// Takes a second: long enough to be running when serving stops.
#[flow]
async fn slow() -> u32 {
    println!("SLOW STARTED");
    tokio::time::sleep(Duration::from_secs(1)).await;
    7
}

/// Blocks its thread past its timeout: only killing its process stops it.
#[flow(timeout = "200ms")]
async fn stuck() {
    println!("STUCK");
    std::thread::sleep(Duration::from_secs(120));
}

fn hourly() -> Deployment {
    greet::deployment("hourly").interval(Duration::from_secs(3600)).parameter("name", "cron")
}

/// In the child: serve or work as the parent asked.
#[tokio::test]
async fn child_body() {
    let Ok(mode) = std::env::var(CHILD) else { return };
    let report = match mode.as_str() {
        "worker-once" => Worker::new().flows([greet::entry(), mark::entry()]).run_once().run().await,
        "pipeline-worker" => Worker::new().flows([pipeline::entry()]).run_once().run().await,
        "production-worker" => {
            Worker::new().flows([greet::entry()]).labels(["production", "eu"]).run_once().run().await
        }
        "worker" => Worker::new().flows([fragile::entry()]).heartbeat(Duration::from_millis(100)).run().await,
        "greeter" => Worker::new().flows([greet::entry()]).run().await,
        "isolated-stuck" => {
            Worker::new()
                .flows([stuck::entry()])
                .isolation(prefect::Isolation::Process)
                .kill_after_timeout(Duration::from_millis(300))
                .run_once()
                .run()
                .await
        }
        "isolated" => {
            Worker::new()
                .flows([crashy::entry()])
                .isolation(prefect::Isolation::Process)
                .run_once()
                .run()
                .await
        }
        "approve" => {
            println!("RESULT {}", approve().await.unwrap());
            return;
        }
        "abandoned" => {
            let state = abandoned().return_state().await;
            println!("ENDED {}", state.name());
            return;
        }
        "caller" => {
            let state = caller().await.unwrap();
            println!("SUBFLOW {state}");
            return;
        }
        "enqueue" => {
            // No flow or task is built before: a program that only queues runs.
            let run = prefect::run_deployment("greet/manual", serde_json::json!({ "name": "queued" }))
                .no_wait()
                .await
                .unwrap();
            println!("QUEUED {}", run.id);
            return;
        }
        "serve" => {
            let every_second = mark::deployment("tick")
                .interval(Duration::from_secs(1))
                .parameter("out", std::env::var(OUT).unwrap());
            prefect::serve([every_second]).heartbeat(Duration::from_millis(100)).await
        }
        "serve-slow" => {
            prefect::serve([slow::deployment("manual")]).heartbeat(Duration::from_millis(100)).await
        }
        "catch-up-skip" => prefect::serve([hourly().catchup(Catchup::Skip)]).run_once().await,
        "catch-up-latest" => prefect::serve([hourly().catchup(Catchup::Latest)]).run_once().await,
        other => panic!("unknown mode {other}"),
    };
    let report = report.unwrap();
    println!("REPORT started={} completed={} failed={}", report.started, report.completed, report.failed);
}

fn child(home: &Path, mode: &str) -> Command {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args(["child_body", "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD, mode)
        .env("PREFECT_HOME", home)
        .env_remove("PREFECT_API_DATABASE_URL")
        .env_remove("PREFECT_API_URL")
        .env_remove("PREFECT_RECORDING_ENABLED");
    cmd
}

fn store(home: &Path) -> SqliteStore {
    SqliteStore::open(home.join("prefect.db")).unwrap()
}

async fn register(store: &SqliteStore, deployment: &Deployment) -> prefect::store::Deployment {
    store.upsert_deployment(&deployment.spec().unwrap()).await.unwrap()
}

/// Registers `deployment` and queues one run of it, due now.
async fn queue_one(
    store: &SqliteStore,
    deployment: &Deployment,
    parameters: serde_json::Value,
) -> NewFlowRun {
    let registered = register(store, deployment).await;
    let run = run_now(&registered, parameters);
    store.create_flow_runs(std::slice::from_ref(&run)).await.unwrap();
    run
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

async fn state_names(store: &SqliteStore, id: FlowRunId) -> Vec<String> {
    store.inspect_flow_run(id, 0).await.unwrap().states.iter().map(|s| s.name.to_string()).collect()
}

/// Polls until `done` holds, or panics after `limit`.
async fn wait_until<F: AsyncFnMut() -> bool>(what: &str, limit: Duration, mut done: F) {
    let deadline = Instant::now() + limit;
    while !done().await {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn succeed(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap();
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "child failed:\n{stdout}\n{stderr}");
    format!("{stdout}\n{stderr}")
}

#[tokio::test]
async fn a_worker_runs_queued_runs_with_their_parameters_and_fails_bad_ones_without_running() {
    let home = tempfile::tempdir().unwrap();
    let store = store(home.path());
    let manual = register(&store, &greet::deployment("manual")).await;
    let good = run_now(&manual, serde_json::json!({ "name": "ada" }));
    let bad = run_now(&manual, serde_json::json!({ "name": 5 }));
    let later = NewFlowRun {
        scheduled: Utc::now() + TimeDelta::hours(1),
        ..run_now(&manual, serde_json::json!({ "name": "x" }))
    };
    let unknown = register(&store, &other::deployment("nobody-runs-it")).await;
    let orphan = run_now(&unknown, serde_json::json!({}));
    store.create_flow_runs(&[good.clone(), bad.clone(), later.clone(), orphan.clone()]).await.unwrap();

    let output = succeed(&mut child(home.path(), "worker-once"));
    assert!(output.contains("REPORT started=2 completed=1 failed=1"), "{output}");
    assert!(output.contains("has no flow `other`"), "the run nobody can take is logged: {output}");

    assert_eq!(state_names(&store, good.id).await, ["Scheduled", "Pending", "Running", "Completed"]);
    let logs = store.logs(&LogFilter::of(good.id)).await.unwrap();
    assert!(logs.iter().any(|l| l.record.message == "hello ada"), "{logs:?}");

    let failed = store.inspect_flow_run(bad.id, 0).await.unwrap();
    assert_eq!(state_names(&store, bad.id).await, ["Scheduled", "Pending", "Failed"], "the body never ran");
    let message = failed.run.state.unwrap().message.unwrap_or_default();
    assert!(message.contains("`name`"), "the message names the field: {message}");

    assert_eq!(state_names(&store, later.id).await, ["Scheduled"], "not due yet");
    assert_eq!(state_names(&store, orphan.id).await, ["Scheduled"], "no worker has its flow");
    let workers = store.list_workers().await.unwrap();
    assert_eq!(workers.len(), 1);
    assert_eq!((workers[0].beat.status.as_str(), workers[0].alive), ("offline", false));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_prefect_api_url_a_worker_claims_and_records_through_the_server() {
    let server_home = tempfile::tempdir().unwrap();
    let store = store(server_home.path());
    let manual = register(&store, &greet::deployment("manual")).await;
    let good = run_now(&manual, serde_json::json!({ "name": "remote" }));
    store.create_flow_runs(std::slice::from_ref(&good)).await.unwrap();
    let served =
        prefect::store::AnyStore::new(SqliteStore::open(server_home.path().join("prefect.db")).unwrap());
    let server = prefect_server::Server::builder(served).port(0).bind().await.unwrap();
    let api = format!("http://{}/api", server.local_addr());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let serving = tokio::spawn(server.serve(async move {
        let _ = stopped.await;
    }));

    // The worker's home has no database: it claims, heartbeats and records
    // through the server.
    let worker_home = tempfile::tempdir().unwrap();
    let mut cmd = child(worker_home.path(), "worker-once");
    cmd.env("PREFECT_API_URL", &api);
    let output = tokio::task::spawn_blocking(move || succeed(&mut cmd)).await.unwrap();
    assert!(output.contains("REPORT started=1 completed=1 failed=0"), "{output}");
    assert_eq!(state_names(&store, good.id).await, ["Scheduled", "Pending", "Running", "Completed"]);
    let logs = store.logs(&LogFilter::of(good.id)).await.unwrap();
    assert!(logs.iter().any(|l| l.record.message == "hello remote"), "{logs:?}");
    let workers = store.list_workers().await.unwrap();
    assert_eq!(workers.len(), 1, "its heartbeats reached the server's database");
    assert!(!worker_home.path().join("prefect.db").exists(), "the worker opened no database");
    let _ = stop.send(());
    serving.await.unwrap().unwrap();
}

#[tokio::test]
async fn four_workers_run_each_of_a_thousand_runs_exactly_once() {
    let home = tempfile::tempdir().unwrap();
    let store = store(home.path());
    let out = home.path().join("executions.txt");
    let deployment = register(&store, &mark::deployment("bulk")).await;
    let runs: Vec<NewFlowRun> = (0..1000)
        .map(|_| run_now(&deployment, serde_json::json!({ "out": out.to_string_lossy() })))
        .collect();
    store.create_flow_runs(&runs).await.unwrap();

    let children: Vec<Running> = (0..4)
        .map(|_| start(child(home.path(), "worker-once").stdout(Stdio::null()).stderr(Stdio::null())))
        .collect();
    for mut c in children {
        assert!(c.wait().unwrap().success());
    }
    let executed = std::fs::read_to_string(&out).unwrap();
    let mut ids: Vec<&str> = executed.lines().collect();
    assert_eq!(ids.len(), 1000, "every run executed once in all");
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 1000, "no run executed twice");
    for run in &runs {
        assert_eq!(state_names(&store, run.id).await, ["Scheduled", "Pending", "Running", "Completed"]);
    }
}

#[tokio::test]
async fn serve_schedules_ahead_runs_when_due_and_pauses_its_schedule_on_sigterm() {
    let home = tempfile::tempdir().unwrap();
    let out: PathBuf = home.path().join("ticks.txt");
    let mut serving =
        start(child(home.path(), "serve").env(OUT, &out).stdout(Stdio::null()).stderr(Stdio::null()));
    let store = store(home.path());
    wait_until("two scheduled runs completed", Duration::from_secs(60), async || {
        std::fs::read_to_string(&out).map(|text| text.lines().count() >= 2).unwrap_or(false)
    })
    .await;
    let deployment = store.deployment("mark/tick").await.unwrap().unwrap();
    let queued = store.queued_runs(Some(deployment.id), None, 1000).await.unwrap();
    assert!(queued.len() >= 3, "runs are scheduled ahead: {}", queued.len());
    for pair in queued.windows(2) {
        assert_eq!(pair[1].scheduled - pair[0].scheduled, TimeDelta::seconds(1));
    }
    let ids: Vec<FlowRunId> = queued.iter().map(|r| r.id).collect();
    let expected: Vec<FlowRunId> =
        queued.iter().map(|r| prefect::schedules::scheduled_run_id("mark/tick", r.scheduled)).collect();
    assert_eq!(ids, expected, "each run's id comes from its deployment and time");

    let pid = serving.id().to_string();
    assert!(Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    assert!(serving.wait().unwrap().success(), "serve exits cleanly on SIGTERM");
    let deployment = store.deployment("mark/tick").await.unwrap().unwrap();
    assert!(deployment.spec.paused, "its schedule is paused on shutdown");
    assert!(store.queued_runs(Some(deployment.id), None, 1000).await.unwrap().is_empty());
    let executed = std::fs::read_to_string(&out).unwrap();
    let runs = store.list_flow_runs(&FlowRunFilter::new()).await.unwrap();
    for line in executed.lines() {
        let run = runs.iter().find(|r| r.id.to_string() == line).expect("an executed run is stored");
        assert_eq!(run.state.as_ref().unwrap().state_type, StateType::Completed);
        let due = run.expected_start.unwrap();
        assert_eq!(due.timestamp_subsec_micros(), 0, "an interval anchored on whole seconds");
    }
}

#[tokio::test]
async fn a_killed_workers_run_crashes_and_its_retry_runs_on_another_worker() {
    let home = tempfile::tempdir().unwrap();
    let store = store(home.path());
    let run = queue_one(&store, &fragile::deployment("manual"), serde_json::json!({})).await;

    let mut first = start(child(home.path(), "worker").stdout(Stdio::piped()).stderr(Stdio::null()));
    wait_for_line(&mut first, "HANGING");
    first.kill().unwrap();
    first.wait().unwrap();

    let mut second = start(child(home.path(), "worker").stdout(Stdio::null()).stderr(Stdio::null()));
    wait_until("the retry completed", Duration::from_secs(60), async || {
        let detail = store.inspect_flow_run(run.id, 0).await.unwrap();
        detail.run.state.is_some_and(|s| s.state_type == StateType::Completed)
    })
    .await;
    second.kill().unwrap();
    second.wait().unwrap();
    let names = state_names(&store, run.id).await;
    assert_eq!(
        names,
        ["Scheduled", "Pending", "Running", "Crashed", "AwaitingRetry", "Pending", "Retrying", "Completed"]
    );
    assert_eq!(store.inspect_flow_run(run.id, 0).await.unwrap().run.run_count, 2);
}

#[tokio::test]
async fn a_run_cancelled_from_outside_is_cancelled_in_its_worker() {
    let home = tempfile::tempdir().unwrap();
    let store = store(home.path());
    let run = queue_one(&store, &fragile::deployment("manual"), serde_json::json!({})).await;
    let mut worker = start(child(home.path(), "worker").stdout(Stdio::piped()).stderr(Stdio::null()));
    wait_for_line(&mut worker, "HANGING");

    let cancelling = prefect::StateMeta::new(StateType::Cancelling);
    let before = store
        .set_flow_run_state(run.id, &cancelling, &[StateType::Pending, StateType::Running])
        .await
        .unwrap();
    assert!(before.is_some());
    wait_until("the run is cancelled", Duration::from_secs(30), async || {
        let detail = store.inspect_flow_run(run.id, 0).await.unwrap();
        detail.run.state.is_some_and(|s| s.state_type == StateType::Cancelled)
    })
    .await;
    worker.kill().unwrap();
    worker.wait().unwrap();
    assert_eq!(
        state_names(&store, run.id).await,
        ["Scheduled", "Pending", "Running", "Cancelling", "Cancelled"]
    );
}

/// A deployment served before (its latest run 3 h ago), then not served
/// for 3 hours: the runs of the two hours between are missed.
async fn missed_three_hours(home: &Path) -> (SqliteStore, prefect::store::Deployment, FlowRunId) {
    let store = store(home);
    let deployment = register(&store, &hourly()).await;
    let hour = Utc::now().timestamp() / 3600 * 3600;
    let three_hours_ago = chrono::DateTime::from_timestamp(hour - 3 * 3600, 0).unwrap();
    let old = NewFlowRun {
        id: prefect::schedules::scheduled_run_id("greet/hourly", three_hours_ago),
        scheduled: three_hours_ago,
        auto_scheduled: true,
        parent_flow_run_id: None,
        ..run_now(&deployment, serde_json::json!({ "name": "cron" }))
    };
    store.create_flow_runs(std::slice::from_ref(&old)).await.unwrap();
    (store, deployment, old.id)
}

#[tokio::test]
async fn catch_up_skip_cancels_every_missed_run() {
    let home = tempfile::tempdir().unwrap();
    let (store, deployment, old) = missed_three_hours(home.path()).await;
    let output = succeed(&mut child(home.path(), "catch-up-skip"));
    assert!(output.contains("REPORT started=0"), "{output}");
    let names = state_names(&store, old).await;
    assert_eq!(names, ["Scheduled", "Late", "Cancelled"]);
    let runs = store.list_flow_runs(&FlowRunFilter::new()).await.unwrap();
    let missed: Vec<_> = runs
        .iter()
        .filter(|r| r.expected_start.is_some_and(|t| t < Utc::now() - TimeDelta::seconds(15)))
        .collect();
    assert!(missed.len() >= 3, "the two hours between were created as missed runs: {}", missed.len());
    for run in missed {
        let state = run.state.as_ref().unwrap();
        assert_eq!(state.state_type, StateType::Cancelled, "{run:?}");
        assert!(state.message.as_deref().unwrap_or("").contains("catch-up `skip`"), "{state:?}");
    }
    assert!(
        !store.queued_runs(Some(deployment.id), None, 100).await.unwrap().is_empty(),
        "future runs are scheduled"
    );
}

#[tokio::test]
async fn catch_up_latest_runs_only_the_latest_missed_run() {
    let home = tempfile::tempdir().unwrap();
    let (store, _, old) = missed_three_hours(home.path()).await;
    let output = succeed(&mut child(home.path(), "catch-up-latest"));
    assert!(output.contains("REPORT started=1 completed=1"), "{output}");
    assert_eq!(state_names(&store, old).await, ["Scheduled", "Cancelled"]);
    let runs = store.list_flow_runs(&FlowRunFilter::new()).await.unwrap();
    let completed: Vec<_> = runs
        .iter()
        .filter(|r| r.state.as_ref().is_some_and(|s| s.state_type == StateType::Completed))
        .collect();
    assert_eq!(completed.len(), 1);
    let latest_missed = runs
        .iter()
        .filter_map(|r| r.expected_start)
        .filter(|t| *t < Utc::now() - TimeDelta::seconds(15))
        .max()
        .unwrap();
    assert_eq!(completed[0].expected_start, Some(latest_missed));
}

#[tokio::test]
async fn run_deployment_starts_a_subflow_run_and_waits_for_it() {
    let home = tempfile::tempdir().unwrap();
    let store = store(home.path());
    register(&store, &greet::deployment("manual")).await;
    let mut worker = start(child(home.path(), "greeter").stdout(Stdio::null()).stderr(Stdio::null()));
    let output = succeed(child(home.path(), "caller").stdout(Stdio::piped()));
    worker.kill().unwrap();
    worker.wait().unwrap();
    assert!(output.contains("SUBFLOW Completed"), "{output}");

    let runs = store.list_flow_runs(&FlowRunFilter::new()).await.unwrap();
    let parent = runs.iter().find(|r| r.flow_name == "caller").expect("the calling flow is recorded");
    let sub = runs.iter().find(|r| r.flow_name == "greet").expect("the deployment's run");
    assert_eq!(sub.parent_flow_run_id, Some(parent.id), "linked as a subflow");
    assert_eq!(sub.state.as_ref().unwrap().state_type, StateType::Completed);
    let detail = store.inspect_flow_run(sub.id, 0).await.unwrap();
    assert_eq!(detail.parameters, serde_json::json!({ "name": "sub" }));
    assert_eq!(parent.state.as_ref().unwrap().state_type, StateType::Completed);
    let parent_detail = store.inspect_flow_run(parent.id, 10).await.unwrap();
    let placeholder = &parent_detail.task_runs[0];
    assert_eq!(placeholder.subflow_run_id, Some(sub.id), "a task run in the caller stands for the subflow");
    assert_eq!(placeholder.state.as_ref().unwrap().state_type, StateType::Completed);
}

#[tokio::test]
async fn a_program_that_runs_no_flow_can_queue_a_deployment_run() {
    let home = tempfile::tempdir().unwrap();
    let store = store(home.path());
    register(&store, &greet::deployment("manual")).await;
    let output = succeed(child(home.path(), "enqueue").stdout(Stdio::piped()));
    let id = output.split("QUEUED ").nth(1).and_then(|rest| rest.split_whitespace().next()).expect("an id");
    let queued = store.queued_runs(None, None, 10).await.unwrap();
    assert_eq!(queued.len(), 1, "{output}");
    assert_eq!(queued[0].id.to_string(), id);
    assert_eq!(queued[0].parameters, serde_json::json!({ "name": "queued" }));
}

async fn current_state(store: &SqliteStore, flow: &str) -> Option<prefect::StateMeta> {
    let runs = store.list_flow_runs(&FlowRunFilter::new().flow(flow)).await.ok()?;
    runs.first().and_then(|r| r.state.clone())
}

#[tokio::test]
async fn a_paused_flow_waits_for_a_valid_typed_input() {
    let home = tempfile::tempdir().unwrap();
    let paused = start(child(home.path(), "approve").stdout(Stdio::piped()).stderr(Stdio::null()));
    let store = store(home.path());
    wait_until("the run is paused", Duration::from_secs(60), async || {
        current_state(&store, "approve").await.is_some_and(|s| s.state_type == StateType::Paused)
    })
    .await;
    let run = store.list_flow_runs(&FlowRunFilter::new().flow("approve")).await.unwrap()[0].id;

    // An input of the wrong shape is refused, naming the field; the run stays paused.
    let wrong = serde_json::json!({ "approved": "yes", "reviewer": "ada" });
    assert!(store.resume_flow_run(run, Some(&wrong)).await.unwrap().is_some());
    wait_until("the input is refused", Duration::from_secs(30), async || {
        current_state(&store, "approve").await.is_some_and(|s| {
            s.state_type == StateType::Paused && s.message.as_deref().unwrap_or("").contains("input refused")
        })
    })
    .await;
    let message = current_state(&store, "approve").await.unwrap().message.unwrap();
    assert!(message.contains("invalid type"), "{message}");

    let right = serde_json::json!({ "approved": true, "reviewer": "ada" });
    assert!(store.resume_flow_run(run, Some(&right)).await.unwrap().is_some());
    let out = paused.output();
    assert!(String::from_utf8_lossy(&out.stdout).contains("RESULT approved=true by ada"));
    let names = state_names(&store, run).await;
    assert_eq!(
        names,
        ["Pending", "Running", "Paused", "Running", "Paused", "Running", "Running", "Completed"],
        "paused, resumed with a refused input, paused again, resumed, input accepted"
    );
}

#[tokio::test]
async fn a_paused_flow_nobody_resumes_fails_when_its_timeout_passes() {
    let home = tempfile::tempdir().unwrap();
    let output = succeed(&mut child(home.path(), "abandoned"));
    assert!(output.contains("ENDED Failed"), "{output}");
    let state = current_state(&store(home.path()), "abandoned").await.unwrap();
    assert_eq!(state.state_type, StateType::Failed);
    let message = state.message.unwrap_or_default();
    assert!(message.contains("without being resumed") && message.contains("timed out"), "{message}");
}

#[tokio::test]
async fn an_isolated_run_that_aborts_its_process_crashes_alone() {
    let home = tempfile::tempdir().unwrap();
    let store = store(home.path());
    let deployment = register(&store, &crashy::deployment("manual")).await;
    let aborting = run_now(&deployment, serde_json::json!({ "abort": true }));
    let fine = run_now(&deployment, serde_json::json!({ "abort": false }));
    store.create_flow_runs(&[aborting.clone(), fine.clone()]).await.unwrap();

    let output = succeed(&mut child(home.path(), "isolated"));
    assert!(output.contains("REPORT started=2 completed=1 failed=1"), "the worker survived: {output}");
    let crashed = store.inspect_flow_run(aborting.id, 0).await.unwrap().run.state.unwrap();
    assert_eq!(crashed.state_type, StateType::Crashed);
    assert!(crashed.message.as_deref().unwrap_or("").contains("its process ended with"), "{crashed:?}");
    assert_eq!(state_names(&store, fine.id).await, ["Scheduled", "Pending", "Running", "Completed"]);
    let logs = store.logs(&LogFilter::of(fine.id)).await.unwrap();
    assert!(
        logs.iter().any(|l| l.record.message.contains("Finished in state Completed")),
        "logs recorded by the child: {logs:?}"
    );
}

#[tokio::test]
async fn labelled_runs_wait_for_a_worker_with_their_labels() {
    let home = tempfile::tempdir().unwrap();
    let store = store(home.path());
    let run = queue_one(
        &store,
        &greet::deployment("prod").labels(["production"]),
        serde_json::json!({ "name": "prod" }),
    )
    .await;

    let output = succeed(&mut child(home.path(), "worker-once"));
    assert!(output.contains("REPORT started=0"), "a worker without the label leaves it: {output}");
    assert_eq!(state_names(&store, run.id).await, ["Scheduled"]);
    let output = succeed(&mut child(home.path(), "production-worker"));
    assert!(output.contains("REPORT started=1 completed=1"), "{output}");
    assert_eq!(state_names(&store, run.id).await, ["Scheduled", "Pending", "Running", "Completed"]);
    let workers = store.list_workers().await.unwrap();
    assert!(workers.iter().any(|w| w.beat.labels == ["production", "eu"]), "{workers:?}");
}

#[tokio::test]
async fn a_retried_run_serves_its_persisted_task_results_and_reruns_only_what_failed() {
    let home = tempfile::tempdir().unwrap();
    let store = store(home.path());
    let out = home.path().join("expensive.txt");
    let run = queue_one(
        &store,
        &pipeline::deployment("nightly"),
        serde_json::json!({ "out": out.to_string_lossy() }),
    )
    .await;
    let output = succeed(&mut child(home.path(), "pipeline-worker"));
    assert!(output.contains("REPORT started=1 completed=0 failed=1"), "{output}");

    // What `prefect flow-run retry` does.
    let again = prefect::StateMeta {
        scheduled_time: Some(Utc::now()),
        ..prefect::StateMeta::new(StateType::Scheduled)
    }
    .named("AwaitingRetry");
    let ended = [StateType::Failed, StateType::Crashed, StateType::Cancelled];
    assert!(store.set_flow_run_state(run.id, &again, &ended).await.unwrap().is_some());
    let output = succeed(&mut child(home.path(), "pipeline-worker"));
    assert!(output.contains("REPORT started=1 completed=1"), "{output}");

    assert_eq!(std::fs::read_to_string(&out).unwrap().lines().count(), 1, "the expensive task ran once");
    let detail = store.inspect_flow_run(run.id, 10).await.unwrap();
    assert_eq!(detail.run.run_count, 2);
    let expensive_states: Vec<String> = detail
        .task_runs
        .iter()
        .filter(|t| t.task_name == "expensive")
        .map(|t| t.state.as_ref().unwrap().name.to_string())
        .collect();
    assert_eq!(expensive_states, ["Completed", "Cached"]);
}

#[tokio::test]
async fn serve_lets_a_running_flow_finish_when_asked_to_stop() {
    let home = tempfile::tempdir().unwrap();
    let store = store(home.path());
    let run = queue_one(&store, &slow::deployment("manual"), serde_json::json!({})).await;
    let mut serving = start(child(home.path(), "serve-slow").stdout(Stdio::piped()).stderr(Stdio::null()));
    wait_for_line(&mut serving, "SLOW STARTED");
    let pid = serving.id().to_string();
    assert!(Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    assert!(serving.wait().unwrap().success());
    assert_eq!(
        state_names(&store, run.id).await,
        ["Scheduled", "Pending", "Running", "Completed"],
        "it finished within the grace period"
    );
    assert!(store.deployment("slow/manual").await.unwrap().unwrap().spec.paused);
}

#[tokio::test]
async fn an_isolated_run_that_ignores_its_timeout_is_killed_and_fails_timed_out() {
    let home = tempfile::tempdir().unwrap();
    let store = store(home.path());
    let run = queue_one(&store, &stuck::deployment("manual"), serde_json::json!({})).await;
    let output = succeed(&mut child(home.path(), "isolated-stuck"));
    assert!(output.contains("REPORT started=1 completed=0 failed=1"), "the worker survived: {output}");
    let state = store.inspect_flow_run(run.id, 0).await.unwrap().run.state.unwrap();
    assert_eq!((state.state_type, &*state.name), (StateType::Failed, "TimedOut"), "{state:?}");
    assert!(state.message.as_deref().unwrap_or("").contains("killed"), "{state:?}");
}
