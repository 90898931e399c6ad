//! Checks of concurrency limits and retention.

use std::time::Duration;

use prefect_model::{DependencyKind, LogLevel, StateType, TaskRunId};

use super::{Events, write};
use crate::{
    FlowRunFilter, LeaseOwner, LogFilter, PruneReport, Retention, SlotDecision, Store, TaskRunFilter,
};

const DAY: Duration = Duration::from_secs(24 * 3600);

pub(super) async fn concurrency_limits_crud(store: &dyn Store) {
    assert!(store.list_concurrency_limits().await.unwrap().is_empty(), "a new store has none");
    let created = store.set_concurrency_limit("api", 3).await.unwrap();
    assert_eq!((created.tag.as_str(), created.limit, created.active_slots), ("api", 3, 0));
    store.set_concurrency_limit("db", 1).await.unwrap();
    let changed = store.set_concurrency_limit("api", 5).await.unwrap();
    assert_eq!(changed.limit, 5);
    assert_eq!(changed.created, created.created);
    assert!(changed.updated >= created.updated);
    let tags: Vec<String> =
        store.list_concurrency_limits().await.unwrap().into_iter().map(|l| l.tag).collect();
    assert_eq!(tags, ["api", "db"]);
    assert_eq!(store.concurrency_limit("db").await.unwrap().map(|l| l.limit), Some(1));
    assert!(store.reset_concurrency_limit("db").await.unwrap());
    assert!(!store.reset_concurrency_limit("nope").await.unwrap());
    assert!(store.delete_concurrency_limit("db").await.unwrap());
    assert!(!store.delete_concurrency_limit("db").await.unwrap());
    assert_eq!(store.concurrency_limit("db").await.unwrap(), None);
    assert!(store.set_concurrency_limit(" ", 1).await.is_err());
}

pub(super) async fn slots_are_taken_released_and_reset(store: &dyn Store) {
    let (first, second) = (TaskRunId::new(), TaskRunId::new());
    let tags = ["db".to_owned(), "unlimited".to_owned()];
    assert_eq!(store.try_acquire_slots(&tags, first).await.unwrap(), SlotDecision::NoLimits);
    store.set_concurrency_limit("db", 1).await.unwrap();
    assert_eq!(store.try_acquire_slots(&tags, first).await.unwrap(), SlotDecision::Acquired);
    assert_eq!(store.concurrency_limit("db").await.unwrap().unwrap().active_slots, 1);
    assert_eq!(store.try_acquire_slots(&tags, second).await.unwrap(), SlotDecision::Busy);
    // Who holds it: the first run, taken by this process.
    let holders = store.list_slot_holders().await.unwrap();
    assert_eq!(holders.iter().map(|h| (h.tag.as_str(), h.holder)).collect::<Vec<_>>(), [("db", first)]);
    assert_eq!(holders[0].pid, std::process::id());
    store.release_slots(first).await.unwrap();
    assert!(store.list_slot_holders().await.unwrap().is_empty());
    assert_eq!(store.try_acquire_slots(&tags, second).await.unwrap(), SlotDecision::Acquired);
    // A reset frees the slot for good: the next run takes it, though its
    // holder never released it.
    assert!(store.reset_concurrency_limit("db").await.unwrap());
    assert_eq!(store.concurrency_limit("db").await.unwrap().unwrap().active_slots, 0);
    assert_eq!(store.try_acquire_slots(&tags, first).await.unwrap(), SlotDecision::Acquired);
    store.set_concurrency_limit("db", 0).await.unwrap();
    assert_eq!(
        store.try_acquire_slots(&tags, TaskRunId::new()).await.unwrap(),
        SlotDecision::Abort("db".into())
    );
}

pub(super) async fn prunes_old_finished_runs(store: &dyn Store) {
    let mut events = Events::starting_ago(10 * DAY);
    let old = events.flow_run("etl", "old");
    events.lifecycle(old, StateType::Completed);
    let fetch = events.task_run(Some(old), "fetch");
    events.lifecycle(fetch, StateType::Completed);
    let parse = events.task_run(Some(old), "parse");
    events.lifecycle(parse, StateType::Completed);
    events.dependency(parse, fetch, DependencyKind::Data { argument: "body".into() });
    events.log(Some(old), None, LogLevel::Info, "old flow");
    events.log(Some(old), Some(fetch), LogLevel::Info, "old task");
    let alone = events.task_run(None, "standalone");
    events.lifecycle(alone, StateType::Failed);
    let stuck = events.flow_run("etl", "still-running");
    events.state(stuck, StateType::Running);
    let slow = events.flow_run("etl", "slow");
    events.state(slow, StateType::Running);
    events.advance(10 * DAY);
    events.state(slow, StateType::Completed);
    let recent = events.flow_run("etl", "recent");
    events.lifecycle(recent, StateType::Completed);
    write(store, &mut events).await;

    let report = store.prune(DAY).await.unwrap();
    assert_eq!(report.flow_runs, 1, "{report:?}");
    assert_eq!(report.task_runs, 3, "{report:?}");
    assert_eq!(report.states, 12, "{report:?}");
    assert_eq!(report.logs, 2, "{report:?}");
    assert_eq!(report.dependencies, 1, "{report:?}");
    assert!(store.inspect_flow_run(old, 10).await.unwrap_err().is_not_found());
    assert!(store.inspect_task_run(fetch).await.unwrap_err().is_not_found());
    assert!(store.logs(&LogFilter::of(old)).await.unwrap().is_empty());
    assert!(store.list_task_runs(&TaskRunFilter::standalone()).await.unwrap().is_empty());
    let kept: Vec<_> =
        store.list_flow_runs(&FlowRunFilter::new()).await.unwrap().into_iter().map(|r| r.id).collect();
    assert_eq!(kept, [recent, slow, stuck]);
    assert_eq!(store.prune(DAY).await.unwrap(), crate::PruneReport::default());
}

