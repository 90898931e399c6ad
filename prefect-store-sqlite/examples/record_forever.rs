//! Records one endless flow run into a SQLite run database, task run after
//! task run, until the process is killed.
//!
//! ```sh
//! cargo run -p prefect-store --example record_forever -- /tmp/runs.db
//! # in another terminal, after a moment: kill -9 <pid>
//! ```
//!
//! The next program to open the file finds it consistent, with the
//! interrupted flow run and task run marked Crashed.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use prefect_model::{Event, FlowRunRecord, Recorder, StateChange, TaskRunRecord};
use prefect_model::{FlowRunId, RunId, StateMeta, StateType, TaskRunId};
use prefect_store_sqlite::SqliteRecorder;

fn state(recorder: &SqliteRecorder, run: RunId, state_type: StateType) {
    let state = StateMeta::new(state_type);
    recorder.record(Event::StateChanged(StateChange { run, state, run_count: 1 }));
}

fn flow_run(recorder: &SqliteRecorder) -> FlowRunId {
    let id = FlowRunId::new();
    recorder.record(Event::FlowRunCreated(Arc::new(FlowRunRecord {
        id,
        name: "endless-otter".into(),
        flow_name: "record-forever".into(),
        flow_version: None,
        parameters: serde_json::json!({}),
        tags: Arc::from([]),
        parent_flow_run_id: None,
        parent_task_run_id: None,
        created: Utc::now(),
    })));
    state(recorder, id.into(), StateType::Pending);
    state(recorder, id.into(), StateType::Running);
    id
}

fn task_run(recorder: &SqliteRecorder, flow_run: FlowRunId, index: u32) -> TaskRunId {
    let id = TaskRunId::new();
    recorder.record(Event::TaskRunCreated(Arc::new(TaskRunRecord {
        id,
        name: format!("work-{index}"),
        task_name: "work".into(),
        flow_run_id: Some(flow_run),
        parent_task_run_id: None,
        tags: Arc::from([]),
        map_index: Some(index),
        subflow_run_id: None,
        created: Utc::now(),
    })));
    state(recorder, id.into(), StateType::Pending);
    state(recorder, id.into(), StateType::Running);
    id
}

fn main() -> Result<(), prefect_store::Error> {
    let path = std::env::args().nth(1).unwrap_or_else(|| "record_forever.db".to_owned());
    let recorder = SqliteRecorder::open(&path)?;
    let flow_run = flow_run(&recorder);
    println!("recording flow run {flow_run} into {path} (pid {})", std::process::id());
    for index in 0.. {
        let task = task_run(&recorder, flow_run, index);
        std::thread::sleep(Duration::from_micros(200));
        state(&recorder, task.into(), StateType::Completed);
    }
    Ok(())
}
