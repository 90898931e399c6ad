//! The JSON API: answers from a real SQLite run database, in-process
//! (`oneshot` through the router) and over a bound port.

use std::net::{IpAddr, Ipv4Addr};

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use prefect_model::{FlowRunId, LogLevel, StateType, TaskRunId};
use prefect_server::{ApiKey, Error, Server};
use prefect_store::conformance::Events;
use prefect_store::prelude::*;
use prefect_store::{AnyStore, DeploymentSpec, FlowRunFilter};
use prefect_store_sqlite::SqliteStore;
use serde_json::{Value, json};
use tower::ServiceExt;

mod common;
use common::daily;

/// A database with two flows: `etl` (one failed run with two task runs and
/// three log lines) and `report` (one completed run).
struct Fixture {
    _dir: tempfile::TempDir,
    store: AnyStore,
    failed: FlowRunId,
    completed: FlowRunId,
    extract: TaskRunId,
}

async fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let sqlite = SqliteStore::open(dir.path().join("runs.db")).unwrap();
    let mut events = Events::starting_ago(std::time::Duration::from_secs(60));
    let failed = events.flow_run("etl", "brave-otter");
    events.lifecycle(failed, StateType::Failed);
    let extract = events.task_run(Some(failed), "extract");
    events.lifecycle(extract, StateType::Completed);
    let load = events.task_run(Some(failed), "load");
    events.lifecycle(load, StateType::Failed);
    events.log(Some(failed), None, LogLevel::Info, "starting <script>alert(1)</script>");
    events.log(Some(failed), Some(extract), LogLevel::Debug, "read 10 rows");
    events.log(Some(failed), Some(load), LogLevel::Error, "the database refused the rows");
    let completed = events.flow_run("report", "calm-heron");
    events.lifecycle(completed, StateType::Completed);
    sqlite.write_events(None, &events.take()).await.unwrap();
    Fixture { _dir: dir, store: AnyStore::new(sqlite), failed, completed, extract }
}

/// A GET as a browser on this machine sends it.
async fn get(router: &Router, uri: &str) -> (StatusCode, Value) {
    get_with(router, Request::get(uri).header(header::HOST, "localhost:4200").body(Body::empty()).unwrap())
        .await
}

/// A POST of `body` as JSON.
async fn post(router: &Router, uri: &str, body: Value) -> (StatusCode, Value) {
    let request = Request::post(uri)
        .header(header::HOST, "127.0.0.1:4200")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_string()))
        .unwrap();
    get_with(router, request).await
}

async fn get_with(router: &Router, request: Request<Body>) -> (StatusCode, Value) {
    let response = router.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    // JSON, or the text of a body that is not (an event stream).
    let body = serde_json::from_slice(&bytes)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
    (status, body)
}

fn names(list: &Value, field: &str) -> Vec<String> {
    list.as_array().unwrap().iter().map(|item| item[field].as_str().unwrap().to_owned()).collect()
}

#[tokio::test]
async fn lists_flows_and_runs_newest_first_with_their_states() {
    let f = fixture().await;
    let router = Server::builder(f.store.clone()).router();

    let (status, body) = get(&router, "/api/health").await;
    assert_eq!((status, body), (StatusCode::OK, json!({ "status": "ok" })));

    let (status, body) = get(&router, "/api/flows").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(names(&body["flows"], "name"), ["etl", "report"]);

    let (_, body) = get(&router, "/api/flow_runs").await;
    let runs = &body["flow_runs"];
    assert_eq!(names(runs, "name"), ["calm-heron", "brave-otter"]);
    assert_eq!(runs[0]["state"]["type"], "COMPLETED");
    assert_eq!(runs[1]["state"]["type"], "FAILED");
    assert_eq!(runs[1]["id"], f.failed.0.to_string());
    assert_eq!(runs[1]["run_count"], 1);
}

#[tokio::test]
async fn filters_runs_by_state_flow_time_and_limit() {
    let f = fixture().await;
    let router = Server::builder(f.store.clone()).router();
    let listed = |uri: &'static str| {
        let router = router.clone();
        async move { names(&get(&router, uri).await.1["flow_runs"], "name") }
    };
    assert_eq!(listed("/api/flow_runs?state=failed,crashed").await, ["brave-otter"]);
    assert_eq!(listed("/api/flow_runs?flow=report").await, ["calm-heron"]);
    assert_eq!(listed("/api/flow_runs?limit=1").await, ["calm-heron"]);
    assert!(listed("/api/flow_runs?since=2999-01-01T00:00:00Z").await.is_empty());
    assert_eq!(listed("/api/flow_runs?since=2000-01-01T00:00:00%2B02:00").await.len(), 2);
    assert!(listed("/api/flow_runs?until=2000-01-01T00:00:00Z").await.is_empty());
    assert_eq!(listed("/api/flow_runs?name=OTTER").await, ["brave-otter"]);
    assert!(listed("/api/flow_runs?tag=nightly").await.is_empty());
    // Pages: `next` while a page is full, then none.
    let (_, first) = get(&router, "/api/flow_runs?limit=1").await;
    let next = first["next"].as_str().expect("a full page has a next").to_owned();
    let (_, second) = get(&router, &format!("/api/flow_runs?limit=1&after={next}")).await;
    assert_eq!(names(&second["flow_runs"], "name"), ["brave-otter"]);
    let (_, last) = get(&router, &format!("/api/flow_runs?limit=5&after={next}")).await;
    assert_eq!(last["next"], Value::Null);
    for bad in ["after=soon", "deployment=daily", "until=tomorrow"] {
        let (status, body) = get(&router, &format!("/api/flow_runs?{bad}")).await;
        let field = bad.split('=').next().unwrap();
        assert_eq!((status, body["field"].as_str()), (StatusCode::BAD_REQUEST, Some(field)), "{bad}: {body}");
    }
}

