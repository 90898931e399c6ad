//! The UI in a real browser: headless Chromium driven over chromedriver.
//! Screenshots of each page go to `target/ui-screenshots/`.
//!
//! Needs Debian's `chromium` and `chromium-driver` (`.ci/run` installs
//! them). Without them the test says it skipped; under `CI=true` it fails.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use prefect_model::{LogLevel, StateType};
use prefect_server::Server;
use prefect_store::conformance::Events;
use prefect_store::{AnyStore, DeploymentSpec, FlowRunFilter};

mod common;
use prefect_store_sqlite::SqliteStore;
use serde_json::json;

/// How long a page may take to show what a step waits for.
const PATIENCE: Duration = Duration::from_secs(30);

fn find_program(names: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    names.iter().find_map(|name| std::env::split_paths(&path).map(|dir| dir.join(name)).find(|p| p.is_file()))
}

/// chromedriver on a free port, stopped when dropped.
struct Driver {
    child: Child,
    url: String,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_driver(program: &PathBuf, home: &std::path::Path) -> Driver {
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let child = Command::new(program)
        .arg(format!("--port={port}"))
        // Chromium keeps a profile and caches under $HOME: never the user's.
        .env("HOME", home)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromedriver starts");
    // Ready once it accepts a connection.
    let deadline = Instant::now() + PATIENCE;
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "chromedriver did not listen on {port}");
        std::thread::yield_now();
    }
    Driver { child, url: format!("http://127.0.0.1:{port}") }
}

async fn browser(driver: &Driver, chromium: &PathBuf) -> Client {
    let mut capabilities = serde_json::Map::new();
    capabilities.insert(
        "goog:chromeOptions".into(),
        json!({
            "binary": chromium,
            "args": ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--window-size=1280,900"],
        }),
    );
    let connector = hyper_util::client::legacy::connect::HttpConnector::new();
    ClientBuilder::new(connector)
        .capabilities(capabilities)
        .connect(&driver.url)
        .await
        .expect("a browser session")
}

fn screenshots() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).parent().unwrap().join("ui-screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

async fn shoot(client: &Client, name: &str) {
    let png = client.screenshot().await.unwrap();
    std::fs::write(screenshots().join(format!("{name}.png")), png).unwrap();
}

/// Waits until the page's text holds `needle`.
async fn wait_for_text(client: &Client, needle: &str) -> String {
    let deadline = Instant::now() + PATIENCE;
    loop {
        // A page that is being replaced (a reload, a redirect) reads as empty.
        let text = match client.find(Locator::Css("body")).await {
            Ok(body) => body.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        };
        if text.contains(needle) {
            return text;
        }
        assert!(Instant::now() < deadline, "the page never showed {needle:?}; it shows:\n{text}");
        tokio::task::yield_now().await;
    }
}

/// Clicks the element `css` selects once the page shows it.
async fn click_when_shown(client: &Client, css: &str) {
    let element = client.wait().at_most(PATIENCE).for_element(Locator::Css(css)).await.unwrap();
    element.click().await.unwrap();
}

/// Waits until the run page's graph has drawn `nodes` runs.
async fn wait_for_graph(client: &Client, nodes: usize) {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let drawn = client.find(Locator::Id("graph")).await.unwrap().attr("data-nodes").await.unwrap();
        if drawn.as_deref() == Some(nodes.to_string().as_str()) {
            return;
        }
        assert!(Instant::now() < deadline, "the graph never drew {nodes} runs (it shows {drawn:?})");
        tokio::task::yield_now().await;
    }
}

/// Animation frames the graph is panned and zoomed for.
const FRAMES: u64 = 120;

