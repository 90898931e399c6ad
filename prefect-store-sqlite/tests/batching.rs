//! Writing events in one batch stores the same as writing them one
//! transaction each (the writer coalesces the states of runs it creates).

use chrono::Utc;
use futures::executor::block_on;
use prefect_model::{Event, StateChange};
use prefect_model::{StateMeta, StateType};
use prefect_store::TaskRunFilter;
use prefect_store::conformance::Events;
use prefect_store::prelude::*;
use prefect_store_sqlite::SqliteStore;

/// Runs that exercise the edge cases: states in the same microsecond, a
/// restart after a final state, a run created twice, a state before its
/// run's creation, named states with messages.
fn events() -> (Vec<Event>, Vec<Event>, Vec<prefect_model::TaskRunId>, prefect_model::FlowRunId) {
    let mut events = Events::starting_at(Utc::now());
    let flow = events.flow_run("etl", "a");
    events.state(flow, StateType::Pending);
    events.state(flow, StateType::Running);
    let first = events.take();

    let mut tasks = Vec::new();
    // A plain lifecycle.
    let t = events.task_run(Some(flow), "fetch");
    events.lifecycle(t, StateType::Completed);
    tasks.push(t);
    // Every state at the same instant, and a retry after failing.
    let t = events.task_run(Some(flow), "same-time");
    let at = events.now();
    let states = [StateType::Pending, StateType::Running, StateType::Failed, StateType::Running];
    for (i, state_type) in states.into_iter().enumerate() {
        let state = StateMeta { timestamp: at, ..StateMeta::new(state_type) };
        events.push(Event::StateChanged(StateChange { run: t.into(), state, run_count: i as u32 / 2 }));
    }
    let state = StateMeta {
        timestamp: at,
        name: "Retried".into(),
        message: Some("second try".into()),
        ..StateMeta::new(StateType::Completed)
    };
    events.push(Event::StateChanged(StateChange { run: t.into(), state, run_count: 2 }));
    tasks.push(t);
    // Created twice: the second creation is ignored.
    let batch = events.take();
    let t = events.task_run(Some(flow), "twice");
    let created = events.take();
    let mut all = batch;
    all.extend(created.iter().cloned());
    events.state(t, StateType::Pending);
    all.extend(events.take());
    all.extend(created);
    events.lifecycle(t, StateType::Completed);
    all.extend(events.take());
    tasks.push(t);
    // A state before the run is created is dropped.
    let t = events.task_run(Some(flow), "late");
    let mut created = events.take();
    events.state(t, StateType::Pending);
    all.extend(events.take());
    all.append(&mut created);
    events.state(t, StateType::Running);
    tasks.push(t);
    // Running again after a final state: open again.
    let t = events.task_run(Some(flow), "restarted");
    events.lifecycle(t, StateType::Failed);
    events.state(t, StateType::Running);
    tasks.push(t);
    events.state(flow, StateType::Completed);
    all.extend(events.take());
    (first, all, tasks, flow)
}

/// The same queries on both stores return the same.
async fn assert_same(
    batched: &SqliteStore,
    single: &SqliteStore,
    flow: prefect_model::FlowRunId,
    tasks: &[prefect_model::TaskRunId],
) {
    assert_eq!(
        batched.inspect_flow_run(flow, 100).await.unwrap(),
        single.inspect_flow_run(flow, 100).await.unwrap()
    );
    let filter = TaskRunFilter::of_flow_run(flow);
    assert_eq!(batched.list_task_runs(&filter).await.unwrap(), single.list_task_runs(&filter).await.unwrap());
    for &task in tasks {
        let detail = batched.inspect_task_run(task).await.unwrap();
        assert_eq!(detail, single.inspect_task_run(task).await.unwrap());
        let times: Vec<_> = detail.states.iter().map(|s| s.timestamp).collect();
        assert!(times.windows(2).all(|w| w[0] < w[1]), "{times:?}");
    }
}

#[test]
fn one_batch_stores_the_same_as_one_event_at_a_time() {
    let (first, rest, tasks, flow) = events();
    let batched = SqliteStore::open_in_memory().unwrap();
    let single = SqliteStore::open_in_memory().unwrap();
    block_on(async {
        batched.write_events(None, &first).await.unwrap();
        for event in &first {
            single.write_events(None, std::slice::from_ref(event)).await.unwrap();
        }
        // Then again: every run exists now, creations are ignored.
        for _ in 0..2 {
            batched.write_events(None, &rest).await.unwrap();
            for event in &rest {
                single.write_events(None, std::slice::from_ref(event)).await.unwrap();
            }
            assert_same(&batched, &single, flow, &tasks).await;
        }
    });
}
