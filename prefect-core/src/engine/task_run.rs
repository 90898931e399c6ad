//! Creating and driving one task run.

use std::sync::Arc;

use chrono::Utc;
use tracing::Instrument;

use super::attempts::Attempts;
use super::names;
use super::run_loop::RunLoop;
use crate::context::{Scope, TaskRunContext};
use crate::hooks::RunContext;
use crate::ids::TaskRunId;
use crate::logging;
use crate::options::Task;
use crate::record::{Event, TaskRunRecord};
use crate::state::{State, StateMeta, StateType};

/// Runs `task` to a final state in the current scope.
pub(crate) async fn run<T>(
    task: &Task,
    attempts: &mut dyn Attempts<T>,
    run_name: Option<String>,
) -> State<T> {
    logging::ensure_init();
    if let Err(error) = task.opts.validate() {
        return State::failed_with(error);
    }
    let scope = Scope::current();
    let record = Arc::new(TaskRunRecord {
        id: TaskRunId::new(),
        name: run_name
            .or_else(|| task.opts.run_name.as_ref().map(|f| f()))
            .unwrap_or_else(|| names::task_run_name(&task.opts.name)),
        task_name: task.opts.name.clone(),
        flow_run_id: scope.flow.as_ref().map(|f| f.id()),
        parent_task_run_id: scope.task.as_ref().map(|t| t.id()),
        tags: scope.merged_tags(&task.opts.tags),
        map_index: None,
        subflow_run_id: None,
        created: Utc::now(),
    });
    scope.recorder.record(Event::TaskRunCreated(record.clone()));
    let context = TaskRunContext::new(record);
    let span = tracing::info_span!(target: "prefect", "task_run", id = %context.id(), name = %context.name());
    let mut run_loop =
        RunLoop::new(RunContext::Task(context.clone()), task.opts.clone(), scope.recorder.clone());
    run_loop.set_state(StateMeta::new(StateType::Pending));
    let child = Scope { task: Some(context), ..scope };
    child.enter(async move { run_loop.drive(attempts).await }).instrument(span).await
}
