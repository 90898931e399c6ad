//! Checks of the run queue: deployments, scheduled runs, claims, work
//! queues and workers.

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use prefect_model::{FlowRunId, RunId, StateMeta, StateType};
use uuid::Uuid;

use crate::lease::LeaseOwner;
use crate::{ClaimRequest, DeploymentId, DeploymentSpec, NewFlowRun, Store, WorkQueueUpdate, WorkerBeat};

const HOUR: Duration = Duration::from_secs(3600);

fn spec(flow: &str, name: &str, queue: &str) -> DeploymentSpec {
    DeploymentSpec {
        flow_name: flow.into(),
        name: name.into(),
        description: Some("nightly load".into()),
        version: Some("1.2".into()),
        tags: vec!["etl".into()],
        work_queue: queue.into(),
        labels: Vec::new(),
        parameters: serde_json::json!({ "months": [1, 2] }),
        parameter_schema: Some(serde_json::json!({ "type": "object" })),
        schedules: serde_json::json!([{ "cron": "0 6 * * *" }]),
        catchup: "all".into(),
        paused: false,
    }
}

fn at(minutes: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_800_000_000, 0).unwrap() + TimeDelta::minutes(minutes)
}

fn new_run(deployment: DeploymentId, minutes: i64, auto: bool) -> NewFlowRun {
    NewFlowRun {
        id: FlowRunId(Uuid::now_v7()),
        deployment,
        name: format!("run-{minutes}"),
        parameters: serde_json::json!({ "months": [minutes] }),
        scheduled: at(minutes),
        auto_scheduled: auto,
        parent_flow_run_id: None,
        created: at(-60),
    }
}

fn names(runs: &[crate::QueuedRun]) -> Vec<&str> {
    runs.iter().map(|r| r.name.as_str()).collect()
}

pub(super) async fn deployments_are_registered_updated_paused_deleted(store: &dyn Store) {
    let first = store.upsert_deployment(&spec("etl", "daily", "production")).await.unwrap();
    assert_eq!(first.full_name(), "etl/daily");
    assert_eq!(first.spec, spec("etl", "daily", "production"));
    let auto = new_run(first.id, 10, true);
    let by_hand = new_run(first.id, 20, false);
    store.create_flow_runs(&[auto.clone(), by_hand.clone()]).await.unwrap();

    // The same name again keeps the id; changed schedules drop the runs they made.
    let mut changed = spec("etl", "daily", "production");
    changed.schedules = serde_json::json!([{ "cron": "0 7 * * *" }]);
    changed.version = Some("1.3".into());
    let second = store.upsert_deployment(&changed).await.unwrap();
    assert_eq!(second.id, first.id);
    assert_eq!(second.spec.version.as_deref(), Some("1.3"));
    let queued = store.queued_runs(Some(first.id), None, 10).await.unwrap();
    assert_eq!(names(&queued), ["run-20"], "the run asked for by hand stays");

    store.upsert_deployment(&spec("etl", "hourly", "")).await.unwrap();
    let listed = store.list_deployments().await.unwrap();
    let listed: Vec<_> = listed.iter().map(|d| (d.full_name(), d.spec.work_queue.clone())).collect();
    assert_eq!(listed, [("etl/daily".into(), "production".into()), ("etl/hourly".into(), "default".into())]);

    assert!(store.set_deployment_paused("etl/daily", true).await.unwrap());
    assert!(store.deployment("etl/daily").await.unwrap().unwrap().spec.paused);
    assert!(!store.set_deployment_paused("etl/nope", true).await.unwrap());
    assert!(store.deployment("nope").await.unwrap().is_none());

    assert!(store.delete_deployment("etl/daily").await.unwrap());
    assert!(store.deployment("etl/daily").await.unwrap().is_none());
    assert!(store.queued_runs(Some(first.id), None, 10).await.unwrap().is_empty());
    assert!(!store.delete_deployment("etl/daily").await.unwrap());

    let bad = store.upsert_deployment(&spec("etl", "", "q")).await.unwrap_err();
    assert!(matches!(bad, crate::Error::InvalidArgument { .. }), "{bad}");
}

