//! Checks of flow and task run queries.

use std::time::Duration;

use prefect_model::DependencyKind;
use prefect_model::{FlowRunId, RunId, StateMeta, StateType, TaskRunId};

use super::{Events, write};
use crate::{Error, FlowRunFilter, RunScope, ShortId, Store, TaskRunFilter};

pub(super) async fn empty_store(store: &dyn Store) {
    assert!(store.list_flows().await.unwrap().is_empty());
    assert!(store.list_flow_runs(&FlowRunFilter::new()).await.unwrap().is_empty());
    let missing = store.inspect_flow_run(FlowRunId::new(), 10).await.unwrap_err();
    assert!(missing.is_not_found(), "{missing}");
    assert!(store.resolve_run("01", RunScope::Any).await.unwrap_err().is_not_found());
    assert!(store.resolve_run("brave-otter", RunScope::Any).await.unwrap_err().is_not_found());
}

pub(super) async fn lists_flows(store: &dyn Store) {
    let mut events = Events::starting_now();
    events.flow_run("zeta", "a");
    events.flow_run("alpha", "b");
    let last = events.flow_run("alpha", "c");
    write(store, &mut events).await;
    let flows = store.list_flows().await.unwrap();
    let names: Vec<&str> = flows.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names, ["alpha", "zeta"]);
    let created = store.inspect_flow_run(last, 0).await.unwrap().run.created;
    assert_eq!(flows[0].last_run, Some(created));
}

pub(super) async fn lists_flow_runs_newest_first(store: &dyn Store) {
    let mut events = Events::starting_now();
    let ids: Vec<FlowRunId> = (0..5).map(|i| events.flow_run("etl", &format!("run-{i}"))).collect();
    write(store, &mut events).await;
    let runs = store.list_flow_runs(&FlowRunFilter::new()).await.unwrap();
    let listed: Vec<FlowRunId> = runs.iter().map(|r| r.id).collect();
    let newest_first: Vec<FlowRunId> = ids.iter().rev().copied().collect();
    assert_eq!(listed, newest_first);
    assert_eq!(runs[0].flow_name, "etl");
    assert_eq!(runs[0].name, "run-4");
    assert_eq!(runs[0].state, None);
    let two = store.list_flow_runs(&FlowRunFilter::new().limit(2)).await.unwrap();
    assert_eq!(two.len(), 2);
    assert_eq!(two[0].id, ids[4]);
}

pub(super) async fn filters_flow_runs(store: &dyn Store) {
    let mut events = Events::starting_ago(Duration::from_secs(3600));
    let old = events.flow_run("etl", "old");
    events.lifecycle(old, StateType::Failed);
    events.advance(Duration::from_secs(1800));
    let since = events.now();
    let failed = events.flow_run("etl", "failed");
    events.lifecycle(failed, StateType::Failed);
    let done = events.flow_run("etl", "done");
    events.lifecycle(done, StateType::Completed);
    let other = events.flow_run("report", "other");
    events.lifecycle(other, StateType::Failed);
    write(store, &mut events).await;

    let ids = |runs: Vec<crate::FlowRunSummary>| runs.into_iter().map(|r| r.id).collect::<Vec<_>>();
    let by_state = store.list_flow_runs(&FlowRunFilter::new().state(StateType::Failed)).await.unwrap();
    assert_eq!(ids(by_state), [other, failed, old]);
    let two_states = FlowRunFilter::new().state(StateType::Completed).state(StateType::Failed);
    assert_eq!(store.list_flow_runs(&two_states).await.unwrap().len(), 4);
    let by_flow = store.list_flow_runs(&FlowRunFilter::new().flow("etl")).await.unwrap();
    assert_eq!(ids(by_flow), [done, failed, old]);
    let unknown = store.list_flow_runs(&FlowRunFilter::new().flow("nope")).await.unwrap();
    assert!(unknown.is_empty());
    let recent = store.list_flow_runs(&FlowRunFilter::new().since(since)).await.unwrap();
    assert_eq!(ids(recent), [other, done, failed]);
    let all = FlowRunFilter::new().flow("etl").state(StateType::Failed).since(since);
    assert_eq!(ids(store.list_flow_runs(&all).await.unwrap()), [failed]);
}