#[tokio::test]
async fn task_runs_are_listed_across_flow_runs_filtered_and_paged() {
    let f = fixture().await;
    let router = Server::builder(f.store.clone()).router();
    let listed = |uri: String| {
        let router = router.clone();
        async move { names(&get(&router, &uri).await.1["task_runs"], "task_name") }
    };
    // Newest first across flow runs; in creation order within one.
    assert_eq!(listed("/api/task_runs".into()).await, ["load", "extract"]);
    assert_eq!(listed(format!("/api/task_runs?flow_run={}", f.failed.0)).await, ["extract", "load"]);
    assert_eq!(listed("/api/task_runs?state=failed".into()).await, ["load"]);
    assert_eq!(listed("/api/task_runs?flow=etl&name=EXTR".into()).await, ["extract"]);
    assert!(listed("/api/task_runs?flow=report".into()).await.is_empty());
    assert!(listed("/api/task_runs?standalone=true".into()).await.is_empty());
    assert!(listed("/api/task_runs?since=2999-01-01T00:00:00Z".into()).await.is_empty());
    assert!(listed("/api/task_runs?tag=db".into()).await.is_empty());
    let (_, first) = get(&router, "/api/task_runs?limit=1").await;
    let next = first["next"].as_str().expect("a full page has a next").to_owned();
    let (_, second) = get(&router, &format!("/api/task_runs?limit=1&after={next}")).await;
    assert_eq!(names(&second["task_runs"], "task_name"), ["extract"]);
    assert_eq!(second["task_runs"][0]["id"], json!(f.extract.0.to_string()));
    for bad in ["after=soon", "flow_run=etl", "standalone=maybe", "state=done", "limit=0"] {
        let (status, body) = get(&router, &format!("/api/task_runs?{bad}")).await;
        let field = bad.split('=').next().unwrap();
        assert_eq!((status, body["field"].as_str()), (StatusCode::BAD_REQUEST, Some(field)), "{bad}: {body}");
    }
}