/// The graph's draw times and frame intervals over [`FRAMES`] frames of
/// panning and zooming, in milliseconds.
async fn measure_frames(client: &Client) -> serde_json::Value {
    let script = "var done = arguments[arguments.length - 1]; prefectGraph.measure(arguments[0], done);";
    client.execute_async(script, vec![json!(FRAMES)]).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ui_in_chromium() {
    let (Some(chromium), Some(chromedriver)) =
        (find_program(&["chromium", "chromium-browser"]), find_program(&["chromedriver"]))
    else {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI=true: the browser tests must run, and chromium or chromedriver is missing"
        );
        // Written to the process's stderr, past the test harness's capture, so
        // that `cargo test` shows it.
        use std::io::Write;
        let _ = writeln!(
            std::io::stderr(),
            "SKIPPED the browser tests (prefect-server/tests/browser.rs): chromium and chromedriver are not installed (apt-get install chromium chromium-driver)"
        );
        return;
    };

    // A database: a failed run, a completed one, a running one, a queued
    // run of a deployment.
    let dir = tempfile::tempdir().unwrap();
    let store = AnyStore::new(SqliteStore::open(dir.path().join("runs.db")).unwrap());
    let mut events = Events::starting_now();
    let failed = events.flow_run("etl", "broken-badger");
    events.lifecycle(failed, StateType::Failed);
    let completed = events.flow_run("report", "calm-heron");
    events.lifecycle(completed, StateType::Completed);
    let live = events.flow_run("sync", "busy-bee");
    events.state(live, StateType::Running);
    events.log(Some(live), None, LogLevel::Info, "started the sync");
    store.write_events(None, &events.take()).await.unwrap();
    let spec = DeploymentSpec {
        parameters: json!({ "months": [1] }),
        parameter_schema: Some(json!({
            "type": "object",
            "properties": { "months": { "type": "array", "items": { "type": "integer" } } }
        })),
        ..common::daily()
    };
    let deployment = store.upsert_deployment(&spec).await.unwrap();
    let queued = common::queue_run(&store, deployment.id, "waiting-wren", chrono::TimeDelta::hours(1)).await;
    store.set_concurrency_limit("database", 4).await.unwrap();
    store.try_acquire_slots(&["database".into()], prefect_model::TaskRunId::new()).await.unwrap();

    let server = Server::builder(store.clone()).port(0).bind().await.unwrap();
    let base = format!("http://localhost:{}", server.local_addr().port());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let serving = tokio::spawn(server.serve(async move {
        let _ = stopped.await;
    }));
    let driver = start_driver(&chromedriver, dir.path());
    let client = browser(&driver, &chromium).await;

    // The dashboard, then the runs list filtered to failures by its link.
    client.goto(&format!("{base}/")).await.unwrap();
    let text = wait_for_text(&client, "Failures in the last 24 hours").await;
    assert!(text.contains("broken-badger"), "{text}");
    shoot(&client, "browser-dashboard").await;
    client.goto(&format!("{base}/runs")).await.unwrap();
    wait_for_text(&client, "calm-heron").await;
    // The scatter plots the two runs that ran (the running one has no duration yet).
    let scatter = client.find(Locator::Id("scatter")).await.unwrap();
    assert_eq!(scatter.attr("data-drawn").await.unwrap().as_deref(), Some("2"));
    shoot(&client, "browser-runs").await;
    // The list follows what is recorded: a new run shows without a reload.
    let mut later = Events::starting_now();
    let newcomer = later.flow_run("report", "new-newt");
    later.lifecycle(newcomer, StateType::Completed);
    store.write_events(None, &later.take()).await.unwrap();
    wait_for_text(&client, "new-newt").await;
    let deadline = Instant::now() + PATIENCE;
    while client.find(Locator::Id("scatter")).await.unwrap().attr("data-drawn").await.unwrap().as_deref()
        != Some("3")
    {
        assert!(Instant::now() < deadline, "the scatter never plotted the new run");
        tokio::task::yield_now().await;
    }
    client.find(Locator::LinkText("Failed")).await.unwrap().click().await.unwrap();
    let text = wait_for_text(&client, "broken-badger").await;
    assert!(!text.contains("calm-heron"), "{text}");
    shoot(&client, "browser-runs-failed").await;
    // The listing pages, reached from the menu.
    for (link, heading, name) in [
        ("Flows", "report", "browser-flows"),
        ("Work queues", "No worker has reported", "browser-work-queues"),
        ("Concurrency limits", "1 of 4", "browser-limits"),
    ] {
        client.find(Locator::LinkText(link)).await.unwrap().click().await.unwrap();
        wait_for_text(&client, heading).await;
        shoot(&client, name).await;
    }

    // A running flow's page follows it: a line and the end recorded while
    // it is open appear without a reload.
    client.goto(&format!("{base}/runs/{}", live.0)).await.unwrap();
    wait_for_text(&client, "started the sync").await;
    // Its graph follows too: a task run recorded now is drawn.
    wait_for_graph(&client, 0).await;
    let step = events.task_run(Some(live), "sync-table");
    events.state(step, StateType::Running);
    store.write_events(None, &events.take()).await.unwrap();
    wait_for_graph(&client, 1).await;
    events.state(step, StateType::Completed);
    events.log(Some(live), None, LogLevel::Warning, "half way there");
    events.state(live, StateType::Completed);
    store.write_events(None, &events.take()).await.unwrap();
    wait_for_text(&client, "half way there").await;
    // The badge moves, then the page reloads to show the ended run whole.
    let deadline = Instant::now() + PATIENCE;
    loop {
        let badge = client.find(Locator::Id("state")).await;
        if let Ok(badge) = badge
            && badge.text().await.is_ok_and(|text| text == "Completed")
        {
            break;
        }
        assert!(Instant::now() < deadline, "the state badge never moved to Completed");
        tokio::task::yield_now().await;
    }
    wait_for_text(&client, "Duration").await;
    shoot(&client, "browser-run-live").await;
    // Its logs filtered in the page: by level, then by text (on a fresh
    // load: the live page's own reload must not undo the filter).
    client.goto(&format!("{base}/runs/{}", live.0)).await.unwrap();
    wait_for_text(&client, "half way there").await;
    client.find(Locator::Css("#log-level")).await.unwrap().select_by_value("3").await.unwrap();
    let text = wait_for_text(&client, "1 of 2 lines").await;
    assert!(text.contains("half way there") && !text.contains("started the sync"), "{text}");
    client.find(Locator::Css("#log-level")).await.unwrap().select_by_value("0").await.unwrap();
    client.find(Locator::Css("#log-search")).await.unwrap().send_keys("STARTED").await.unwrap();
    let text = wait_for_text(&client, "1 of 2 lines").await;
    assert!(text.contains("started the sync") && !text.contains("half way there"), "{text}");
    shoot(&client, "browser-run-logs-filtered").await;

    // A run of 10,001 task runs (one fetch, a map of 10,000 over its
    // result): its page draws them all, in two views, and stays smooth.
    let mut big = Events::starting_now();
    let wide = big.flow_run("etl", "wide-wombat");
    big.lifecycle(wide, StateType::Completed);
    let fetch = big.task_run(Some(wide), "fetch");
    big.lifecycle(fetch, StateType::Completed);
    big.result(fetch, Some(wide), "/results/fetch.json", None, false);
    // They start one by one and run side by side, then end one by one.
    let parts: Vec<_> = (0..10_000)
        .map(|i| {
            let part = big.task_run_with(Some(wide), "parse", Some(i), &[]);
            big.dependency(part, fetch, prefect_model::DependencyKind::Data { argument: "body".into() });
            big.state(part, StateType::Running);
            part
        })
        .collect();
    for (i, part) in parts.iter().enumerate() {
        big.state(*part, if i % 97 == 0 { StateType::Failed } else { StateType::Completed });
    }
    store.write_events(None, &big.take()).await.unwrap();
    client.goto(&format!("{base}/runs/{}", wide.0)).await.unwrap();
    wait_for_graph(&client, 10_001).await;
    // One request for the page, one for its graph (ended: no stream).
    let requests =
        client.execute("return 1 + performance.getEntriesByType('resource').length", vec![]).await.unwrap();
    assert!(requests.as_u64().is_some_and(|n| n <= 3), "the page took {requests} requests");
    client
        .execute("document.querySelector('.graph-card').scrollIntoView({ block: 'center' })", vec![])
        .await
        .unwrap();
    shoot(&client, "browser-run-timeline-10k").await;
    let timeline = measure_frames(&client).await;
    client.find(Locator::Css("button[data-view=graph]")).await.unwrap().click().await.unwrap();
    client
        .execute("document.querySelector('.graph-card').scrollIntoView({ block: 'center' })", vec![])
        .await
        .unwrap();
    shoot(&client, "browser-run-graph-10k").await;
    let graph = measure_frames(&client).await;
    let figures = json!({ "nodes": 10_001, "timeline": timeline, "graph": graph });
    std::fs::write(screenshots().join("graph-frame-times.json"), figures.to_string()).unwrap();
    {
        use std::io::Write;
        let _ = writeln!(std::io::stderr(), "run graph with 10,001 task runs, frame times in ms: {figures}");
    }
    for view in [&timeline, &graph] {
        assert_eq!(view["nodes"], 10_001, "{view}");
        assert!(view["frames"].as_u64() == Some(FRAMES), "{view}");
    }
    // A task run's own page, from the flow run's table.
    client
        .find(Locator::LinkText(&format!("fetch-{}", &fetch.0.simple().to_string()[29..])))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let text = wait_for_text(&client, "Upstream").await;
    assert!(text.contains("It waited for no other run") && text.contains("Completed"), "{text}");
    assert!(text.contains("/results/fetch.json") && text.contains("written"), "its result: {text}");
    shoot(&client, "browser-task-run").await;
    // Back on the flow run: its Results tab names the record.
    client.back().await.unwrap();
    click_when_shown(&client, "button[data-tab=results]").await;
    let shown = client.find(Locator::Id("tab-results")).await.unwrap();
    assert!(shown.is_displayed().await.unwrap());
    assert!(shown.text().await.unwrap().contains("/results/fetch.json"));
    assert!(!client.find(Locator::Id("tab-task-runs")).await.unwrap().is_displayed().await.unwrap());
    client
        .execute("document.querySelector('.run-tabs').scrollIntoView({ block: 'start' })", vec![])
        .await
        .unwrap();
    shoot(&client, "browser-run-results").await;

    // Starting a deployment run from its form.
    client.goto(&format!("{base}/deployments")).await.unwrap();
    wait_for_text(&client, "etl/daily").await;
    let months = client.find(Locator::Css("input[name=months]")).await.unwrap();
    let run_button = client.find(Locator::Css("form.run-form button")).await.unwrap();
    // A wrong value first: the error shows on its field and no run is made.
    months.clear().await.unwrap();
    months.send_keys("soon").await.unwrap();
    run_button.click().await.unwrap();
    let note = client.wait().at_most(PATIENCE).for_element(Locator::Css("label .field-error")).await.unwrap();
    assert!(note.text().await.unwrap().contains("soon"), "the error names the value");
    assert_eq!(months.attr("class").await.unwrap().as_deref(), Some("invalid"));
    shoot(&client, "browser-deployment-bad-value").await;
    let before = store.list_flow_runs(&FlowRunFilter::new()).await.unwrap().len();
    months.clear().await.unwrap();
    months.send_keys("[3, 4]").await.unwrap();
    run_button.click().await.unwrap();
    wait_for_text(&client, "created ").await;
    assert_eq!(store.list_flow_runs(&FlowRunFilter::new()).await.unwrap().len(), before + 1);
    shoot(&client, "browser-deployment-run").await;
    let runs = store.list_flow_runs(&FlowRunFilter::new()).await.unwrap();
    let created =
        runs.iter().find(|r| r.deployment_id.is_some() && r.id != queued.id).expect("a run was created");
    let detail = store.inspect_flow_run(created.id, 0).await.unwrap();
    assert_eq!(detail.parameters, json!({ "months": [3, 4] }));

    // Cancelling a queued run with its button.
    client.goto(&format!("{base}/runs/{}", queued.id.0)).await.unwrap();
    click_when_shown(&client, "button[data-action=cancel]").await;
    wait_for_text(&client, "Cancelled").await;
    shoot(&client, "browser-run-cancelled").await;
    let state = store.inspect_flow_run(queued.id, 0).await.unwrap().run.state.unwrap();
    assert_eq!(state.state_type, StateType::Cancelled);
    // Then deleting it: asked first, then back on the runs list, gone.
    client.goto(&format!("{base}/runs/{}", queued.id.0)).await.unwrap();
    click_when_shown(&client, "button[data-action=delete]").await;
    client.accept_alert().await.unwrap();
    let text = wait_for_text(&client, "Start time against duration").await;
    assert!(!text.contains("waiting-wren"), "{text}");
    assert!(store.inspect_flow_run(queued.id, 0).await.unwrap_err().is_not_found());
    // The list sorts by a column when its header is clicked.
    click_when_shown(&client, "table.runs th[data-sort=text]").await;
    let script = "return Array.from(document.querySelectorAll('table.runs tbody tr td:first-child')).map(function (td) { return td.textContent.trim(); })";
    let names: Vec<String> = serde_json::from_value(client.execute(script, vec![]).await.unwrap()).unwrap();
    let mut sorted = names.clone();
    sorted.sort_by_key(|n| n.to_lowercase());
    assert!(names.len() > 1 && names == sorted, "sorted by name: {names:?}");
    shoot(&client, "browser-runs-sorted").await;

    // A keyed server: its pages ask for the key, then a signed-in page's
    // button writes (its script echoes the CSRF token).
    let keyed = Server::builder(store.clone())
        .port(0)
        .api_key(prefect_server::ApiKey::new("browser-key").unwrap())
        .bind()
        .await
        .unwrap();
    let keyed_base = format!("http://127.0.0.1:{}", keyed.local_addr().port());
    let (stop_keyed, keyed_stopped) = tokio::sync::oneshot::channel::<()>();
    let keyed_serving = tokio::spawn(keyed.serve(async move {
        let _ = keyed_stopped.await;
    }));
    let kite = common::queue_run(&store, deployment.id, "keyed-kite", chrono::TimeDelta::hours(1)).await;
    client.goto(&format!("{keyed_base}/runs/{}", kite.id.0)).await.unwrap();
    wait_for_text(&client, "This server asks for its API key").await;
    let field = client.find(Locator::Css("input[name=key]")).await.unwrap();
    field.send_keys("not-the-key").await.unwrap();
    client.find(Locator::Css("main form button")).await.unwrap().click().await.unwrap();
    wait_for_text(&client, "That is not the key").await;
    let field = client.find(Locator::Css("input[name=key]")).await.unwrap();
    field.send_keys("browser-key").await.unwrap();
    shoot(&client, "browser-login").await;
    client.find(Locator::Css("main form button")).await.unwrap().click().await.unwrap();
    wait_for_text(&client, "Failures in the last 24 hours").await;
    client.goto(&format!("{keyed_base}/runs/{}", kite.id.0)).await.unwrap();
    click_when_shown(&client, "button[data-action=cancel]").await;
    wait_for_text(&client, "Cancelled").await;
    let state = store.inspect_flow_run(kite.id, 0).await.unwrap().run.state.unwrap();
    assert_eq!(state.state_type, StateType::Cancelled);
    // Signing out: back to the form, and pages ask for the key again.
    click_when_shown(&client, "#sign-out button").await;
    wait_for_text(&client, "This server asks for its API key").await;
    client.goto(&format!("{keyed_base}/runs")).await.unwrap();
    wait_for_text(&client, "This server asks for its API key").await;
    stop_keyed.send(()).unwrap();
    keyed_serving.await.unwrap().unwrap();

    client.close().await.unwrap();
    stop.send(()).unwrap();
    serving.await.unwrap().unwrap();
}