pub(super) async fn tracks_current_state(store: &dyn Store) {
    let mut events = Events::starting_now();
    let run = events.flow_run("etl", "retried");
    events.state(run, StateType::Pending);
    events.state(run, StateType::Running);
    let started = events.now();
    events.state_meta(run, StateMeta::new(StateType::Scheduled).named("AwaitingRetry").with_message("boom"));
    events.state_meta(run, StateMeta::new(StateType::Running).named("Retrying"));
    write(store, &mut events).await;
    let listed = store.list_flow_runs(&FlowRunFilter::new()).await.unwrap().remove(0);
    let state = listed.state.clone().unwrap();
    assert_eq!((state.state_type, &*state.name), (StateType::Running, "Retrying"));
    assert_eq!(listed.run_count, 2);
    assert_eq!(listed.start_time, Some(started));
    assert_eq!(listed.end_time, None);

    let finished = StateMeta::new(StateType::Failed).with_message("boom again");
    events.state_meta(run, finished);
    let ended = events.now();
    write(store, &mut events).await;
    let listed = store.list_flow_runs(&FlowRunFilter::new()).await.unwrap().remove(0);
    let state = listed.state.unwrap();
    assert_eq!(state.state_type, StateType::Failed);
    assert_eq!(state.message.as_deref(), Some("boom again"));
    assert_eq!(state.timestamp, ended);
    assert_eq!(listed.end_time, Some(ended));
    assert_eq!(listed.start_time, Some(started));
}

pub(super) async fn inspects_flow_run(store: &dyn Store) {
    let mut events = Events::starting_now();
    let params = serde_json::json!({ "urls": ["a", "b"], "day": "2024-06-01", "ünï": 1.5 });
    let run = events.flow_run_with("etl", "brave-otter", params.clone(), &["nightly", "eu"], None);
    events.state(run, StateType::Pending);
    events.state(run, StateType::Running);
    let tasks: Vec<_> = (0..4).map(|i| events.task_run_with(Some(run), "fetch", Some(i), &["api"])).collect();
    for (i, task) in tasks.iter().enumerate() {
        let last = if i == 3 { StateType::Failed } else { StateType::Completed };
        events.lifecycle(*task, last);
    }
    let pending = events.task_run(Some(run), "report");
    events.state(run, StateType::Failed);
    write(store, &mut events).await;

    let detail = store.inspect_flow_run(run, 3).await.unwrap();
    assert_eq!(detail.parameters, params);
    assert_eq!(detail.run.tags, ["nightly", "eu"]);
    assert_eq!(detail.run.flow_version.as_deref(), Some("1.0"));
    let types: Vec<StateType> = detail.states.iter().map(|s| s.state_type).collect();
    assert_eq!(types, [StateType::Pending, StateType::Running, StateType::Failed]);
    assert_eq!(detail.task_runs.len(), 3);
    assert_eq!(detail.task_runs[0].id, tasks[0]);
    assert_eq!(detail.task_runs[0].map_index, Some(0));
    assert_eq!(detail.task_runs[0].tags, ["api"]);
    assert_eq!(detail.task_run_count, 5);
    assert_eq!(detail.task_run_states, [(StateType::Completed, 3), (StateType::Failed, 1)]);
    let all = store.inspect_flow_run(run, 100).await.unwrap();
    assert_eq!(all.task_runs.last().map(|t| t.id), Some(pending));
    assert_eq!(all.task_runs.last().and_then(|t| t.state.clone()), None);
}

