//! What the server's test files share: a deployment and a queued run.
#![allow(dead_code)] // each test file uses part of it

use chrono::{TimeDelta, Utc};
use prefect_model::FlowRunId;
use prefect_store::{AnyStore, DeploymentId, DeploymentSpec, NewFlowRun};
use serde_json::json;

/// `etl/daily` on queue `default`, no parameters, no schema.
pub(crate) fn daily() -> DeploymentSpec {
    DeploymentSpec {
        flow_name: "etl".into(),
        name: "daily".into(),
        description: None,
        version: None,
        tags: vec![],
        work_queue: "default".into(),
        labels: vec![],
        parameters: json!({}),
        parameter_schema: None,
        schedules: json!([]),
        catchup: "skip".into(),
        paused: false,
    }
}

/// Creates run `name` of `deployment`, due `due_in` from now; returns it.
pub(crate) async fn queue_run(
    store: &AnyStore,
    deployment: DeploymentId,
    name: &str,
    due_in: TimeDelta,
) -> NewFlowRun {
    let run = NewFlowRun {
        id: FlowRunId::new(),
        deployment,
        name: name.into(),
        parameters: json!({}),
        scheduled: Utc::now() + due_in,
        auto_scheduled: false,
        parent_flow_run_id: None,
        created: Utc::now(),
    };
    store.create_flow_runs(std::slice::from_ref(&run)).await.unwrap();
    run
}
