//! A real flow recorded into PostgreSQL: its states, retries, logs and the
//! slots of a tag limit held in the database, read back through the store.
//! Uses a fresh schema in the database of `PREFECT_TEST_POSTGRES_URL`
//! (default `postgresql://postgres@127.0.0.1:5432/test`); skips with a
//! printed reason when no server answers, fails under `CI=true`.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use prefect::prelude::*;
use prefect::store::prelude::*;
use prefect::store::{
    FlowRunFilter, LogFilter, PostgresOptions, RecorderOptions, StoreLimits, TaskRunFilter,
};

static ATTEMPTS: AtomicU32 = AtomicU32::new(0);

#[task(retries = 2, retry_delay = "10ms")]
async fn flaky() -> Result<u32, std::io::Error> {
    let attempt = ATTEMPTS.fetch_add(1, Ordering::SeqCst) + 1;
    if attempt < 3 { Err(std::io::Error::other("not yet")) } else { Ok(attempt) }
}

#[task(tags = ["warehouse"])]
async fn load(part: u32) -> u32 {
    tracing::info!("loading part {part}");
    part * 10
}

#[flow]
async fn nightly() -> Result<u32, prefect::Error> {
    let tries = flaky().await?;
    let loaded: u32 = load::map(vec![1, 2, 3]).await.into_iter().map(|r| r.unwrap_or(0)).sum();
    Ok(tries + loaded)
}

fn server() -> Option<String> {
    let url = std::env::var("PREFECT_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgresql://postgres@127.0.0.1:5432/test".to_owned());
    if std::net::TcpStream::connect_timeout(&([127, 0, 0, 1], 5432).into(), Duration::from_secs(2)).is_ok() {
        return Some(url);
    }
    assert!(std::env::var("CI").as_deref() != Ok("true"), "CI=true and no PostgreSQL answers at {url}");
    eprintln!("SKIPPED the PostgreSQL flow test: no server answers at {url}");
    None
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flow_is_recorded_into_postgresql_with_its_retries_logs_and_slots() {
    let Some(url) = server() else { return };
    let schema = format!("prefect_flow_test_{}", std::process::id());
    let store = Arc::new(PostgresOptions::new().schema(&schema).open(&url).unwrap());
    store.set_concurrency_limit("warehouse", 1).await.unwrap();
    let recorder = Arc::new(RecorderOptions::default().start(store.clone()).unwrap());
    let limits = Arc::new(StoreLimits::new(store.clone()));
    let env = prefect::env::Env::new().recorder(recorder.clone()).shared_limits(limits);
    assert_eq!(env.run(nightly()).await.unwrap(), 3 + 60);

    // The flow's final state is stored when the call returns.
    let runs = store.list_flow_runs(&FlowRunFilter::new()).await.unwrap();
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].state.as_ref().unwrap().name, "Completed");
    let detail = store.inspect_flow_run(runs[0].id, 100).await.unwrap();
    let names: Vec<&str> = detail.states.iter().map(|s| &*s.name).collect();
    assert_eq!(names, ["Pending", "Running", "Completed"]);
    let flaky = detail.task_runs.iter().find(|t| t.task_name == "flaky").unwrap();
    assert_eq!(flaky.run_count, 3);
    let history = store.inspect_task_run(flaky.id).await.unwrap().states;
    let names: Vec<&str> = history.iter().map(|s| &*s.name).collect();
    assert_eq!(
        names,
        ["Pending", "Running", "AwaitingRetry", "Retrying", "AwaitingRetry", "Retrying", "Completed"]
    );
    let loads = store
        .list_task_runs(&TaskRunFilter::of_flow_run(runs[0].id).state(StateType::Completed))
        .await
        .unwrap();
    assert_eq!(loads.iter().filter(|t| t.task_name == "load").count(), 3);
    let lines = store.logs(&LogFilter::of(runs[0].id)).await.unwrap();
    for part in 1..=3 {
        assert!(lines.iter().any(|l| l.record.message == format!("loading part {part}")), "{lines:?}");
    }
    // The limit of 1 was held in the database, and every slot given back.
    let limit = store.concurrency_limit("warehouse").await.unwrap().unwrap();
    assert_eq!(limit.active_slots, 0);
    assert!(store.list_slot_holders().await.unwrap().is_empty());
    let load_runs: Vec<_> = detail.task_runs.iter().filter(|t| t.task_name == "load").collect();
    for (a, b) in load_runs.iter().zip(load_runs.iter().skip(1)) {
        let (a_end, b_start) = (a.end_time.unwrap(), b.start_time.unwrap());
        let (b_end, a_start) = (b.end_time.unwrap(), a.start_time.unwrap());
        assert!(a_end <= b_start || b_end <= a_start, "one at a time under a limit of 1");
    }

    // The server's pages over it.
    let server = prefect::store::AnyStore::from_arc(store.clone());
    let server = prefect_server::Server::builder(server).port(0).bind().await.unwrap();
    let addr = server.local_addr();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let serving = tokio::spawn(server.serve(async move {
        let _ = stopped.await;
    }));
    let get = move |path: String| {
        tokio::task::spawn_blocking(move || {
            use std::io::{Read, Write};
            let mut stream = std::net::TcpStream::connect(addr).unwrap();
            write!(stream, "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").unwrap();
            let mut answer = String::new();
            stream.read_to_string(&mut answer).unwrap();
            answer
        })
    };
    let run_page = get(format!("/runs/{}", runs[0].id.0)).await.unwrap();
    assert!(run_page.starts_with("HTTP/1.1 200") && run_page.contains("flaky-"), "{run_page}");
    let dashboard = get("/".into()).await.unwrap();
    assert!(dashboard.starts_with("HTTP/1.1 200") && dashboard.contains("No work queues"), "{dashboard}");
    let deployments = get("/api/deployments".into()).await.unwrap();
    assert!(
        deployments.starts_with("HTTP/1.1 200") && deployments.ends_with(r#"{"deployments":[]}"#),
        "{deployments}"
    );
    stop.send(()).unwrap();
    serving.await.unwrap().unwrap();

    // The recorder closes (its lease released) before the schema goes.
    drop(env);
    drop(recorder);
    drop(store);
    let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(connection);
    client.batch_execute(&format!("DROP SCHEMA {schema} CASCADE")).await.unwrap();
}