pub(super) async fn scheduled_runs_are_created_once(store: &dyn Store) {
    let deployment = store.upsert_deployment(&spec("etl", "daily", "production")).await.unwrap();
    let run = new_run(deployment.id, 5, true);
    assert_eq!(store.create_flow_runs(std::slice::from_ref(&run)).await.unwrap(), [run.id]);
    assert!(store.create_flow_runs(std::slice::from_ref(&run)).await.unwrap().is_empty());

    let detail = store.inspect_flow_run(run.id, 0).await.unwrap();
    assert_eq!(detail.run.flow_name, "etl");
    assert_eq!(detail.run.tags, ["etl"]);
    assert_eq!(detail.run.deployment_id, Some(deployment.id));
    assert_eq!(detail.run.work_queue.as_deref(), Some("production"));
    assert_eq!(detail.run.expected_start, Some(at(5)));
    assert_eq!(detail.parameters, serde_json::json!({ "months": [5] }));
    assert_eq!(store.latest_expected_start(deployment.id).await.unwrap(), Some(at(5)));
    let state = detail.run.state.unwrap();
    assert_eq!(state.state_type, StateType::Scheduled);
    assert_eq!(state.scheduled_time, Some(at(5)));
    assert_eq!(detail.states.len(), 1);

    let queued = store.queued_runs(None, Some(at(4)), 10).await.unwrap();
    assert!(queued.is_empty(), "not due yet: {queued:?}");
    let queued = store.queued_runs(None, Some(at(5)), 10).await.unwrap();
    assert_eq!(queued.len(), 1);
    assert_eq!(queued[0].deployment_name, "etl/daily");
    assert_eq!(queued[0].work_queue, "production");

    let unknown = NewFlowRun { deployment: DeploymentId(Uuid::now_v7()), ..new_run(deployment.id, 6, true) };
    let error = store.create_flow_runs(&[unknown]).await.unwrap_err();
    assert!(matches!(error, crate::Error::NotFound { what: "deployment", .. }), "{error}");
}

pub(super) async fn claims_take_each_run_once_in_priority_order(store: &dyn Store) {
    let lease = store.acquire_lease(&LeaseOwner::current(), HOUR).await.unwrap();
    let other = store.acquire_lease(&LeaseOwner::current(), HOUR).await.unwrap();
    let low = store.upsert_deployment(&spec("etl", "low", "bulk")).await.unwrap();
    let high = store.upsert_deployment(&spec("etl", "high", "urgent")).await.unwrap();
    let unknown_flow = store.upsert_deployment(&spec("report", "daily", "urgent")).await.unwrap();
    store
        .update_work_queue("urgent", &WorkQueueUpdate { priority: Some(1), ..Default::default() })
        .await
        .unwrap();
    store
        .update_work_queue("bulk", &WorkQueueUpdate { priority: Some(5), ..Default::default() })
        .await
        .unwrap();
    store
        .create_flow_runs(&[
            new_run(low.id, 1, true),
            new_run(high.id, 3, true),
            new_run(high.id, 2, true),
            new_run(unknown_flow.id, 0, true),
            new_run(high.id, 90, true),
        ])
        .await
        .unwrap();
    let flows = ["etl".to_owned()];
    let request =
        ClaimRequest { queues: &[], flows: &flows, labels: &[], now: at(10), limit: 2, lease: lease.id };
    assert_eq!(store.next_due(request).await.unwrap(), Some(at(90)), "the next run this worker could take");
    let others = ["report".to_owned()];
    assert_eq!(store.next_due(ClaimRequest { flows: &others, ..request }).await.unwrap(), None);
    let claimed = store.claim_flow_runs(request).await.unwrap();
    assert_eq!(names(&claimed), ["run-2", "run-3"], "the urgent queue first, earliest due first");
    let again = store.claim_flow_runs(ClaimRequest { lease: other.id, limit: 10, ..request }).await.unwrap();
    assert_eq!(names(&again), ["run-1"], "claimed runs are not claimed again; later runs are not due");
    let detail = store.inspect_flow_run(claimed[0].id, 0).await.unwrap();
    let types: Vec<StateType> = detail.states.iter().map(|s| s.state_type).collect();
    assert_eq!(types, [StateType::Scheduled, StateType::Pending]);
    assert_eq!(detail.run.expected_start, Some(at(2)), "the due time outlives the Scheduled state");

    // A claimed run is owned by the lease: released, it crashes.
    let crashed = store.release_lease(other.id).await.unwrap();
    assert_eq!(crashed, [RunId::Flow(again[0].id)]);
    let crashed = store.crashed_runs(at(-600)).await.unwrap();
    assert_eq!(names(&crashed), ["run-1"], "a crashed run of a deployment, for a retry");
    assert!(store.crashed_runs(at(600)).await.unwrap().is_empty(), "it ended before then");
    let queued = store.queued_runs(None, None, 10).await.unwrap();
    assert_eq!(names(&queued), ["run-0", "run-90"], "the run of a flow no worker knows waits");
}