#[tokio::test]
async fn a_flow_run_page_holds_its_history_task_runs_and_logs() {
    let f = fixture().await;
    let router = Server::builder(f.store.clone()).router();

    let (status, run) = get(&router, &format!("/api/flow_runs/{}", f.failed.0)).await;
    assert_eq!(status, StatusCode::OK);
    let history: Vec<&str> =
        run["states"].as_array().unwrap().iter().map(|s| s["type"].as_str().unwrap()).collect();
    assert_eq!(history, ["PENDING", "RUNNING", "FAILED"]);
    assert_eq!(run["task_run_count"], 2);
    assert_eq!(names(&run["task_runs"], "task_name"), ["extract", "load"]);

    let (_, tasks) = get(&router, &format!("/api/flow_runs/{}/task_runs?state=failed", f.failed.0)).await;
    assert_eq!(names(&tasks["task_runs"], "task_name"), ["load"]);

    let (status, task) = get(&router, &format!("/api/task_runs/{}", f.extract.0)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(task["run"]["state"]["type"], "COMPLETED");

    // Logs: the run's and its task runs', in order, paged by `next`, and
    // user text comes back as the JSON string it was (never as markup).
    let (_, page) = get(&router, &format!("/api/flow_runs/{}/logs?limit=2", f.failed.0)).await;
    let messages = |page: &Value| -> Vec<String> {
        page["logs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["record"]["message"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(messages(&page), ["starting <script>alert(1)</script>", "read 10 rows"]);
    let next = page["next"].as_i64().unwrap();
    let (_, rest) = get(&router, &format!("/api/flow_runs/{}/logs?after={next}", f.failed.0)).await;
    assert_eq!(messages(&rest), ["the database refused the rows"]);
    let (_, warnings) = get(&router, &format!("/api/flow_runs/{}/logs?level=warning", f.failed.0)).await;
    assert_eq!(messages(&warnings), ["the database refused the rows"]);

    let (_, other) = get(&router, &format!("/api/flow_runs/{}", f.completed.0)).await;
    assert_eq!(other["task_run_count"], 0);
}

#[tokio::test]
async fn bad_input_is_a_400_naming_the_field_and_a_missing_run_a_404() {
    let f = fixture().await;
    let router = Server::builder(f.store.clone()).router();
    for (uri, field) in [
        ("/api/flow_runs?state=finished", "state"),
        ("/api/flow_runs?limit=0", "limit"),
        ("/api/flow_runs?limit=lots", "limit"),
        ("/api/flow_runs?since=yesterday", "since"),
        ("/api/flow_runs/not-an-id", "id"),
        ("/api/task_runs/123", "id"),
        ("/api/flow_runs/0192f1d2-0000-7000-8000-000000000000?task_runs=-1", "task_runs"),
    ] {
        let (status, body) = get(&router, uri).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{uri}: {body}");
        assert_eq!(body["field"], field, "{uri}: {body}");
        assert!(body["error"].as_str().is_some_and(|e| !e.is_empty()), "{uri}: {body}");
    }
    let missing = FlowRunId::new();
    let (status, body) = get(&router, &format!("/api/flow_runs/{}", missing.0)).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    let (status, _) = get(&router, &format!("/api/flow_runs/{}/logs?after=x", f.failed.0)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn with_a_key_every_call_but_health_needs_the_bearer_token() {
    let f = fixture().await;
    let router = Server::builder(f.store.clone()).api_key(ApiKey::new("s3cret\n").unwrap()).router();
    let with = |auth: Option<&str>| {
        let mut request = Request::get("/api/flows");
        if let Some(auth) = auth {
            request = request.header(header::AUTHORIZATION, auth);
        }
        request.body(Body::empty()).unwrap()
    };
    for auth in [None, Some("Bearer wrong"), Some("Bearer s3cre"), Some("s3cret"), Some("Bearer s3cret2")] {
        let (status, body) = get_with(&router, with(auth)).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{auth:?}");
        assert_eq!(body, json!({ "error": "unauthorized" }), "no detail for {auth:?}");
    }
    let (status, body) = get_with(&router, with(Some("Bearer s3cret"))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(names(&body["flows"], "name"), ["etl", "report"]);
    assert_eq!(get(&router, "/api/health").await.0, StatusCode::OK);
    assert!(matches!(ApiKey::new(" \n"), Err(Error::EmptyApiKey)));
    assert_eq!(format!("{:?}", ApiKey::new("s3cret").unwrap()), "ApiKey(..)");
}

#[tokio::test]
async fn deployments_queues_workers_and_limits_are_listed() {
    let f = fixture().await;
    let spec = DeploymentSpec {
        work_queue: "production".into(),
        parameters: json!({ "months": [1, 2] }),
        ..daily()
    };
    f.store.upsert_deployment(&spec).await.unwrap();
    f.store.set_concurrency_limit("db", 3).await.unwrap();
    let router = Server::builder(f.store.clone()).router();
    let (_, body) = get(&router, "/api/deployments").await;
    assert_eq!(body["deployments"][0]["spec"]["name"], "daily");
    assert_eq!(body["deployments"][0]["spec"]["parameters"], json!({ "months": [1, 2] }));
    let (_, body) = get(&router, "/api/concurrency_limits").await;
    assert_eq!(body["concurrency_limits"][0]["tag"], "db");
    assert_eq!(body["concurrency_limits"][0]["limit"], 3);
    assert_eq!(get(&router, "/api/work_queues").await.0, StatusCode::OK);
    assert_eq!(get(&router, "/api/workers").await.1, json!({ "workers": [] }));
}

#[tokio::test]
async fn serves_on_a_real_port_and_refuses_other_addresses_without_a_key() {
    let f = fixture().await;
    let everywhere = Server::builder(f.store.clone()).host(IpAddr::V4(Ipv4Addr::UNSPECIFIED)).port(0);
    let error = everywhere.clone().bind().await.unwrap_err();
    assert!(matches!(error, Error::ApiKeyRequired { .. }), "{error}");
    assert!(error.to_string().contains("API key"), "{error}");

    let server = Server::builder(f.store.clone()).port(0).bind().await.unwrap();
    let addr = server.local_addr();
    assert!(addr.ip().is_loopback());
    // A second server on the same port fails at bind, naming the address.
    let taken = Server::builder(f.store.clone()).port(addr.port()).bind().await.unwrap_err();
    assert!(matches!(taken, Error::Bind { .. }) && taken.to_string().contains(&addr.to_string()), "{taken}");

    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let serving = tokio::spawn(server.serve(async move {
        let _ = stopped.await;
    }));
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    stream
        .write_all(
            format!("GET /api/flow_runs?flow=report HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n")
                .as_bytes(),
        )
        .await
        .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.contains("\"calm-heron\""), "{response}");
    stop.send(()).unwrap();
    serving.await.unwrap().unwrap();
}

#[tokio::test]
async fn runs_are_cancelled_retried_and_deployments_paused_through_the_api() {
    let f = fixture().await;
    let deployment = f.store.upsert_deployment(&daily()).await.unwrap();
    let queued =
        common::queue_run(&f.store, deployment.id, "queued-quail", chrono::TimeDelta::hours(1)).await;
    let router = Server::builder(f.store.clone()).router();
    let state_of = |id: FlowRunId| {
        let store = f.store.clone();
        async move { store.inspect_flow_run(id, 0).await.unwrap().run.state.unwrap() }
    };

    // A queued run ends Cancelled at once, with a message saying who asked.
    let (status, body) = post(&router, &format!("/api/flow_runs/{}/cancel", queued.id.0), json!({})).await;
    assert_eq!((status, &body["state"]), (StatusCode::OK, &json!("Cancelled")), "{body}");
    let state = state_of(queued.id).await;
    assert_eq!(state.state_type, StateType::Cancelled);
    assert!(state.message.unwrap().contains("the API"));

    // Retried, it goes back to its queue; cancelling it again works the same.
    let (status, body) = post(&router, &format!("/api/flow_runs/{}/retry", queued.id.0), json!({})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(state_of(queued.id).await.name, "AwaitingRetry");

    // What does not apply is a 409 saying why, and changes nothing.
    let (status, body) = post(&router, &format!("/api/flow_runs/{}/cancel", f.completed.0), json!({})).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(body["error"].as_str().unwrap().contains("nothing to cancel"), "{body}");
    let (status, body) = post(&router, &format!("/api/flow_runs/{}/retry", f.failed.0), json!({})).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(body["error"].as_str().unwrap().contains("not a run of a deployment"), "{body}");
    assert_eq!(state_of(f.failed).await.state_type, StateType::Failed);
    let (status, _) = post(&router, &format!("/api/flow_runs/{}/resume", f.failed.0), json!({})).await;
    assert_eq!(status, StatusCode::CONFLICT);

    let (status, body) = post(&router, "/api/deployments/etl/daily/pause", json!({})).await;
    assert_eq!((status, &body["paused"]), (StatusCode::OK, &json!(true)), "{body}");
    assert!(f.store.deployment("etl/daily").await.unwrap().unwrap().spec.paused);
    post(&router, "/api/deployments/etl/daily/resume", json!({})).await;
    assert!(!f.store.deployment("etl/daily").await.unwrap().unwrap().spec.paused);
    let (status, _) = post(&router, "/api/deployments/etl/weekly/pause", json!({})).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn writes_need_a_json_body_and_a_keyless_server_answers_only_loopback_names() {
    let f = fixture().await;
    let router = Server::builder(f.store.clone()).router();
    let uri = format!("/api/flow_runs/{}/cancel", f.failed.0);
    // A form post (what a page on another site can send without asking).
    let form = Request::post(&uri)
        .header(header::HOST, "localhost")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from("a=1"))
        .unwrap();
    let (status, body) = get_with(&router, form).await;
    assert_eq!((status, &body["field"]), (StatusCode::BAD_REQUEST, &json!("body")), "{body}");
    let (status, body) = post(&router, &uri, json!({ "inptu": 1 })).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body["error"].as_str().unwrap().contains("inptu"), "{body}");
    assert_eq!(
        f.store.inspect_flow_run(f.failed, 0).await.unwrap().run.state.unwrap().state_type,
        StateType::Failed
    );

    // DNS rebinding: another site's name resolving to 127.0.0.1.
    let rebound =
        Request::get("/api/flows").header(header::HOST, "evil.example:4200").body(Body::empty()).unwrap();
    let (status, body) = get_with(&router, rebound).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(get(&router, "/api/flows").await.0, StatusCode::OK);
}

#[tokio::test]
async fn a_deployment_run_is_created_with_checked_parameter_names() {
    let f = fixture().await;
    let spec = DeploymentSpec {
        parameters: json!({ "months": [1] }),
        parameter_schema: Some(json!({ "type": "object", "properties": { "months": {}, "dry_run": {} } })),
        ..daily()
    };
    f.store.upsert_deployment(&spec).await.unwrap();
    let router = Server::builder(f.store.clone()).router();

    let body = json!({ "parameters": { "dry_run": true }, "start_at": "2030-01-01T06:00:00Z" });
    let (status, created) = post(&router, "/api/deployments/etl/daily/runs", body).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["parameters"], json!({ "months": [1], "dry_run": true }));
    let id: uuid::Uuid = created["id"].as_str().unwrap().parse().unwrap();
    let run = f.store.inspect_flow_run(FlowRunId(id), 0).await.unwrap();
    assert_eq!(run.run.state.unwrap().state_type, StateType::Scheduled);
    assert_eq!(run.run.expected_start.unwrap().to_rfc3339(), "2030-01-01T06:00:00+00:00");
    assert_eq!(run.parameters, json!({ "months": [1], "dry_run": true }));

    let before = f.store.list_flow_runs(&FlowRunFilter::new()).await.unwrap().len();
    let (status, body) =
        post(&router, "/api/deployments/etl/daily/runs", json!({ "parameters": { "monthz": [2] } })).await;
    assert_eq!((status, &body["field"]), (StatusCode::BAD_REQUEST, &json!("parameters")), "{body}");
    assert!(body["error"].as_str().unwrap().contains("monthz"), "{body}");
    let typed = DeploymentSpec {
        name: "typed".into(),
        parameters: json!({ "months": [1] }),
        parameter_schema: Some(json!({
            "type": "object",
            "properties": { "months": { "type": "array", "items": { "type": "integer", "minimum": 1, "maximum": 12 } } }
        })),
        ..daily()
    };
    f.store.upsert_deployment(&typed).await.unwrap();
    let (status, body) =
        post(&router, "/api/deployments/etl/typed/runs", json!({ "parameters": { "months": [1, 13] } }))
            .await;
    assert_eq!((status, &body["field"]), (StatusCode::BAD_REQUEST, &json!("parameters.months")), "{body}");
    assert!(body["error"].as_str().unwrap().contains("13"), "{body}");
    let (status, _) =
        post(&router, "/api/deployments/etl/typed/runs", json!({ "parameters": { "months": [12] } })).await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, body) =
        post(&router, "/api/deployments/etl/daily/runs", json!({ "start_at": "soon" })).await;
    assert_eq!((status, &body["field"]), (StatusCode::BAD_REQUEST, &json!("start_at")), "{body}");
    let (status, _) = post(&router, "/api/deployments/etl/hourly/runs", json!({})).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(
        f.store.list_flow_runs(&FlowRunFilter::new()).await.unwrap().len(),
        before + 1,
        "only the good one"
    );
}

/// Reads SSE frames from `body` until it holds `needle` (or the stream ends).
async fn read_until(body: &mut Body, text: &mut String, needle: &str) {
    while !text.contains(needle) {
        let frame = tokio::time::timeout(std::time::Duration::from_secs(30), body.frame())
            .await
            .expect("the stream went quiet for 30 s");
        match frame {
            Some(frame) => {
                if let Ok(data) = frame.unwrap().into_data() {
                    text.push_str(std::str::from_utf8(&data).unwrap());
                }
            }
            None => break,
        }
    }
}

#[tokio::test]
async fn a_running_flow_run_streams_its_states_and_lines_until_it_ends() {
    let f = fixture().await;
    let mut events = Events::starting_now();
    let run = events.flow_run("etl", "live-lynx");
    events.state(run, StateType::Running);
    events.log(Some(run), None, LogLevel::Info, "first line");
    f.store.write_events(None, &events.take()).await.unwrap();
    let router = Server::builder(f.store.clone()).router();

    let request = Request::get(format!("/api/flow_runs/{}/events", run.0))
        .header(header::HOST, "localhost")
        .body(Body::empty())
        .unwrap();
    let response = router.clone().oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()[header::CONTENT_TYPE], "text/event-stream");
    let mut body = response.into_body();
    let mut text = String::new();
    read_until(&mut body, &mut text, "\"RUNNING\"").await;
    assert!(text.contains("event: log") && text.contains("first line"), "{text}");

    // Recorded while the stream is open: it sends them, then ends.
    events.log(Some(run), None, LogLevel::Warning, "second line");
    events.state(run, StateType::Completed);
    f.store.write_events(None, &events.take()).await.unwrap();
    read_until(&mut body, &mut text, "\u{0}never").await;
    assert_eq!(text.matches("first line").count(), 1, "{text}");
    assert_eq!(text.matches("second line").count(), 1, "{text}");
    assert_eq!(text.matches("event: state").count(), 2, "{text}");
    assert!(text.find("second line").unwrap() < text.find("\"COMPLETED\"").unwrap(), "{text}");

    // Reconnecting after the first line sends only what came after it.
    let cursor = text.split("id: ").nth(1).unwrap().lines().next().unwrap().to_owned();
    let request = Request::get(format!("/api/flow_runs/{}/events", run.0))
        .header(header::HOST, "localhost")
        .header("last-event-id", cursor)
        .body(Body::empty())
        .unwrap();
    let mut body = router.clone().oneshot(request).await.unwrap().into_body();
    let mut again = String::new();
    read_until(&mut body, &mut again, "\u{0}never").await;
    assert!(!again.contains("first line") && again.contains("second line"), "{again}");

    let (status, _) = get(&router, &format!("/api/flow_runs/{}/events", FlowRunId::new().0)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_openapi_document_lists_every_route_and_every_listed_route_answers() {
    let f = fixture().await;
    f.store.upsert_deployment(&daily()).await.unwrap();
    let mut events = Events::starting_now();
    let throwaway = events.flow_run("etl", "to-delete");
    events.lifecycle(throwaway, StateType::Completed);
    f.store.write_events(None, &events.take()).await.unwrap();
    let router = Server::builder(f.store.clone()).router();
    let (status, document) = get(&router, "/api/openapi.json").await;
    assert_eq!(status, StatusCode::OK);
    assert!(document["openapi"].as_str().unwrap().starts_with("3."), "{document}");
    let paths = document["paths"].as_object().unwrap();
    let mut listed: Vec<&str> = paths.keys().map(String::as_str).collect();
    listed.sort_unstable();
    assert_eq!(
        listed,
        [
            "/api/concurrency_limits",
            "/api/concurrency_limits/holders",
            "/api/concurrency_limits/slots",
            "/api/concurrency_limits/slots/{holder}",
            "/api/deployments",
            "/api/deployments/{flow}/{name}/pause",
            "/api/deployments/{flow}/{name}/resume",
            "/api/deployments/{flow}/{name}/runs",
            "/api/events",
            "/api/flow_runs",
            "/api/flow_runs/changes",
            "/api/flow_runs/{id}",
            "/api/flow_runs/{id}/cancel",
            "/api/flow_runs/{id}/dependencies",
            "/api/flow_runs/{id}/events",
            "/api/flow_runs/{id}/graph",
            "/api/flow_runs/{id}/logs",
            "/api/flow_runs/{id}/resume",
            "/api/flow_runs/{id}/retry",
            "/api/flow_runs/{id}/task_runs",
            "/api/flows",
            "/api/health",
            "/api/leases",
            "/api/leases/{id}",
            "/api/openapi.json",
            "/api/queue",
            "/api/runs/resolve",
            "/api/task_runs",
            "/api/task_runs/{id}",
            "/api/work_queues",
            "/api/workers",
        ]
    );
    for (path, item) in paths {
        let id = if path.starts_with("/api/task_runs") { f.extract.0 } else { f.completed.0 };
        let id = if path.starts_with("/api/leases") { "1".to_owned() } else { id.to_string() };
        let uri = path
            .replace("{id}", &id)
            .replace("{holder}", &f.extract.0.to_string())
            .replace("{flow}", "etl")
            .replace("{name}", "daily");
        for method in item.as_object().unwrap().keys() {
            if uri == "/api/flow_runs/changes" {
                // A stream that lasts minutes: its head only.
                let request =
                    Request::get(&uri).header(header::HOST, "localhost").body(Body::empty()).unwrap();
                let response = router.clone().oneshot(request).await.unwrap();
                assert_eq!(response.status(), StatusCode::OK);
                assert_eq!(response.headers()[header::CONTENT_TYPE], "text/event-stream");
                continue;
            }
            let (status, body) = match method.as_str() {
                "get" => get(&router, &uri).await,
                "post" => post(&router, &uri, json!({})).await,
                "put" | "delete" => {
                    // Deleting a flow run: one made for it, which no other route here reads.
                    let uri = if path == "/api/flow_runs/{id}" {
                        format!("/api/flow_runs/{}", throwaway.0)
                    } else {
                        uri.clone()
                    };
                    let request = Request::builder()
                        .method(method.to_uppercase().as_str())
                        .uri(&uri)
                        .header(header::HOST, "127.0.0.1:4200")
                        .header(header::CONTENT_TYPE, "application/json")
                        .body(Body::from("{}"))
                        .unwrap();
                    get_with(&router, request).await
                }
                other => panic!("{other} {path}: only GET, POST, PUT and DELETE are served"),
            };
            assert!(
                status != StatusCode::NOT_FOUND && status != StatusCode::METHOD_NOT_ALLOWED,
                "{method} {uri}: {status} {body}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_another_process_holds_is_refused_at_start_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("held.db");
    let store = prefect_store_sqlite::SqliteOptions::new()
        .busy_timeout(std::time::Duration::from_millis(100))
        .open(&path)
        .unwrap();
    let holder = rusqlite::Connection::open(&path).unwrap();
    holder.execute_batch("BEGIN EXCLUSIVE").unwrap();
    let error = Server::builder(AnyStore::new(store.clone())).port(0).bind().await.unwrap_err();
    let text = error.to_string();
    assert!(matches!(error, prefect_server::Error::Store(_)), "{error:?}");
    assert!(text.contains(&path.display().to_string()) && text.contains("locked"), "{text}");
    holder.execute_batch("ROLLBACK").unwrap();
    let server = Server::builder(AnyStore::new(store)).port(0).bind().await.unwrap();
    assert!(server.local_addr().ip().is_loopback());
}

#[tokio::test]
async fn event_batches_are_stored_once_and_malformed_ones_are_400s() {
    let f = fixture().await;
    let router = Server::builder(f.store.clone()).router();
    let mut events = Events::starting_now();
    let run = events.flow_run("remote", "sent-over-http");
    events.lifecycle(run, StateType::Completed);
    let batch = json!({ "batch": uuid::Uuid::now_v7(), "lease": null, "events": events.take() });
    let (status, body) = post(&router, "/api/events", batch.clone()).await;
    assert_eq!((status, &body), (StatusCode::OK, &json!({ "stored": true })));
    let (status, body) = post(&router, "/api/events", batch).await;
    assert_eq!((status, &body), (StatusCode::OK, &json!({ "stored": false })), "sent again: stored once");
    let states = f.store.inspect_flow_run(run, 0).await.unwrap().states;
    assert_eq!(states.len(), 3);

    let (status, body) =
        post(&router, "/api/events", json!({ "batch": uuid::Uuid::now_v7(), "events": 5 })).await;
    assert_eq!((status, body["field"].as_str()), (StatusCode::BAD_REQUEST, Some("body")), "{body}");
    let request = Request::post("/api/events")
        .header(header::HOST, "localhost")
        .header(header::CONTENT_TYPE, "text/plain")
        .body(Body::from("{}"))
        .unwrap();
    let (status, body) = get_with(&router, request).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
}

#[tokio::test]
async fn a_runs_graph_lays_out_its_task_runs_and_subflows_with_their_edges() {
    let dir = tempfile::tempdir().unwrap();
    let sqlite = SqliteStore::open(dir.path().join("runs.db")).unwrap();
    let mut events = Events::starting_now();
    let run = events.flow_run("etl", "wide-wombat");
    events.state(run, StateType::Running);
    let fetch = events.task_run(Some(run), "fetch");
    events.lifecycle(fetch, StateType::Completed);
    let parts: Vec<TaskRunId> = (0..3)
        .map(|i| {
            let part = events.task_run_with(Some(run), "parse", Some(i), &[]);
            events.dependency(part, fetch, prefect_model::DependencyKind::Data { argument: "body".into() });
            events.state(part, StateType::Running);
            part
        })
        .collect();
    let load = events.task_run(Some(run), "load");
    for part in &parts {
        events.dependency(load, *part, prefect_model::DependencyKind::WaitFor);
    }
    // An edge from the run itself is not drawn.
    events.dependency(fetch, run, prefect_model::DependencyKind::WaitFor);
    sqlite.write_events(None, &events.take()).await.unwrap();
    let store = AnyStore::new(sqlite);
    let router = Server::builder(store.clone()).router();

    let (status, graph) = get(&router, &format!("/api/flow_runs/{}/graph", run.0)).await;
    assert_eq!(status, StatusCode::OK, "{graph}");
    let nodes = graph["nodes"].as_array().unwrap();
    assert_eq!(nodes.len(), 5);
    assert_eq!(graph["layers"], 3);
    assert_eq!(graph["truncated"], false);
    let place = |id: TaskRunId| {
        let node = nodes.iter().find(|n| n[0] == id.0.to_string().as_str()).unwrap();
        (node[6].as_u64().unwrap(), node[7].as_u64().unwrap(), node[2].as_str().unwrap().to_owned())
    };
    assert_eq!(place(fetch), (0, 0, "completed".to_owned()));
    assert_eq!(
        parts.iter().map(|p| place(*p)).collect::<Vec<_>>(),
        [(1, 0, "running".to_owned()), (1, 1, "running".to_owned()), (1, 2, "running".to_owned())]
    );
    assert_eq!(place(load), (2, 0, "none".to_owned()));
    // Six edges among the task runs: three out of fetch, three into load.
    assert_eq!(graph["edges"].as_array().unwrap().len(), 6);
    // The first start is the origin: fetch starts at 0 ms.
    assert_eq!(nodes[0][4], 0);

    let (_, page) = get(&router, &format!("/api/flow_runs/{}/graph?limit=2", run.0)).await;
    assert_eq!((page["nodes"].as_array().unwrap().len(), &page["truncated"]), (2, &json!(true)));
    let (status, body) = get(&router, &format!("/api/flow_runs/{}/graph?limit=0", run.0)).await;
    assert_eq!((status, body["field"].as_str()), (StatusCode::BAD_REQUEST, Some("limit")));
    let (status, _) = get(&router, &format!("/api/flow_runs/{}/graph", FlowRunId::new().0)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // The raw edges, as the HTTP store reads them.
    let (status, edges) = get(&router, &format!("/api/flow_runs/{}/dependencies", run.0)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(edges["dependencies"].as_array().unwrap().len(), 7, "{edges}");
    let (status, body) = get(&router, &format!("/api/flow_runs/{}/dependencies?limit=x", run.0)).await;
    assert_eq!((status, body["field"].as_str()), (StatusCode::BAD_REQUEST, Some("limit")));
}

/// A response's headers and status, for the sign-in flow.
async fn send(router: &Router, request: Request<Body>) -> axum::http::Response<Body> {
    router.clone().oneshot(request).await.unwrap()
}

fn set_cookies(response: &axum::http::Response<Body>) -> Vec<String> {
    response.headers().get_all(header::SET_COOKIE).iter().map(|v| v.to_str().unwrap().to_owned()).collect()
}

#[tokio::test]
async fn a_browser_signs_in_to_a_keyed_server_and_its_writes_need_the_csrf_token() {
    let f = fixture().await;
    let router = Server::builder(f.store.clone()).api_key(ApiKey::new("s3cret").unwrap()).router();
    let login = |key: &str| {
        Request::post("/login")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(format!("key={key}")))
            .unwrap()
    };
    // A page without a session goes to the form; the API says 401.
    let page = send(&router, Request::get("/runs").body(Body::empty()).unwrap()).await;
    assert_eq!(page.status(), StatusCode::SEE_OTHER);
    assert_eq!(page.headers()[header::LOCATION], "/login");
    let (status, _) = get_with(&router, Request::get("/api/flows").body(Body::empty()).unwrap()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let form = send(&router, Request::get("/login").body(Body::empty()).unwrap()).await;
    assert_eq!(form.status(), StatusCode::OK);

    // A wrong key: back to the form, no cookie.
    let wrong = send(&router, login("guess")).await;
    assert_eq!(
        (wrong.status(), wrong.headers()[header::LOCATION].to_str().unwrap()),
        (StatusCode::SEE_OTHER, "/login?failed=1")
    );
    assert!(set_cookies(&wrong).is_empty());

    // The key: two SameSite=Strict cookies, the session one HttpOnly.
    let right = send(&router, login("s3cret")).await;
    assert_eq!(
        (right.status(), right.headers()[header::LOCATION].to_str().unwrap()),
        (StatusCode::SEE_OTHER, "/")
    );
    let cookies = set_cookies(&right);
    let session = cookies.iter().find(|c| c.starts_with("prefect_session=")).unwrap();
    let csrf = cookies.iter().find(|c| c.starts_with("prefect_csrf=")).unwrap();
    assert!(session.contains("HttpOnly") && session.contains("SameSite=Strict"), "{session}");
    assert!(csrf.contains("SameSite=Strict") && !csrf.contains("HttpOnly"), "{csrf}");
    assert!(!session.contains("s3cret") && !csrf.contains("s3cret"), "the key itself is never a cookie");
    let pair = |cookie: &str| cookie.split(';').next().unwrap().to_owned();
    let (session, csrf) = (pair(session), pair(csrf));
    let token = csrf.trim_start_matches("prefect_csrf=").to_owned();

    // Signed in: pages and reads work.
    let with_cookie = |request: axum::http::request::Builder| {
        request
            .header(header::COOKIE, format!("{session}; {csrf}"))
            .header(header::CONTENT_TYPE, "application/json")
    };
    let page = send(&router, with_cookie(Request::get("/runs")).body(Body::empty()).unwrap()).await;
    assert_eq!(page.status(), StatusCode::OK);
    let (status, _) =
        get_with(&router, with_cookie(Request::get("/api/flows")).body(Body::empty()).unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    // A write with the cookie alone is refused; with the token echoed it goes through.
    let cancel = format!("/api/flow_runs/{}/cancel", f.completed.0);
    let (status, body) =
        get_with(&router, with_cookie(Request::post(&cancel)).body(Body::from("{}")).unwrap()).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let (status, body) = get_with(
        &router,
        with_cookie(Request::post(&cancel)).header("x-csrf-token", "0000").body(Body::from("{}")).unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let (status, body) = get_with(
        &router,
        with_cookie(Request::post(&cancel)).header("x-csrf-token", &token).body(Body::from("{}")).unwrap(),
    )
    .await;
    // Through the key check: the run has ended, so there is nothing to cancel.
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    // A forged session cookie is no session.
    let forged =
        Request::get("/api/flows").header(header::COOKIE, "prefect_session=abc").body(Body::empty()).unwrap();
    assert_eq!(get_with(&router, forged).await.0, StatusCode::UNAUTHORIZED);
    // Signing out clears both.
    let out = send(&router, Request::post("/logout").body(Body::empty()).unwrap()).await;
    assert_eq!(out.status(), StatusCode::SEE_OTHER);
    assert!(set_cookies(&out).iter().all(|c| c.contains("Max-Age=0")));
}

#[tokio::test]
async fn a_flow_run_is_deleted_once_it_is_not_going() {
    let f = fixture().await;
    let mut events = Events::starting_now();
    let busy = events.flow_run("etl", "busy-beaver");
    events.state(busy, StateType::Running);
    f.store.write_events(None, &events.take()).await.unwrap();
    let router = Server::builder(f.store.clone()).router();
    let delete = |id: FlowRunId| {
        Request::delete(format!("/api/flow_runs/{}", id.0))
            .header(header::HOST, "localhost")
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from("{}"))
            .unwrap()
    };
    let (status, body) = get_with(&router, delete(busy)).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(body["error"].as_str().unwrap().contains("cancel it first"), "{body}");
    let (status, body) = get_with(&router, delete(f.failed)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        (body["deleted"]["flow_runs"].as_u64(), body["deleted"]["task_runs"].as_u64()),
        (Some(1), Some(2))
    );
    assert!(f.store.inspect_flow_run(f.failed, 0).await.unwrap_err().is_not_found());
    assert!(f.store.inspect_task_run(f.extract).await.unwrap_err().is_not_found());
    assert_eq!(get_with(&router, delete(f.failed)).await.0, StatusCode::NOT_FOUND);
    // The run page offers Delete only when it applies.
    let page = |id: FlowRunId| {
        let router = router.clone();
        async move {
            let request = Request::get(format!("/runs/{}", id.0))
                .header(header::HOST, "localhost")
                .body(Body::empty())
                .unwrap();
            let bytes =
                router.oneshot(request).await.unwrap().into_body().collect().await.unwrap().to_bytes();
            String::from_utf8(bytes.to_vec()).unwrap()
        }
    };
    assert!(page(f.completed).await.contains("data-action=\"delete\""));
    assert!(!page(busy).await.contains("data-action=\"delete\""));
}