const CHILD: &str = "PREFECT_TEST_POSTGRES_CHILD";

/// In the child: a program that sets nothing up, run with
/// `PREFECT_API_DATABASE_URL` naming PostgreSQL.
#[tokio::test]
async fn child_body() {
    if std::env::var(CHILD).is_ok() {
        let loaded: u32 = load::map(vec![4, 5]).await.into_iter().map(|r| r.unwrap_or(0)).sum();
        assert_eq!(loaded, 90);
        default_recorded().await.unwrap();
    }
}

#[flow]
async fn default_recorded() -> Result<(), prefect::Error> {
    tracing::info!("recorded by default");
    Ok(())
}

#[test]
fn prefect_api_database_url_names_postgresql_for_a_program_that_sets_nothing_up() {
    let Some(url) = server() else { return };
    let schema = format!("prefect_default_test_{}", std::process::id());
    // Made here; the child's URL points its connections at it.
    let store = PostgresOptions::new().schema(&schema).open(&url).unwrap();
    let separator = if url.contains('?') { '&' } else { '?' };
    let child_url = format!("{url}{separator}options=-csearch_path%3D{schema}");
    let home = tempfile::tempdir().unwrap();
    let output = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "child_body", "--nocapture"])
        .env(CHILD, "1")
        .env("PREFECT_HOME", home.path())
        .env("PREFECT_API_DATABASE_URL", &child_url)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let runs = futures::executor::block_on(store.list_flow_runs(&FlowRunFilter::new())).unwrap();
    assert_eq!(runs.len(), 1, "{runs:?}");
    assert_eq!(runs[0].flow_name, "default-recorded");
    assert_eq!(runs[0].state.as_ref().unwrap().name, "Completed");
    // The tasks called outside any flow are there too.
    let alone = futures::executor::block_on(store.list_task_runs(&TaskRunFilter::standalone())).unwrap();
    assert_eq!(alone.len(), 2, "{alone:?}");
    assert!(!home.path().join("prefect.db").exists(), "no SQLite file was made");
    drop(store);
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await.unwrap();
        tokio::spawn(connection);
        client.batch_execute(&format!("DROP SCHEMA {schema} CASCADE")).await.unwrap();
    });
}