pub(super) async fn queues_pause_and_limit_claims(store: &dyn Store) {
    let lease = store.acquire_lease(&LeaseOwner::current(), HOUR).await.unwrap();
    let deployment = store.upsert_deployment(&spec("etl", "daily", "limited")).await.unwrap();
    let runs: Vec<NewFlowRun> = (1..=3).map(|m| new_run(deployment.id, m, true)).collect();
    store.create_flow_runs(&runs).await.unwrap();
    let flows = ["etl".to_owned()];
    let queues = ["limited".to_owned()];
    let request =
        ClaimRequest { queues: &queues, flows: &flows, labels: &[], now: at(10), limit: 10, lease: lease.id };

    let paused =
        WorkQueueUpdate { paused: Some(true), concurrency_limit: Some(Some(2)), ..Default::default() };
    let queue = store.update_work_queue("limited", &paused).await.unwrap();
    assert!(queue.paused);
    assert_eq!(queue.concurrency_limit, Some(2));
    assert!(store.claim_flow_runs(request).await.unwrap().is_empty(), "a paused queue gives nothing");

    let resumed = WorkQueueUpdate { paused: Some(false), ..Default::default() };
    store.update_work_queue("limited", &resumed).await.unwrap();
    let claimed = store.claim_flow_runs(request).await.unwrap();
    assert_eq!(names(&claimed), ["run-1", "run-2"], "at most 2 started at once");
    assert!(store.claim_flow_runs(request).await.unwrap().is_empty());
    let done = StateMeta::new(StateType::Completed);
    store.set_flow_run_state(claimed[0].id, &done, &[]).await.unwrap();
    assert_eq!(names(&store.claim_flow_runs(request).await.unwrap()), ["run-3"]);

    let other_queue = ["elsewhere".to_owned()];
    let request = ClaimRequest { queues: &other_queue, ..request };
    assert!(store.claim_flow_runs(request).await.unwrap().is_empty());

    let listed = store.list_work_queues().await.unwrap();
    assert_eq!(listed.iter().map(|q| q.name.as_str()).collect::<Vec<_>>(), ["limited"]);
    let zero = WorkQueueUpdate { priority: Some(0), ..Default::default() };
    assert!(store.update_work_queue("limited", &zero).await.is_err());
}

pub(super) async fn late_runs_and_state_changes(store: &dyn Store) {
    let lease = store.acquire_lease(&LeaseOwner::current(), HOUR).await.unwrap();
    let deployment = store.upsert_deployment(&spec("etl", "daily", "")).await.unwrap();
    let (early, later) = (new_run(deployment.id, 1, true), new_run(deployment.id, 30, true));
    store.create_flow_runs(&[early.clone(), later.clone()]).await.unwrap();
    assert_eq!(store.mark_late_runs(at(2)).await.unwrap(), [early.id]);
    assert!(store.mark_late_runs(at(2)).await.unwrap().is_empty(), "marked once");
    let state = store.inspect_flow_run(early.id, 0).await.unwrap().run.state.unwrap();
    assert_eq!((state.state_type, &*state.name), (StateType::Scheduled, "Late"));
    assert_eq!(state.scheduled_time, Some(at(1)));

    // Cancel a queued run only if it is still queued.
    let cancelled = StateMeta::new(StateType::Cancelled).with_message("skipped: missed while not served");
    let before = store.set_flow_run_state(early.id, &cancelled, &[StateType::Scheduled]).await.unwrap();
    assert_eq!(before.map(|s| s.state_type), Some(StateType::Scheduled));
    let again = store.set_flow_run_state(early.id, &cancelled, &[StateType::Scheduled]).await.unwrap();
    assert_eq!(again, None, "compare and set: it is no longer Scheduled");
    assert_eq!(names(&store.queued_runs(None, None, 10).await.unwrap()), ["run-30"]);

    // A claimed run asked to cancel shows up for its worker.
    let flows = ["etl".to_owned()];
    let claim =
        ClaimRequest { queues: &[], flows: &flows, labels: &[], now: at(40), limit: 1, lease: lease.id };
    let claimed = store.claim_flow_runs(claim).await.unwrap();
    assert_eq!(claimed[0].id, later.id);
    let cancelling = StateMeta::new(StateType::Cancelling);
    store.set_flow_run_state(later.id, &cancelling, &[StateType::Pending, StateType::Running]).await.unwrap();
    assert_eq!(store.cancelling_runs(lease.id).await.unwrap(), [later.id]);

    // A crashed run sent back to Scheduled can be claimed again.
    let crashed = StateMeta::new(StateType::Crashed);
    store.set_flow_run_state(later.id, &crashed, &[]).await.unwrap();
    let retry = StateMeta { scheduled_time: Some(at(41)), ..StateMeta::new(StateType::Scheduled) }
        .named("AwaitingRetry");
    store.set_flow_run_state(later.id, &retry, &[StateType::Crashed]).await.unwrap();
    let claim = ClaimRequest { now: at(42), ..claim };
    assert_eq!(store.claim_flow_runs(claim).await.unwrap().len(), 1);
    let missing = store.set_flow_run_state(FlowRunId(Uuid::now_v7()), &crashed, &[]).await.unwrap_err();
    assert!(matches!(missing, crate::Error::NotFound { .. }), "{missing}");
}

