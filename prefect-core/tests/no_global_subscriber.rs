//! prefect-core never installs a `tracing` subscriber behind the program's
//! back: running tasks and flows leaves the global dispatcher unset (the
//! `prefect` facade's defaults, not the engine, add console output).

use prefect_core::{Flow, Task, flow_call, task_call};

#[tokio::test]
async fn running_leaves_the_global_subscriber_unset() {
    let harness = prefect_core::testing::harness();
    let flow = flow_call(Flow::new("quiet"), serde_json::json!({}), || async {
        tracing::info!("inside");
        task_call(Task::new("inner"), || async { Ok::<_, std::io::Error>(1) }).await
    });
    assert_eq!(harness.run(flow).await.unwrap(), 1);
    assert!(!tracing::dispatcher::has_been_set(), "the engine installed a global subscriber");
}
