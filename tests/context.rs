//! The run context and tag scopes.

use prefect::prelude::*;
use prefect::testing;

#[task(tags = ["db"])]
async fn inside_task() -> (prefect::context::TaskRunContext, Option<prefect::FlowRunId>) {
    let task = prefect::context::task_run().unwrap();
    let flow = prefect::context::flow_run().ok().map(|f| f.id());
    (task, flow)
}

#[task]
async fn outer_task() -> Result<prefect::TaskRunId, prefect::Error> {
    let (nested, _) = inside_task().await?;
    assert_eq!(nested.parent_task_run_id(), Some(prefect::context::task_run()?.id()));
    Ok(nested.id())
}

#[flow(flow_run_name = "ctx-{n}")]
async fn with_context(n: u32) -> Result<u32, prefect::Error> {
    let flow = prefect::context::flow_run()?;
    assert_eq!(flow.name(), format!("ctx-{n}"));
    assert_eq!(flow.flow_name(), "with-context");
    assert_eq!(flow.parameters()["n"], n);
    assert_eq!(flow.run_count(), 1);
    assert!(prefect::context::task_run().is_err(), "a flow body is not a task run");
    let (task, task_flow) = inside_task().await?;
    assert_eq!(task_flow, Some(flow.id()));
    assert_eq!(task.flow_run_id(), Some(flow.id()));
    assert_eq!(task.task_name(), "inside_task");
    assert_eq!(task.run_count(), 1);
    assert!(task.start_time() >= flow.start_time());
    outer_task().await?;
    Ok(n)
}

#[tokio::test]
async fn context_gives_the_current_runs() {
    let h = testing::harness();
    h.run(with_context(9)).await.unwrap();
    let nested = h.task_runs().into_iter().filter(|t| t.task_name == "inside_task").count();
    assert_eq!(nested, 2);
}

#[tokio::test]
async fn outside_a_run_the_context_is_a_typed_error() {
    let h = prefect::testing::harness();
    h.run(async {
        let err = prefect::context::flow_run().unwrap_err();
        assert!(matches!(err, prefect::Error::MissingContext { .. }));
        assert!(err.to_string().contains("#[flow]"), "{err}");
        assert!(prefect::context::task_run().unwrap_err().to_string().contains("#[task]"));
    })
    .await;
}

#[flow]
async fn tagged_child() -> Result<Vec<String>, prefect::Error> {
    Ok(inside_task().await?.0.tags().to_vec())
}

#[flow]
async fn tagged_parent() -> Result<Vec<String>, prefect::Error> {
    prefect::tags(["inner"], tagged_child()).await
}

#[tokio::test]
async fn tag_scopes_add_tags_to_every_run_inside_subflows_included() {
    let h = testing::harness();
    let task_tags = h.run(prefect::tags(["nightly"], tagged_parent())).await.unwrap();
    assert_eq!(task_tags, ["db", "nightly", "inner"]);
    let flows = h.flow_runs();
    assert_eq!(&*flows[0].tags, ["nightly"]);
    assert_eq!(&*flows[1].tags, ["nightly", "inner"]);
}