pub(super) async fn workers_report_heartbeats(store: &dyn Store) {
    let lease = store.acquire_lease(&LeaseOwner::current(), HOUR).await.unwrap();
    let beat = WorkerBeat {
        name: "worker-a".into(),
        queues: vec!["production".into()],
        flows: vec!["etl".into()],
        labels: vec!["gpu".into()],
        lease: lease.id,
        status: "online".into(),
        time: at(0),
    };
    store.worker_heartbeat(&beat).await.unwrap();
    store.worker_heartbeat(&WorkerBeat { time: at(1), ..beat.clone() }).await.unwrap();
    let dead =
        store.acquire_lease(&LeaseOwner { pid: 0x7fff_fff0, ..LeaseOwner::current() }, HOUR).await.unwrap();
    store
        .worker_heartbeat(&WorkerBeat {
            name: "worker-b".into(),
            lease: dead.id,
            time: at(2),
            ..beat.clone()
        })
        .await
        .unwrap();
    let workers = store.list_workers().await.unwrap();
    let seen: Vec<(&str, bool)> = workers.iter().map(|w| (w.beat.name.as_str(), w.alive)).collect();
    assert_eq!(seen, [("worker-b", false), ("worker-a", true)]);
    assert_eq!(workers[1].started, at(0));
    assert_eq!(workers[1].beat.time, at(1));
    assert_eq!(workers[1].pid, Some(std::process::id()));
    assert_eq!(workers[1].beat.labels, ["gpu"]);
}

pub(super) async fn paused_runs_resume_with_input(store: &dyn Store) {
    let deployment = store.upsert_deployment(&spec("etl", "approve", "")).await.unwrap();
    let run = new_run(deployment.id, 1, false);
    store.create_flow_runs(std::slice::from_ref(&run)).await.unwrap();
    let running = StateMeta::new(StateType::Running);
    store.set_flow_run_state(run.id, &running, &[]).await.unwrap();
    assert_eq!(store.resume_flow_run(run.id, None).await.unwrap(), None, "not paused");

    let paused = StateMeta::new(StateType::Paused).with_message("waiting for approval");
    store.set_flow_run_state(run.id, &paused, &[StateType::Running]).await.unwrap();
    let input = serde_json::json!({ "approved": true, "reviewer": "ada" });
    let before = store.resume_flow_run(run.id, Some(&input)).await.unwrap();
    assert_eq!(before.map(|s| s.state_type), Some(StateType::Paused));
    let state = store.inspect_flow_run(run.id, 0).await.unwrap().run.state.unwrap();
    assert_eq!(state.state_type, StateType::Running);
    assert_eq!(store.take_resume_input(run.id).await.unwrap(), Some(input));
    assert_eq!(store.take_resume_input(run.id).await.unwrap(), None, "taken once");
    assert_eq!(store.resume_flow_run(run.id, None).await.unwrap(), None);
    let missing = store.resume_flow_run(FlowRunId(Uuid::now_v7()), None).await.unwrap_err();
    assert!(matches!(missing, crate::Error::NotFound { .. }), "{missing}");
}

