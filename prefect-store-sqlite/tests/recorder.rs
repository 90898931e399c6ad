//! The recorder end to end: events in through `Recorder`, flushed, then
//! queried through a separate `SqliteStore`.

use std::sync::Arc;
use std::time::Duration;

use futures::executor::block_on;
use prefect_model::StateType;
use prefect_model::{LogLevel, Recorder};
use prefect_store::conformance::Events;
use prefect_store::prelude::*;
use prefect_store::{FlowRunFilter, LogFilter, Retention, TaskRunFilter};
use prefect_store_sqlite::{SqliteRecorder, SqliteStore};

fn record_all(recorder: &SqliteRecorder, events: &mut Events) {
    for event in events.take() {
        recorder.record(event);
    }
}

/// A flow run with `tasks` completed task runs and a log line each.
fn flow_with_tasks(events: &mut Events, flow: &str, tasks: usize) -> prefect_model::FlowRunId {
    let run = events.flow_run(flow, "a");
    events.state(run, StateType::Pending);
    events.state(run, StateType::Running);
    for _ in 0..tasks {
        let task = events.task_run(Some(run), "work");
        events.lifecycle(task, StateType::Completed);
        events.log(Some(run), Some(task), LogLevel::Info, "done");
    }
    events.state(run, StateType::Completed);
    run
}

#[test]
fn recorded_events_are_queryable_after_flush() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("runs.db");
    let recorder = SqliteRecorder::open(&path).unwrap();
    let mut events = Events::starting_now();
    let run = flow_with_tasks(&mut events, "etl", 50);
    record_all(&recorder, &mut events);
    block_on(recorder.flush());

    let store = SqliteStore::open(&path).unwrap();
    let detail = block_on(store.inspect_flow_run(run, 1000)).unwrap();
    assert_eq!(detail.run.state.unwrap().state_type, StateType::Completed);
    assert_eq!(detail.task_run_count, 50);
    assert_eq!(detail.task_run_states, [(StateType::Completed, 50)]);
    assert_eq!(block_on(store.logs(&LogFilter::of(run).limit(1000))).unwrap().len(), 50);
    assert_eq!(recorder.stored_count(), 1 + 3 + 50 * 5);
    assert_eq!(recorder.error_count(), 0);
}

#[test]
fn dropping_the_recorder_flushes_and_crashes_unfinished_runs() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("runs.db");
    let recorder = SqliteRecorder::builder().max_delay(Duration::from_secs(10)).open(&path).unwrap();
    let mut events = Events::starting_now();
    let done = flow_with_tasks(&mut events, "etl", 3);
    let unfinished = events.flow_run("etl", "b");
    events.state(unfinished, StateType::Running);
    record_all(&recorder, &mut events);
    drop(recorder);

    let store = SqliteStore::open(&path).unwrap();
    let done = block_on(store.inspect_flow_run(done, 10)).unwrap();
    assert_eq!(done.run.state.unwrap().state_type, StateType::Completed);
    let state = block_on(store.inspect_flow_run(unfinished, 10)).unwrap().run.state.unwrap();
    assert_eq!(state.state_type, StateType::Crashed);
    assert!(state.message.unwrap().contains("recorder was closed"));
}

#[test]
fn memory_store_shares_its_connection_with_the_recorder() {
    let store = SqliteStore::open_in_memory().unwrap();
    let recorder = SqliteRecorder::builder().build(&store).unwrap();
    let mut events = Events::starting_now();
    let run = flow_with_tasks(&mut events, "etl", 2);
    record_all(&recorder, &mut events);
    recorder.flush_blocking();
    let tasks = block_on(store.list_task_runs(&TaskRunFilter::of_flow_run(run))).unwrap();
    assert_eq!(tasks.len(), 2);
}

#[test]
fn two_recorders_on_one_file_from_two_threads() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shared.db");
    SqliteStore::open(&path).unwrap();
    let writers: Vec<_> = (0..2)
        .map(|i| {
            let path = path.clone();
            std::thread::spawn(move || {
                let recorder = SqliteRecorder::builder().max_batch(50).open(&path).unwrap();
                let mut events = Events::starting_now();
                for _ in 0..20 {
                    flow_with_tasks(&mut events, &format!("flow-{i}"), 50);
                    record_all(&recorder, &mut events);
                }
                recorder.flush_blocking();
                (recorder.error_count(), recorder.lost_count())
            })
        })
        .collect();
    for writer in writers {
        assert_eq!(writer.join().unwrap(), (0, 0), "a recorder failed to store events");
    }
    let store = SqliteStore::open(&path).unwrap();
    let runs = block_on(store.list_flow_runs(&FlowRunFilter::new().limit(100))).unwrap();
    assert_eq!(runs.len(), 40);
    assert!(runs.iter().all(|r| r.state.as_ref().unwrap().state_type == StateType::Completed));
    let detail = block_on(store.inspect_flow_run(runs[0].id, 0)).unwrap();
    assert_eq!(detail.task_run_count, 50);
    assert!(store.integrity_check().unwrap().is_empty());
}