pub(super) async fn lists_task_runs(store: &dyn Store) {
    let mut events = Events::starting_now();
    let run = events.flow_run("etl", "a");
    let other = events.flow_run("etl", "b");
    let first = events.task_run(Some(run), "fetch");
    events.lifecycle(first, StateType::Completed);
    let second = events.task_run(Some(run), "parse");
    events.lifecycle(second, StateType::Failed);
    events.task_run(Some(other), "fetch");
    let alone = events.task_run(None, "standalone");
    events.lifecycle(alone, StateType::Completed);
    write(store, &mut events).await;

    let of_run = store.list_task_runs(&TaskRunFilter::of_flow_run(run)).await.unwrap();
    assert_eq!(of_run.iter().map(|t| t.id).collect::<Vec<_>>(), [first, second]);
    assert_eq!(of_run[1].task_name, "parse");
    assert_eq!(of_run[1].run_count, 1);
    assert!(of_run[1].end_time.is_some());
    let failed = TaskRunFilter::of_flow_run(run).state(StateType::Failed);
    assert_eq!(store.list_task_runs(&failed).await.unwrap().len(), 1);
    let standalone = store.list_task_runs(&TaskRunFilter::standalone()).await.unwrap();
    assert_eq!(standalone.iter().map(|t| t.id).collect::<Vec<_>>(), [alone]);
    assert_eq!(standalone[0].flow_run_id, None);
    let limited = store.list_task_runs(&TaskRunFilter::of_flow_run(run).limit(1)).await.unwrap();
    assert_eq!(limited.len(), 1);
}

pub(super) async fn inspects_task_run(store: &dyn Store) {
    let mut events = Events::starting_now();
    let run = events.flow_run("etl", "a");
    let up = events.task_run(Some(run), "fetch");
    let before = events.task_run(Some(run), "setup");
    let down = events.task_run(Some(run), "parse");
    events.dependency(down, up, DependencyKind::Data { argument: "body".into() });
    events.dependency(down, before, DependencyKind::WaitFor);
    events.dependency(down, run, DependencyKind::AllowFailure);
    events.state_meta(down, StateMeta::new(StateType::Completed).named("Cached"));
    write(store, &mut events).await;

    let detail = store.inspect_task_run(down).await.unwrap();
    assert_eq!(detail.run.flow_run_id, Some(run));
    assert_eq!(detail.states.len(), 1);
    assert_eq!(detail.states[0].name, "Cached");
    let upstream: Vec<(RunId, DependencyKind)> =
        detail.upstream.into_iter().map(|e| (e.upstream, e.kind)).collect();
    assert_eq!(
        upstream,
        [
            (RunId::Task(up), DependencyKind::Data { argument: "body".into() }),
            (RunId::Task(before), DependencyKind::WaitFor),
            (RunId::Flow(run), DependencyKind::AllowFailure),
        ]
    );
    let missing = store.inspect_task_run(prefect_model::TaskRunId::new()).await.unwrap_err();
    assert!(missing.is_not_found());
}

pub(super) async fn lists_dependency_edges_of_a_flow_run(store: &dyn Store) {
    let mut events = Events::starting_now();
    let run = events.flow_run("etl", "a");
    let other = events.flow_run("etl", "b");
    let fetch = events.task_run(Some(run), "fetch");
    let parse = events.task_run(Some(run), "parse");
    let load = events.task_run(Some(run), "load");
    let elsewhere = events.task_run(Some(other), "fetch");
    events.dependency(parse, fetch, DependencyKind::Data { argument: "body".into() });
    events.dependency(load, parse, DependencyKind::Data { argument: "rows".into() });
    events.dependency(load, run, DependencyKind::WaitFor);
    // Into another run's task: not this run's edge, though its upstream is here.
    events.dependency(elsewhere, fetch, DependencyKind::WaitFor);
    write(store, &mut events).await;

    let edges = store.dependency_edges(run, 100).await.unwrap();
    let got: Vec<(TaskRunId, RunId, DependencyKind)> =
        edges.into_iter().map(|e| (e.downstream, e.upstream, e.kind)).collect();
    assert_eq!(
        got,
        [
            (parse, RunId::Task(fetch), DependencyKind::Data { argument: "body".into() }),
            (load, RunId::Task(parse), DependencyKind::Data { argument: "rows".into() }),
            (load, RunId::Flow(run), DependencyKind::WaitFor),
        ]
    );
    assert_eq!(store.dependency_edges(run, 2).await.unwrap().len(), 2);
    assert_eq!(store.dependency_edges(other, 100).await.unwrap().len(), 1);
    assert!(store.dependency_edges(FlowRunId::new(), 100).await.unwrap().is_empty());
}