pub(super) async fn labelled_runs_go_to_workers_with_every_label(store: &dyn Store) {
    let lease = store.acquire_lease(&LeaseOwner::current(), HOUR).await.unwrap();
    let staging = DeploymentSpec { labels: vec!["staging".into()], ..spec("etl", "staging", "") };
    let staging = store.upsert_deployment(&staging).await.unwrap();
    let both = DeploymentSpec { labels: vec!["production".into(), "gpu".into()], ..spec("etl", "train", "") };
    let both = store.upsert_deployment(&both).await.unwrap();
    assert_eq!(both.spec.labels, ["production", "gpu"]);
    store.create_flow_runs(&[new_run(staging.id, 1, false), new_run(both.id, 2, false)]).await.unwrap();
    let flows = ["etl".to_owned()];
    let claim =
        |labels| ClaimRequest { queues: &[], flows: &flows, labels, now: at(10), limit: 10, lease: lease.id };
    assert!(
        store.claim_flow_runs(claim(&[])).await.unwrap().is_empty(),
        "an unlabelled worker takes neither"
    );
    let production = ["production".to_owned()];
    assert!(store.claim_flow_runs(claim(&production)).await.unwrap().is_empty(), "gpu is missing");
    let gpu_production = ["gpu".to_owned(), "production".to_owned(), "eu".to_owned()];
    assert_eq!(names(&store.claim_flow_runs(claim(&gpu_production)).await.unwrap()), ["run-2"]);
    let staging_labels = ["staging".to_owned()];
    assert_eq!(names(&store.claim_flow_runs(claim(&staging_labels)).await.unwrap()), ["run-1"]);
}

pub(super) async fn flow_runs_page_by_cursor_and_filter_by_name_tag_deployment_and_time(store: &dyn Store) {
    use crate::{FlowRunCursor, FlowRunFilter};
    let mut events = super::Events::starting_now();
    let start = chrono::Utc::now();
    let mut made = Vec::new();
    for i in 0..7 {
        let tags: &[&str] = if i % 2 == 0 { &["nightly"] } else { &["adhoc", "nightly_x"] };
        made.push(events.flow_run_with("etl", &format!("load_{i}%"), serde_json::json!({}), tags, None));
    }
    super::write(store, &mut events).await;
    let deployment = store.upsert_deployment(&spec("etl", "daily", "default")).await.unwrap();
    let queued = new_run(deployment.id, 5, false);
    store.create_flow_runs(std::slice::from_ref(&queued)).await.unwrap();

    // Pages of 3, newest first, none missed or repeated.
    let of_etl = || FlowRunFilter::new().name_contains("load_");
    let mut seen = Vec::new();
    let mut cursor: Option<FlowRunCursor> = None;
    loop {
        let mut filter = of_etl().limit(3);
        if let Some(after) = cursor {
            filter = filter.after(after);
        }
        let page = store.list_flow_runs(&filter).await.unwrap();
        seen.extend(page.iter().map(|r| r.id));
        match page.last() {
            Some(last) if page.len() == 3 => cursor = Some(FlowRunCursor::after(last)),
            _ => break,
        }
    }
    let newest_first: Vec<FlowRunId> = made.iter().rev().copied().collect();
    assert_eq!(seen, newest_first);

    // The name is matched as typed: `_` and `%` are not wildcards.
    let exact = store.list_flow_runs(&FlowRunFilter::new().name_contains("LOAD_3%")).await.unwrap();
    assert_eq!(exact.iter().map(|r| r.id).collect::<Vec<_>>(), [made[3]]);
    assert!(store.list_flow_runs(&FlowRunFilter::new().name_contains("load%")).await.unwrap().is_empty());
    // A tag matches whole: "nightly" is not "nightly_x".
    let nightly = store.list_flow_runs(&FlowRunFilter::new().tag("nightly")).await.unwrap();
    assert_eq!(nightly.len(), 4);
    let of_deployment = store.list_flow_runs(&FlowRunFilter::new().deployment(deployment.id)).await.unwrap();
    assert_eq!(of_deployment.iter().map(|r| r.id).collect::<Vec<_>>(), [queued.id]);
    // Created before a time: the deployment's run is created in January 2027.
    let before = store.list_flow_runs(&FlowRunFilter::new().until(start + TimeDelta::days(1))).await.unwrap();
    assert_eq!(before.iter().map(|r| r.id).collect::<Vec<_>>(), newest_first);
}