#[test]
fn a_locked_database_costs_a_counted_batch_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("locked.db");
    let recorder =
        SqliteRecorder::builder().busy_timeout(Duration::from_millis(20)).attempts(2).open(&path).unwrap();
    recorder.flush_blocking();
    let blocker = rusqlite::Connection::open(&path).unwrap();
    blocker.execute_batch("BEGIN IMMEDIATE").unwrap();

    let mut events = Events::starting_now();
    flow_with_tasks(&mut events, "etl", 1);
    record_all(&recorder, &mut events);
    recorder.flush_blocking();
    assert_eq!(recorder.error_count(), 1);
    assert_eq!(recorder.lost_count(), 1 + 3 + 5);

    blocker.execute_batch("ROLLBACK").unwrap();
    let run = flow_with_tasks(&mut events, "etl", 1);
    record_all(&recorder, &mut events);
    recorder.flush_blocking();
    assert_eq!(recorder.error_count(), 1);
    let store = SqliteStore::open(&path).unwrap();
    assert!(block_on(store.inspect_flow_run(run, 0)).is_ok());
}

#[test]
fn retention_prunes_when_the_recorder_starts() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.db");
    let store = SqliteStore::open(&path).unwrap();
    let mut events = Events::starting_ago(Duration::from_secs(40 * 24 * 3600));
    let old = flow_with_tasks(&mut events, "etl", 3);
    block_on(store.write_events(None, &events.take())).unwrap();

    let retention = Retention::keep(Duration::from_secs(30 * 24 * 3600));
    let recorder = SqliteRecorder::builder().retention(retention).open(&path).unwrap();
    // The writer's first round prunes; closing waits for that round.
    recorder.close();
    assert!(block_on(store.inspect_flow_run(old, 0)).unwrap_err().is_not_found());
}

#[tokio::test]
async fn engine_runs_are_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("engine.db");
    let recorder = Arc::new(SqliteRecorder::open(&path).unwrap());
    let flow =
        prefect_core::flow_call(prefect_core::Flow::new("etl"), serde_json::json!({ "n": 21 }), || async {
            let task = prefect_core::Task::new("double");
            prefect_core::run_task(&task, || async { Ok::<_, std::io::Error>(21 * 2) }).await
        });
    let value = prefect_core::testing::with_recorder(recorder.clone(), flow).await.unwrap();
    assert_eq!(value, 42);
    recorder.flush().await;

    let store = SqliteStore::open(&path).unwrap();
    let run = store.list_flow_runs(&FlowRunFilter::new().flow("etl")).await.unwrap().remove(0);
    assert_eq!(run.state.unwrap().state_type, StateType::Completed);
    let detail = store.inspect_flow_run(run.id, 10).await.unwrap();
    assert_eq!(detail.parameters["n"], 21);
    assert_eq!(detail.task_runs.len(), 1);
    assert_eq!(detail.task_runs[0].task_name, "double");
    let task = store.inspect_task_run(detail.task_runs[0].id).await.unwrap();
    let names: Vec<&str> = task.states.iter().map(|s| &*s.name).collect();
    assert_eq!(names.last(), Some(&"Completed"));
    assert!(names.contains(&"Running"));
}

#[test]
fn the_queue_never_holds_more_than_its_high_water_mark_and_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bounded.db");
    let recorder = SqliteRecorder::builder().max_batch(20).high_water(50).open(&path).unwrap();
    let mut events = Events::starting_now();
    let run = flow_with_tasks(&mut events, "burst", 400);
    let burst = events.take();
    let count = burst.len() as u64;
    for event in burst {
        recorder.record(event);
    }
    recorder.flush_blocking();
    assert!(recorder.queue_peak() <= 50, "peak {}", recorder.queue_peak());
    assert_eq!((recorder.stored_count(), recorder.lost_count()), (count, 0));
    let store = SqliteStore::open(&path).unwrap();
    assert_eq!(block_on(store.inspect_flow_run(run, 0)).unwrap().task_run_count, 400);
}

#[test]
fn a_flush_while_another_connection_writes_is_stored_by_the_writer() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("busy.db");
    let recorder = Arc::new(SqliteRecorder::open(&path).unwrap());
    let blocker = rusqlite::Connection::open(&path).unwrap();
    blocker.execute_batch("BEGIN IMMEDIATE").unwrap();
    let mut events = Events::starting_now();
    let run = flow_with_tasks(&mut events, "etl", 2);
    record_all(&recorder, &mut events);
    // The flush tries to commit on this thread at once, finds the lock
    // taken, and leaves the batch to the writer thread, which waits.
    let mut flushed = recorder.flush();
    assert!(futures::FutureExt::now_or_never(&mut flushed).is_none(), "stored while locked");
    blocker.execute_batch("ROLLBACK").unwrap();
    block_on(flushed);
    assert_eq!((recorder.error_count(), recorder.lost_count()), (0, 0));
    let store = SqliteStore::open(&path).unwrap();
    assert_eq!(block_on(store.inspect_flow_run(run, 0)).unwrap().task_run_count, 2);
}
