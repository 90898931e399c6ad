//! The web UI's pages: rendered from a real SQLite run database, with
//! every user-supplied text escaped.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use prefect_model::{LogLevel, StateType};
use prefect_server::Server;
use prefect_store::AnyStore;
use prefect_store::conformance::Events;
use prefect_store::prelude::*;
use prefect_store_sqlite::SqliteStore;
use serde_json::json;
use tower::ServiceExt;

mod common;

const EVIL: &str = "<script>alert(1)</script>";

async fn page(router: &axum::Router, uri: &str) -> (StatusCode, String) {
    let request = Request::get(uri).header(header::HOST, "localhost:4200").body(Body::empty()).unwrap();
    let response = router.clone().oneshot(request).await.unwrap();
    let status = response.status();
    if status == StatusCode::OK {
        assert!(response.headers()[header::CONTENT_TYPE].to_str().unwrap().starts_with("text/html"), "{uri}");
    }
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8(bytes.to_vec()).unwrap())
}

#[tokio::test]
async fn pages_show_runs_and_escape_every_user_text() {
    let dir = tempfile::tempdir().unwrap();
    let sqlite = SqliteStore::open(dir.path().join("runs.db")).unwrap();
    let mut events = Events::starting_now();
    let evil = events.flow_run_with(EVIL, EVIL, json!({ "note": EVIL }), &[], None);
    events.lifecycle(evil, StateType::Failed);
    let task = events.task_run(Some(evil), EVIL);
    events.lifecycle(task, StateType::Failed);
    events.log(Some(evil), None, LogLevel::Error, EVIL);
    events.log(Some(evil), Some(task), LogLevel::Info, "the task log line");
    // Its record's location is the user's text too (a storage key template).
    events.result(task, Some(evil), &format!("/results/{EVIL}"), Some("9f3c"), true);
    let sub = events.flow_run("child", "little-wren");
    let placeholder = events.subflow_task_run(evil, sub, "child");
    events.lifecycle(placeholder, StateType::Completed);
    let fine = events.flow_run("report", "calm-heron");
    events.lifecycle(fine, StateType::Completed);
    let live = events.flow_run("sync", "busy-bee");
    events.state(live, StateType::Running);
    sqlite.write_events(None, &events.take()).await.unwrap();
    let router = Server::builder(AnyStore::new(sqlite)).router();

    let (status, dashboard) = page(&router, "/").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        dashboard.contains("Failures in the last 24 hours")
            && dashboard.contains(&format!("/runs/{}", evil.0)),
        "{dashboard}"
    );

    let (_, all) = page(&router, "/runs").await;
    assert!(all.contains("calm-heron") && all.contains("busy-bee"), "{all}");
    let (_, failed) = page(&router, "/runs?state=failed").await;
    assert!(!failed.contains("calm-heron") && failed.contains(&format!("/runs/{}", evil.0)), "{failed}");
    assert_eq!(page(&router, "/runs?state=finished").await.0, StatusCode::BAD_REQUEST);

    let (status, run) = page(&router, &format!("/runs/{}", evil.0)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(run.contains("class=\"badge s-failed\""), "{run}");
    // The run's name, flow, parameters, task and log line are all the same
    // markup; none of it comes out as markup.
    for (i, page) in [&dashboard, &all, &failed, &run].into_iter().enumerate() {
        assert!(!page.contains(EVIL), "page {i} holds the raw text: {page}");
    }
    // Name (title and heading), flow, task name, task run name, log line and
    // the parameters' value, each escaped.
    let escaped = "&#60;script&#62;alert(1)&#60;/script&#62;";
    assert!(run.matches(escaped).count() >= 7, "{run}");
    // The Results tab names the record, its cache key, and that it was a hit;
    // the Subflows tab links to the subflow's run.
    assert!(
        run.contains(&format!("/results/{escaped}")) && run.contains("9f3c") && run.contains("cache hit"),
        "{run}"
    );
    assert!(
        run.contains("Subflows <span class=\"muted\">(1)") && run.contains(&format!("/runs/{}", sub.0)),
        "{run}"
    );
    // Finished: no live stream; running: the page follows it.
    assert!(!run.contains("new EventSource"), "{run}");
    let (_, running) = page(&router, &format!("/runs/{}", live.0)).await;
    assert!(running.contains(&format!("new EventSource(\"/api/flow_runs/{}/events\"", live.0)), "{running}");

    // The run page links to each task run's page, and that page escapes too.
    assert!(run.contains(&format!("/task-runs/{}", task.0)), "{run}");
    let (status, task_page) = page(&router, &format!("/task-runs/{}", task.0)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(!task_page.contains(EVIL), "{task_page}");
    assert!(task_page.matches(escaped).count() >= 4, "name, title, task and result: {task_page}");
    assert!(task_page.contains("9f3c") && task_page.contains("cache hit"), "{task_page}");
    assert!(
        task_page.contains("the task log line") && task_page.contains(&format!("/runs/{}", evil.0)),
        "{task_page}"
    );
    assert!(task_page.contains("class=\"badge s-failed\""), "{task_page}");
    assert_eq!(
        page(&router, &format!("/task-runs/{}", prefect_model::TaskRunId::new().0)).await.0,
        StatusCode::NOT_FOUND
    );
    // The graph's canvas and its script, which reads the graph's route.
    assert!(
        run.contains("<canvas id=\"graph\">") && run.contains(&format!("/api/flow_runs/{}/graph", evil.0)),
        "{run}"
    );

    assert_eq!(page(&router, "/runs/not-an-id").await.0, StatusCode::BAD_REQUEST);
    assert_eq!(
        page(&router, &format!("/runs/{}", prefect_model::FlowRunId::new().0)).await.0,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn run_pages_offer_the_actions_that_apply_and_deployments_a_run_form() {
    let dir = tempfile::tempdir().unwrap();
    let store = AnyStore::new(SqliteStore::open(dir.path().join("runs.db")).unwrap());
    let spec = prefect_store::DeploymentSpec {
        description: Some("the morning load".into()),
        work_queue: "production".into(),
        parameters: json!({ "months": [1, 2], "region": "eu" }),
        parameter_schema: Some(
            json!({ "type": "object", "properties": { "months": {}, "region": {}, "dry_run": {} } }),
        ),
        ..common::daily()
    };
    let deployment = store.upsert_deployment(&spec).await.unwrap();
    let queued = common::queue_run(&store, deployment.id, "failed-falcon", chrono::TimeDelta::zero()).await;
    let router = Server::builder(store.clone()).router();

    let (_, scheduled) = page(&router, &format!("/runs/{}", queued.id.0)).await;
    assert!(
        scheduled.contains("data-action=\"cancel\"") && !scheduled.contains("data-action=\"retry\""),
        "{scheduled}"
    );
    let failed = prefect_model::StateMeta::new(StateType::Failed);
    store.set_flow_run_state(queued.id, &failed, &[]).await.unwrap();
    let (_, ended) = page(&router, &format!("/runs/{}", queued.id.0)).await;
    assert!(ended.contains("data-action=\"retry\"") && !ended.contains("data-action=\"cancel\""), "{ended}");
    let paused = prefect_model::StateMeta::new(StateType::Paused);
    store.set_flow_run_state(queued.id, &paused, &[]).await.unwrap();
    let (_, waiting) = page(&router, &format!("/runs/{}", queued.id.0)).await;
    assert!(
        waiting.contains("data-action=\"resume\"") && waiting.contains("id=\"resume-input\""),
        "{waiting}"
    );

    let (status, deployments) = page(&router, "/deployments").await;
    assert_eq!(status, StatusCode::OK);
    assert!(deployments.contains("data-url=\"/api/deployments/etl/daily/runs\""), "{deployments}");
    // Every parameter of the schema is a field, filled with the deployment's value.
    assert!(deployments.contains("name=\"months\" value=\"[1,2]\""), "{deployments}");
    assert!(deployments.contains("name=\"region\" value=\"eu\""), "{deployments}");
    assert!(deployments.contains("name=\"dry_run\" value=\"\""), "{deployments}");
    assert!(deployments.contains("the morning load"), "{deployments}");
}

#[tokio::test]
async fn flows_work_queues_and_limits_pages_list_what_the_store_holds_escaped() {
    let dir = tempfile::tempdir().unwrap();
    let sqlite = SqliteStore::open(dir.path().join("runs.db")).unwrap();
    let mut events = Events::starting_now();
    let evil = events.flow_run(EVIL, "evil-run");
    events.lifecycle(evil, StateType::Completed);
    let etl = events.flow_run("etl", "calm-heron");
    events.lifecycle(etl, StateType::Completed);
    let other = events.flow_run("report", "busy-bee");
    events.lifecycle(other, StateType::Completed);
    sqlite.write_events(None, &events.take()).await.unwrap();
    let update = prefect_store::WorkQueueUpdate {
        priority: Some(2),
        concurrency_limit: Some(Some(3)),
        paused: Some(true),
        description: Some(EVIL.into()),
    };
    sqlite.update_work_queue("production", &update).await.unwrap();
    let lease = sqlite
        .acquire_lease(&prefect_store::LeaseOwner::current(), std::time::Duration::from_secs(60))
        .await
        .unwrap();
    let beat = prefect_store::WorkerBeat {
        name: EVIL.into(),
        queues: vec!["production".into()],
        flows: vec!["etl".into()],
        labels: vec![],
        lease: lease.id,
        status: "online".into(),
        time: chrono::Utc::now(),
    };
    sqlite.worker_heartbeat(&beat).await.unwrap();
    sqlite.set_concurrency_limit("db", 4).await.unwrap();
    sqlite.set_concurrency_limit(EVIL, 1).await.unwrap();
    let unrecorded = prefect_model::TaskRunId::new();
    assert_eq!(
        sqlite.try_acquire_slots(&["db".into()], unrecorded).await.unwrap(),
        prefect_store::SlotDecision::Acquired
    );
    // A recorded task run holds the other tag's slot.
    let mut more = Events::starting_now();
    let holder_run = more.flow_run("etl", "holding-hare");
    let holder = more.task_run(Some(holder_run), EVIL);
    more.state(holder, StateType::Running);
    sqlite.write_events(None, &more.take()).await.unwrap();
    sqlite.try_acquire_slots(&[EVIL.into()], holder).await.unwrap();
    let router = Server::builder(AnyStore::new(sqlite)).router();

    let (status, flows) = page(&router, "/flows").await;
    assert_eq!(status, StatusCode::OK);
    assert!(flows.contains("href=\"/runs?flow=etl\"") && flows.contains(">report<"), "{flows}");
    // The flow's runs page: its runs only.
    let (_, of_etl) = page(&router, "/runs?flow=etl").await;
    assert!(of_etl.contains("calm-heron") && !of_etl.contains("busy-bee"), "{of_etl}");
    assert!(of_etl.contains("/runs?state=FAILED&#38;flow=etl"), "state links keep the flow: {of_etl}");
    let (_, of_evil) = page(&router, &format!("/runs?flow={}", "%3Cscript%3Ealert(1)%3C%2Fscript%3E")).await;
    assert!(of_evil.contains("evil-run"), "{of_evil}");

    let (status, queues) = page(&router, "/work-queues").await;
    assert_eq!(status, StatusCode::OK);
    assert!(queues.contains("production") && queues.contains("Paused") && queues.contains(">3<"), "{queues}");
    assert!(queues.contains("online") && queues.contains(">etl<"), "the worker and its flows: {queues}");

    let (status, limits) = page(&router, "/concurrency-limits").await;
    assert_eq!(status, StatusCode::OK);
    assert!(limits.contains("1 of 4") && limits.contains("width: 25%"), "{limits}");
    // By whom: each holder links to its task run, named where recorded.
    assert!(limits.contains(&format!("href=\"/task-runs/{}\">{}<", unrecorded.0, unrecorded.0)), "{limits}");
    assert!(limits.contains(&format!("href=\"/task-runs/{}\">&#60;script", holder.0)), "{limits}");
    assert!(limits.contains(&format!("(pid {})", std::process::id())), "{limits}");

    for (name, html) in
        [("flows", &flows), ("runs of a flow", &of_evil), ("work queues", &queues), ("limits", &limits)]
    {
        assert!(!html.contains(EVIL), "{name} holds the raw text: {html}");
        assert!(html.contains("&#60;script&#62;"), "{name} shows the text escaped: {html}");
    }
}

#[tokio::test]
async fn the_runs_list_pages_by_cursor_searches_names_and_plots_its_runs() {
    let dir = tempfile::tempdir().unwrap();
    let sqlite = SqliteStore::open(dir.path().join("runs.db")).unwrap();
    let mut events = Events::starting_now();
    for i in 0..105 {
        let run = events.flow_run("bulk", &format!("bulk-{i}"));
        events.lifecycle(run, StateType::Completed);
    }
    sqlite.write_events(None, &events.take()).await.unwrap();
    let router = Server::builder(AnyStore::new(sqlite)).router();

    let (status, first) = page(&router, "/runs").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(first.matches("<tr><td><a href=\"/runs/").count(), 100);
    assert!(first.contains(">bulk-104<") && !first.contains(">bulk-4<"), "newest first");
    // The scatter's points are in the page: one per started run.
    let points = first.split("data-points=\"").nth(1).unwrap().split('"').next().unwrap();
    assert_eq!(points.matches("completed").count(), 100, "{points}");
    let older = first.split("id=\"older\" href=\"").nth(1).expect("a full page links to older runs");
    let older = older.split('"').next().unwrap().replace("&#38;", "&");
    let (status, second) = page(&router, &older).await;
    assert_eq!(status, StatusCode::OK, "{older}");
    assert_eq!(second.matches("<tr><td><a href=\"/runs/").count(), 5);
    assert!(
        second.contains(">bulk-4<") && second.contains(">bulk-0<") && !second.contains(">bulk-5<"),
        "{second}"
    );
    assert!(!second.contains("id=\"older\""), "the last page links no further");
    assert!(second.contains("« Newest"));

    // A search keeps to names holding the text, any case.
    let (_, found) = page(&router, "/runs?name=BULK-10").await;
    let shown = found.matches("<tr><td><a href=\"/runs/").count();
    assert_eq!(shown, 6, "bulk-10 and bulk-100..104: {found}");
    assert!(found.contains("value=\"BULK-10\""), "the box keeps the text");
    assert!(found.contains("href=\"/runs?state=FAILED&#38;name=BULK%2D10\""), "state links keep it: {found}");
    assert_eq!(page(&router, "/runs?after=tuesday").await.0, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn the_dashboard_counts_over_a_chosen_window_and_shows_late_runs_and_queue_health() {
    let dir = tempfile::tempdir().unwrap();
    let sqlite = SqliteStore::open(dir.path().join("runs.db")).unwrap();
    // A failed run two days ago, a completed one now.
    let mut old = Events::starting_ago(std::time::Duration::from_secs(2 * 24 * 3600));
    let gone = old.flow_run("etl", "old-owl");
    old.lifecycle(gone, StateType::Failed);
    sqlite.write_events(None, &old.take()).await.unwrap();
    let mut events = Events::starting_now();
    let fresh = events.flow_run("etl", "new-newt");
    events.lifecycle(fresh, StateType::Completed);
    sqlite.write_events(None, &events.take()).await.unwrap();
    // `etl/daily` on queue `default`: one run overdue (marked Late), one due
    // tomorrow; a schedule stored with it; queue `idle` with no worker,
    // `default` with one worker online.
    let mut spec = common::daily();
    spec.schedules =
        json!([{ "schedule": { "cron": "0 6 * * *", "timezone": "Europe/Berlin" }, "active": true }]);
    let deployment = sqlite.upsert_deployment(&spec).await.unwrap();
    let store = AnyStore::new(sqlite);
    let overdue =
        common::queue_run(&store, deployment.id, "overdue-otter", chrono::TimeDelta::minutes(-10)).await;
    let tomorrow =
        common::queue_run(&store, deployment.id, "tomorrow-tern", chrono::TimeDelta::days(1)).await;
    let marked = store.mark_late_runs(chrono::Utc::now() - chrono::TimeDelta::seconds(15)).await.unwrap();
    assert_eq!(marked, [overdue.id]);
    store.update_work_queue("idle", &prefect_store::WorkQueueUpdate::default()).await.unwrap();
    let lease = store
        .acquire_lease(&prefect_store::LeaseOwner::current(), std::time::Duration::from_secs(60))
        .await
        .unwrap();
    let beat = prefect_store::WorkerBeat {
        name: "worker-1".into(),
        queues: vec!["default".into()],
        flows: vec!["etl".into()],
        labels: vec![],
        lease: lease.id,
        status: "online".into(),
        time: chrono::Utc::now(),
    };
    store.worker_heartbeat(&beat).await.unwrap();
    let router = Server::builder(store.clone()).router();

    let (status, day) = page(&router, "/").await;
    assert_eq!(status, StatusCode::OK);
    assert!(day.contains("The last 24 hours") && !day.contains("old-owl"), "counted over a day: {day}");
    let (_, week) = page(&router, "/?window=7d").await;
    assert!(week.contains("The last 7 days") && week.contains("href=\"/?window=7d\" class=\"on\""), "{week}");
    assert!(week.contains(">Failed</span><b>1</b>") && day.contains(">Completed</span><b>1</b>"), "{week}");
    assert!(!day.contains(">Failed</span><b>"), "{day}");
    assert_eq!(page(&router, "/?window=forever").await.0, StatusCode::BAD_REQUEST);
    // The late run, not the one due tomorrow.
    let late = &day[day.find("id=\"late-runs\"").unwrap()..];
    let late = &late[..late.find("</table>").unwrap()];
    assert!(late.contains(&format!("/runs/{}", overdue.id.0)) && !late.contains("tomorrow-tern"), "{late}");
    // Queue health: `default` has a worker and a late run; `idle` no worker.
    let health = &day[day.find("id=\"queue-health\"").unwrap()..];
    let row = |name: &str| {
        let at = health.find(&format!(">{name}</a>")).unwrap_or_else(|| panic!("{name}: {health}"));
        health[at..].split("</tr>").next().unwrap().to_owned()
    };
    assert!(
        row("default").contains("late runs") && row("default").contains("<td>1</td><td>1</td>"),
        "{}",
        row("default")
    );
    assert!(
        row("idle").contains("no worker") && row("idle").contains("<td>0</td><td>0</td>"),
        "{}",
        row("idle")
    );

    // The deployment shows its schedule and its next runs, soonest first.
    let (_, deployments) = page(&router, "/deployments").await;
    assert!(deployments.contains("0 6 * * *") && deployments.contains("Europe/Berlin"), "{deployments}");
    let next = &deployments[deployments.find("class=\"next-runs\"").unwrap()..];
    let (first, second) = (next.find("overdue-otter").unwrap(), next.find("tomorrow-tern").unwrap());
    assert!(first < second, "{next}");
    assert!(next.contains(&format!("/runs/{}", tomorrow.id.0)), "{next}");
}