pub(super) async fn task_runs_page_and_filter_across_flow_runs(store: &dyn Store) {
    use crate::TaskRunFilter;
    use prefect_model::TaskRunId;
    let mut events = super::Events::starting_now();
    let etl = events.flow_run("etl", "a");
    let report = events.flow_run("report", "b");
    let mut made: Vec<TaskRunId> = Vec::new();
    for i in 0..5 {
        let tags: &[&str] = if i % 2 == 0 { &["db"] } else { &["db_x"] };
        let run = events.task_run_with(Some(etl), &format!("load_{i}%"), None, tags);
        events.lifecycle(run, if i == 3 { StateType::Failed } else { StateType::Completed });
        made.push(run);
    }
    let summary = events.task_run(Some(report), "summary");
    let alone = events.task_run(None, "standalone");
    super::write(store, &mut events).await;
    let deployment = store.upsert_deployment(&spec("etl", "daily", "default")).await.unwrap();
    let queued = new_run(deployment.id, 5, false);
    store.create_flow_runs(std::slice::from_ref(&queued)).await.unwrap();
    let deployed = events.task_run(Some(queued.id), "extract");
    super::write(store, &mut events).await;

    let ids = |runs: Vec<crate::TaskRunSummary>| runs.into_iter().map(|r| r.id).collect::<Vec<_>>();
    // Every task run, newest first, in pages of 3 that miss and repeat none.
    let mut seen = Vec::new();
    let mut after: Option<TaskRunId> = None;
    loop {
        let mut filter = TaskRunFilter::any().limit(3);
        if let Some(last) = after {
            filter = filter.after(last);
        }
        let page = ids(store.list_task_runs(&filter).await.unwrap());
        seen.extend(page.iter().copied());
        match page.last() {
            Some(&last) if page.len() == 3 => after = Some(last),
            _ => break,
        }
    }
    let mut all: Vec<TaskRunId> = made.clone();
    all.extend([summary, alone, deployed]);
    all.reverse();
    assert_eq!(seen, all, "newest first, every run once");

    // Filters: flow, deployment, state, name (wildcards as typed), tag.
    let of_etl = ids(store.list_task_runs(&TaskRunFilter::any().flow("etl")).await.unwrap());
    let mut expected: Vec<TaskRunId> = made.iter().copied().chain([deployed]).collect();
    expected.reverse();
    assert_eq!(of_etl, expected, "the deployment's run is a run of etl too");
    let of_deployment = TaskRunFilter::any().deployment(deployment.id);
    assert_eq!(ids(store.list_task_runs(&of_deployment).await.unwrap()), [deployed]);
    let failed = TaskRunFilter::any().state(StateType::Failed);
    assert_eq!(ids(store.list_task_runs(&failed).await.unwrap()), [made[3]]);
    let named = TaskRunFilter::any().name_contains("LOAD_2%");
    assert_eq!(ids(store.list_task_runs(&named).await.unwrap()), [made[2]]);
    assert!(store.list_task_runs(&TaskRunFilter::any().name_contains("load__")).await.unwrap().is_empty());
    let tagged = TaskRunFilter::any().tag("db");
    assert_eq!(ids(store.list_task_runs(&tagged).await.unwrap()), [made[4], made[2], made[0]]);
    assert!(store.list_task_runs(&TaskRunFilter::any().flow("nothing")).await.unwrap().is_empty());

    // A time range on creation: the last task run's own instant.
    let last = store.inspect_task_run(deployed).await.unwrap().run.created;
    let since = TaskRunFilter::any().since(last);
    assert_eq!(ids(store.list_task_runs(&since).await.unwrap()), [deployed]);
    let until = TaskRunFilter::any().until(last);
    assert_eq!(store.list_task_runs(&until).await.unwrap().len(), 7);

    // Within one flow run: creation order, and a cursor in that order.
    let first_two = ids(store.list_task_runs(&TaskRunFilter::of_flow_run(etl).limit(2)).await.unwrap());
    assert_eq!(first_two, made[..2]);
    let rest = TaskRunFilter::of_flow_run(etl).after(made[1]);
    assert_eq!(ids(store.list_task_runs(&rest).await.unwrap()), made[2..]);
    let standalone_db = TaskRunFilter::standalone().tag("db");
    assert!(store.list_task_runs(&standalone_db).await.unwrap().is_empty());
}
