//! Checks of leases and crash detection.

use std::time::Duration;

use prefect_model::{RunId, StateType};

use super::Events;
use crate::lease::{LeaseId, LeaseOwner};
use crate::{Store, TaskRunFilter};

const HOUR: Duration = Duration::from_secs(3600);

/// An owner that cannot be alive: a pid above any kernel's limit, on this
/// machine.
fn dead_owner() -> LeaseOwner {
    LeaseOwner { pid: 0x7fff_fff0, ..LeaseOwner::current() }
}

fn elsewhere() -> LeaseOwner {
    LeaseOwner { host: "another-machine".into(), boot_id: Some("other-boot".into()), ..LeaseOwner::current() }
}

async fn write_as(store: &dyn Store, lease: Option<LeaseId>, events: &mut Events) {
    store.write_events(lease, &events.take()).await.unwrap();
}

async fn current_type(store: &dyn Store, run: RunId) -> Option<StateType> {
    match run {
        RunId::Flow(id) => store.inspect_flow_run(id, 0).await.unwrap().run.state.map(|s| s.state_type),
        RunId::Task(id) => store.inspect_task_run(id).await.unwrap().run.state.map(|s| s.state_type),
    }
}

pub(super) async fn crashes_runs_of_dead_processes(store: &dyn Store) {
    let lease = store.acquire_lease(&dead_owner(), Duration::ZERO).await.unwrap();
    let mut events = Events::starting_now();
    let run = events.flow_run("etl", "doomed");
    events.state(run, StateType::Running);
    let running = events.task_run(Some(run), "fetch");
    events.state(running, StateType::Running);
    let done = events.task_run(Some(run), "setup");
    events.lifecycle(done, StateType::Completed);
    write_as(store, Some(lease.id), &mut events).await;
    let unowned = events.flow_run("etl", "unowned");
    events.state(unowned, StateType::Running);
    write_as(store, None, &mut events).await;

    let mut crashed = store.mark_crashed_stale_runs().await.unwrap();
    crashed.sort_by_key(|r| r.uuid());
    assert_eq!(crashed, [RunId::Flow(run), RunId::Task(running)]);
    let detail = store.inspect_flow_run(run, 10).await.unwrap();
    let last = detail.states.last().unwrap();
    assert_eq!(last.state_type, StateType::Crashed);
    assert!(last.message.as_deref().unwrap_or("").contains("pid"), "{last:?}");
    assert_eq!(detail.run.state.as_ref(), Some(last));
    assert!(detail.run.end_time.is_some());
    assert_eq!(current_type(store, running.into()).await, Some(StateType::Crashed));
    assert_eq!(current_type(store, done.into()).await, Some(StateType::Completed));
    assert_eq!(current_type(store, unowned.into()).await, Some(StateType::Running));
    assert!(store.mark_crashed_stale_runs().await.unwrap().is_empty());
}

pub(super) async fn keeps_runs_of_live_processes(store: &dyn Store) {
    let here = store.acquire_lease(&LeaseOwner::current(), HOUR).await.unwrap();
    let remote = store.acquire_lease(&elsewhere(), HOUR).await.unwrap();
    let lapsed = store.acquire_lease(&elsewhere(), Duration::ZERO).await.unwrap();
    let mut events = Events::starting_now();
    let mine = events.flow_run("etl", "mine");
    events.state(mine, StateType::Running);
    write_as(store, Some(here.id), &mut events).await;
    let theirs = events.flow_run("etl", "theirs");
    events.state(theirs, StateType::Running);
    write_as(store, Some(remote.id), &mut events).await;
    let silent = events.flow_run("etl", "silent");
    events.state(silent, StateType::Pending);
    write_as(store, Some(lapsed.id), &mut events).await;

    let crashed = store.mark_crashed_stale_runs().await.unwrap();
    assert_eq!(crashed, [RunId::Flow(silent)]);
    assert_eq!(current_type(store, mine.into()).await, Some(StateType::Running));
    assert_eq!(current_type(store, theirs.into()).await, Some(StateType::Running));
}

pub(super) async fn release_crashes_unfinished_runs(store: &dyn Store) {
    let lease = store.acquire_lease(&LeaseOwner::current(), HOUR).await.unwrap();
    let mut events = Events::starting_now();
    let run = events.flow_run("etl", "a");
    events.state(run, StateType::Running);
    let task = events.task_run(Some(run), "fetch");
    events.lifecycle(task, StateType::Completed);
    write_as(store, Some(lease.id), &mut events).await;

    let crashed = store.release_lease(lease.id).await.unwrap();
    assert_eq!(crashed, [RunId::Flow(run)]);
    let state = store.inspect_flow_run(run, 0).await.unwrap().run.state.unwrap();
    assert_eq!(state.state_type, StateType::Crashed);
    assert!(state.message.unwrap_or_default().contains("closed"));
    let tasks = store.list_task_runs(&TaskRunFilter::of_flow_run(run)).await.unwrap();
    assert_eq!(tasks[0].state.as_ref().map(|s| s.state_type), Some(StateType::Completed));
    assert!(!store.renew_lease(&lease, HOUR).await.unwrap());
}

pub(super) async fn renewal_restores_a_lost_lease(store: &dyn Store) {
    let lease = store.acquire_lease(&elsewhere(), Duration::ZERO).await.unwrap();
    let mut events = Events::starting_now();
    let run = events.flow_run("etl", "paused-laptop");
    events.state(run, StateType::Running);
    write_as(store, Some(lease.id), &mut events).await;
    assert!(store.renew_lease(&lease, Duration::ZERO).await.unwrap());
    assert_eq!(store.mark_crashed_stale_runs().await.unwrap(), [RunId::Flow(run)]);

    // The holder was alive after all: renewing takes the lease back, and
    // the run it goes on recording is owned again.
    assert!(!store.renew_lease(&lease, HOUR).await.unwrap());
    assert!(store.renew_lease(&lease, HOUR).await.unwrap());
    events.state(run, StateType::Running);
    write_as(store, Some(lease.id), &mut events).await;
    assert!(store.mark_crashed_stale_runs().await.unwrap().is_empty());
    assert_eq!(current_type(store, run.into()).await, Some(StateType::Running));
    let fresh = store.acquire_lease(&LeaseOwner::current(), HOUR).await.unwrap();
    assert_ne!(fresh.id, lease.id);
}