/// `prune_with_progress` deletes what `prune` does, and its last report is
/// the result.
pub(super) async fn prunes_with_progress(store: &dyn Store) {
    let mut events = Events::starting_ago(10 * DAY);
    let mut old = Vec::new();
    for i in 0..5 {
        let run = events.flow_run("etl", &format!("old-{i}"));
        events.lifecycle(run, StateType::Completed);
        let task = events.task_run(Some(run), "fetch");
        events.lifecycle(task, StateType::Completed);
        events.log(Some(run), Some(task), LogLevel::Info, "old task");
        old.push(run);
    }
    let alone = events.task_run(None, "standalone");
    events.lifecycle(alone, StateType::Completed);
    events.advance(10 * DAY);
    let recent = events.flow_run("etl", "recent");
    events.lifecycle(recent, StateType::Completed);
    write(store, &mut events).await;

    let seen = std::sync::Mutex::new(Vec::new());
    let record = |progress: crate::PruneProgress| seen.lock().unwrap().push(progress);
    let report = store.prune_with_progress(DAY, &record).await.unwrap();
    assert_eq!((report.flow_runs, report.task_runs, report.logs), (5, 6, 5), "{report:?}");
    let seen = seen.into_inner().unwrap();
    let last = seen.last().expect("at least one report");
    assert_eq!(last.deleted, report);
    assert!(seen.windows(2).all(|w| w[0].runs_deleted() <= w[1].runs_deleted()), "{seen:?}");
    if let Some(due) = last.runs_due {
        assert_eq!(due, 11);
    }
    for run in old {
        assert!(store.inspect_flow_run(run, 0).await.unwrap_err().is_not_found());
    }
    assert!(store.inspect_flow_run(recent, 0).await.is_ok());
    let nothing = store.prune_with_progress(DAY, &|_| {}).await.unwrap();
    assert_eq!(nothing, PruneReport::default());
}

pub(super) async fn prunes_only_when_due(store: &dyn Store) {
    let mut events = Events::starting_ago(10 * DAY);
    let old = events.flow_run("etl", "old");
    events.lifecycle(old, StateType::Completed);
    write(store, &mut events).await;
    let retention = Retention::keep(DAY).every(DAY);
    let first = store.prune_if_due(retention).await.unwrap();
    assert_eq!(first.map(|r| r.flow_runs), Some(1));
    assert_eq!(store.prune_if_due(retention).await.unwrap(), None);
    let always = Retention::keep(DAY).every(Duration::ZERO);
    assert!(store.prune_if_due(always).await.unwrap().is_some());
}

/// Durations no clock reaches back to are not errors and never panic: no
/// run ended that long ago, so nothing is pruned; such a lease never expires.
pub(super) async fn absurd_durations_prune_nothing(store: &dyn Store) {
    let mut events = Events::starting_ago(10 * DAY);
    let old = events.flow_run("etl", "old");
    events.lifecycle(old, StateType::Completed);
    write(store, &mut events).await;
    let years_300_000 = Duration::from_secs(300_000 * 31_557_600);
    for age in [years_300_000, Duration::MAX] {
        assert_eq!(store.prune(age).await.unwrap(), PruneReport::default(), "{age:?}");
    }
    let forever = Retention::keep(Duration::MAX).every(Duration::MAX);
    assert_eq!(store.prune_if_due(forever).await.unwrap(), Some(PruneReport::default()));
    assert_eq!(store.prune_if_due(forever).await.unwrap(), None);
    assert!(store.inspect_flow_run(old, 0).await.is_ok(), "the old run is kept");
    let lease = store.acquire_lease(&LeaseOwner::current(), Duration::MAX).await.unwrap();
    assert!(lease.expires > chrono::Utc::now() + chrono::TimeDelta::days(365 * 1000));
    assert!(store.renew_lease(&lease, years_300_000).await.unwrap());
}

pub(super) async fn deletes_one_flow_run_with_what_belongs_to_it(store: &dyn Store) {
    let mut events = Events::starting_now();
    let gone = events.flow_run("etl", "gone");
    events.lifecycle(gone, StateType::Failed);
    let fetch = events.task_run(Some(gone), "fetch");
    events.lifecycle(fetch, StateType::Completed);
    let parse = events.task_run(Some(gone), "parse");
    events.dependency(parse, fetch, DependencyKind::WaitFor);
    events.log(Some(gone), Some(fetch), LogLevel::Info, "fetched");
    let kept = events.flow_run("etl", "kept");
    events.lifecycle(kept, StateType::Completed);
    let running = events.flow_run("etl", "busy");
    events.state(running, StateType::Running);
    write(store, &mut events).await;

    let report = store.delete_flow_run(gone).await.unwrap().expect("it was there");
    assert_eq!((report.flow_runs, report.task_runs, report.logs, report.dependencies), (1, 2, 1, 1));
    assert!(store.inspect_flow_run(gone, 0).await.unwrap_err().is_not_found());
    assert!(store.inspect_task_run(fetch).await.unwrap_err().is_not_found());
    assert!(store.inspect_flow_run(kept, 0).await.is_ok());
    assert_eq!(store.delete_flow_run(gone).await.unwrap(), None);
    // The control rule: a run still going is not deleted.
    let refused = crate::control::delete_flow_run(store, running).await.unwrap_err();
    assert!(matches!(refused, crate::Error::WrongState { .. }), "{refused:?}");
    assert!(crate::control::delete_flow_run(store, kept).await.is_ok());
}