pub(super) async fn keeps_where_results_are(store: &dyn Store) {
    let mut events = Events::starting_now();
    let run = events.flow_run("etl", "a");
    let fetch = events.task_run(Some(run), "fetch");
    let parse = events.task_run(Some(run), "parse");
    let plain = events.task_run(Some(run), "log");
    let other = events.flow_run("etl", "b");
    let elsewhere = events.task_run(Some(other), "fetch");
    // Written in the same batch as the runs they belong to.
    let fetched = events.result(fetch, Some(run), "/results/3f2a", Some("3f2a"), false);
    events.result(elsewhere, Some(other), "/results/3f2a", Some("3f2a"), true);
    write(store, &mut events).await;
    // A later batch: a cache hit, then the flow's own record.
    let parsed = events.result(parse, Some(run), "s3://bucket/parsed.json", None, true);
    let own = events.result(run, Some(run), "/results/flow-a", None, false);
    write(store, &mut events).await;

    let detail = store.inspect_flow_run(run, 100).await.unwrap();
    assert_eq!(detail.results, [fetched.clone(), parsed.clone(), own.clone()]);
    // The limit counts the run's own record as one more.
    assert_eq!(store.inspect_flow_run(run, 1).await.unwrap().results, [fetched.clone(), parsed.clone()]);
    assert_eq!(store.inspect_task_run(fetch).await.unwrap().result, Some(fetched));
    assert_eq!(store.inspect_task_run(parse).await.unwrap().result, Some(parsed));
    assert_eq!(store.inspect_task_run(plain).await.unwrap().result, None);
    let theirs = store.inspect_flow_run(other, 100).await.unwrap().results;
    assert_eq!(theirs.len(), 1);
    assert!(theirs[0].from_cache && theirs[0].run == RunId::Task(elsewhere), "{theirs:?}");

    // A run that stores its value again keeps only the latest record.
    let again = events.result(parse, Some(run), "/results/parsed-2", None, false);
    write(store, &mut events).await;
    assert_eq!(store.inspect_task_run(parse).await.unwrap().result, Some(again));
    assert_eq!(store.inspect_flow_run(run, 100).await.unwrap().results.len(), 3);
}

pub(super) async fn resolves_id_prefixes(store: &dyn Store) {
    let mut events = Events::starting_now();
    let run = events.flow_run("etl", "a");
    let task = events.task_run(Some(run), "fetch");
    write(store, &mut events).await;

    let full = run.to_string();
    let any = RunScope::Any;
    assert_eq!(store.resolve_run(&full, any).await.unwrap(), RunId::Flow(run));
    assert_eq!(store.resolve_run(&full.to_uppercase(), any).await.unwrap(), RunId::Flow(run));
    assert_eq!(store.resolve_run(&task.to_string()[..32], any).await.unwrap(), RunId::Task(task));
    // Both ids are v7 UUIDs made a millisecond apart: they share a prefix.
    let shared = common_prefix(&full, &task.to_string());
    match store.resolve_run(&shared, any).await {
        Err(Error::AmbiguousPrefix { matches, .. }) => assert_eq!(matches.len(), 2),
        other => panic!("expected an ambiguous prefix, got {other:?}"),
    }
    // Scoped, the shared prefix names one run.
    assert_eq!(store.resolve_run(&shared, RunScope::FlowRuns).await.unwrap(), RunId::Flow(run));
    assert_eq!(store.resolve_run(&shared, RunScope::TaskRuns).await.unwrap(), RunId::Task(task));
    let wrong_kind = store.resolve_run(&full, RunScope::TaskRuns).await.unwrap_err();
    assert!(wrong_kind.is_not_found(), "{wrong_kind}");
    assert!(store.resolve_run("ffffffff", any).await.unwrap_err().is_not_found());
    assert!(matches!(store.resolve_run(" ", any).await, Err(Error::InvalidArgument { .. })));
}

/// Short ids (the last 12 hex digits) and exact names name runs too; ids
/// win over names, and a shared name lists its runs, newest first.
pub(super) async fn resolves_short_ids_and_names(store: &dyn Store) {
    let mut events = Events::starting_now();
    let otter = events.flow_run("etl", "brave-otter");
    let fetch = events.task_run(Some(otter), "fetch");
    let fetch_name = fixture_name("fetch", fetch);
    let first_twin = events.flow_run("etl", "twin");
    let second_twin = events.flow_run("report", "twin");
    // A run whose name is another run's short id.
    let impostor = events.flow_run("etl", &ShortId::of(otter).to_string());
    // A run whose id has the same short id as `otter`'s.
    let mut bytes = otter.0.into_bytes();
    bytes[0] ^= 0x10;
    let look_alike = FlowRunId(uuid::Uuid::from_bytes(bytes));
    write(store, &mut events).await;

    let any = RunScope::Any;
    let short = ShortId::of(otter).to_string();
    assert_eq!(store.resolve_run(&short, any).await.unwrap(), RunId::Flow(otter), "id wins over name");
    assert_eq!(
        store.resolve_run(&short.to_uppercase(), RunScope::FlowRuns).await.unwrap(),
        RunId::Flow(otter)
    );
    let task_short = ShortId::of(fetch).to_string();
    assert_eq!(store.resolve_run(&task_short, any).await.unwrap(), RunId::Task(fetch));
    assert_eq!(store.resolve_run(&task_short, RunScope::TaskRuns).await.unwrap(), RunId::Task(fetch));
    assert!(store.resolve_run(&task_short, RunScope::FlowRuns).await.unwrap_err().is_not_found());

    assert_eq!(store.resolve_run("brave-otter", any).await.unwrap(), RunId::Flow(otter));
    assert_eq!(store.resolve_run(" brave-otter ", RunScope::FlowRuns).await.unwrap(), RunId::Flow(otter));
    assert!(store.resolve_run("brave-otter", RunScope::TaskRuns).await.unwrap_err().is_not_found());
    assert_eq!(store.resolve_run(&fetch_name, any).await.unwrap(), RunId::Task(fetch));
    assert!(store.resolve_run("Brave-Otter", any).await.unwrap_err().is_not_found(), "names are exact");
    let missing = store.resolve_run("zz", RunScope::FlowRuns).await.unwrap_err();
    assert!(missing.is_not_found() && missing.to_string().contains("flow run"), "{missing}");
    let by_full_id = store.resolve_run(&impostor.to_string(), any).await.unwrap();
    assert_eq!(by_full_id, RunId::Flow(impostor), "the impostor is reached by its own id");

    match store.resolve_run("twin", any).await {
        Err(Error::AmbiguousName { name, count, candidates }) => {
            assert_eq!((name.as_str(), count), ("twin", 2));
            let ids: Vec<RunId> = candidates.iter().map(|c| c.id).collect();
            assert_eq!(ids, [RunId::Flow(second_twin), RunId::Flow(first_twin)], "newest first");
            assert!(candidates.iter().all(|c| c.name == "twin"));
            assert!(candidates[0].created > candidates[1].created);
        }
        other => panic!("expected an ambiguous name, got {other:?}"),
    }
    let message = store.resolve_run("twin", any).await.unwrap_err().to_string();
    assert!(message.starts_with("ambiguous: 2 runs are named `twin`; use an id: "), "{message}");
    assert!(message.contains(&ShortId::of(first_twin).to_string()), "{message}");

    events.push(look_alike_created(look_alike, events.now()));
    write(store, &mut events).await;
    match store.resolve_run(&short, any).await {
        Err(Error::AmbiguousPrefix { matches, .. }) => {
            assert_eq!(matches.len(), 2);
            assert!(matches.contains(&otter.to_string()) && matches.contains(&look_alike.to_string()));
        }
        other => panic!("expected a shared short id to be ambiguous, got {other:?}"),
    }
}

/// The name [`Events::task_run`] gives a task run of `task`.
fn fixture_name(task: &str, id: prefect_model::TaskRunId) -> String {
    format!("{task}-{}", &id.0.simple().to_string()[29..])
}

fn look_alike_created(id: FlowRunId, created: chrono::DateTime<chrono::Utc>) -> prefect_model::Event {
    prefect_model::Event::FlowRunCreated(std::sync::Arc::new(prefect_model::FlowRunRecord {
        id,
        name: "look-alike".into(),
        flow_name: "etl".into(),
        flow_version: None,
        parameters: serde_json::json!({}),
        tags: std::sync::Arc::from([]),
        parent_flow_run_id: None,
        parent_task_run_id: None,
        created,
    }))
}

fn common_prefix(a: &str, b: &str) -> String {
    a.chars().zip(b.chars()).take_while(|(x, y)| x == y).map(|(x, _)| x).collect()
}

pub(super) async fn ignores_duplicates_and_unknown_runs(store: &dyn Store) {
    let mut events = Events::starting_now();
    let run = events.flow_run("etl", "a");
    let created = events.take();
    store.write_events(None, &created).await.unwrap();
    store.write_events(None, &created).await.unwrap();
    events.state(FlowRunId::new(), StateType::Running);
    events.state(prefect_model::TaskRunId::new(), StateType::Running);
    write(store, &mut events).await;
    let runs = store.list_flow_runs(&FlowRunFilter::new()).await.unwrap();
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].id, run);
    assert!(store.inspect_flow_run(run, 10).await.unwrap().states.is_empty());
}

pub(super) async fn keeps_states_of_the_same_microsecond(store: &dyn Store) {
    let mut events = Events::starting_now();
    let run = events.flow_run("etl", "fast");
    let at = events.now() + chrono::TimeDelta::milliseconds(5);
    let types = [StateType::Pending, StateType::Running, StateType::Completed];
    for (i, state_type) in types.into_iter().enumerate() {
        let timestamp = at + chrono::TimeDelta::nanoseconds(i as i64);
        let state = StateMeta { timestamp, ..StateMeta::new(state_type) };
        let change = prefect_model::StateChange { run: run.into(), state, run_count: 1 };
        events.push(prefect_model::Event::StateChanged(change));
    }
    write(store, &mut events).await;
    let detail = store.inspect_flow_run(run, 0).await.unwrap();
    let stored: Vec<StateType> = detail.states.iter().map(|s| s.state_type).collect();
    assert_eq!(stored, types);
    assert!(detail.states.windows(2).all(|w| w[0].timestamp < w[1].timestamp));
    assert!(detail.states[2].timestamp - at < chrono::TimeDelta::milliseconds(1));
    assert_eq!(detail.run.state.as_ref(), detail.states.last());
    assert_eq!(detail.run.start_time, Some(detail.states[1].timestamp));
}

pub(super) async fn stores_each_batch_once(store: &dyn Store) {
    let mut events = Events::starting_now();
    let run = events.flow_run("etl", "sent-twice");
    events.lifecycle(run, StateType::Completed);
    events.log(Some(run), None, prefect_model::LogLevel::Info, "one line");
    let batch = events.take();
    let id = crate::BatchId::new();
    assert!(store.write_events_once(id, None, &batch).await.unwrap(), "a new batch is stored");
    assert!(!store.write_events_once(id, None, &batch).await.unwrap(), "a batch sent again is not");
    let detail = store.inspect_flow_run(run, 0).await.unwrap();
    let stored: Vec<StateType> = detail.states.iter().map(|s| s.state_type).collect();
    assert_eq!(stored, [StateType::Pending, StateType::Running, StateType::Completed]);
    assert_eq!(store.logs(&crate::LogFilter::of(run)).await.unwrap().len(), 1);
    // Another id with the same events is another batch (states append).
    let mut more = Events::starting_now();
    more.state(run, StateType::Running);
    assert!(store.write_events_once(crate::BatchId::new(), None, &more.take()).await.unwrap());
    assert_eq!(store.inspect_flow_run(run, 0).await.unwrap().states.len(), 4);
}

pub(super) async fn change_counter_moves_on_its_own_writes(store: &dyn Store) {
    let Some(before) = store.change_counter().await.unwrap() else { return };
    let mut events = Events::starting_now();
    let run = events.flow_run("etl", "counted");
    events.state(run, StateType::Running);
    write(store, &mut events).await;
    let after = store.change_counter().await.unwrap();
    assert_ne!(after, Some(before), "a write through the same handle moves the counter");
}
