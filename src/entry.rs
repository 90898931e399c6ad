//! The facade's entry points: the same as prefect-core's, after making sure
//! the default recorder (the run database) is registered.

use std::future::Future;

use prefect_core::{BoxError, Error, Flow, FlowCall, Task, TaskCall};

use crate::recording::ensure_default;

/// A call of `task` whose body is the closure `body` (see
/// [`prefect_core::task_call`]).
pub fn task_call<F, Fut, T, E>(task: Task, body: F) -> TaskCall<T>
where
    F: FnMut() -> Fut + Send + 'static,
    Fut: Future<Output = Result<T, E>> + Send + 'static,
    E: Into<BoxError>,
    T: Send + 'static,
{
    ensure_default();
    prefect_core::task_call(task, body)
}

/// A call of `flow` whose body is the closure `body` (see
/// [`prefect_core::flow_call`]).
pub fn flow_call<F, Fut, T, E>(flow: Flow, parameters: serde_json::Value, body: F) -> FlowCall<T>
where
    F: FnMut() -> Fut + Send + 'static,
    Fut: Future<Output = Result<T, E>> + Send + 'static,
    E: Into<BoxError>,
    T: Send + 'static,
{
    ensure_default();
    prefect_core::flow_call(flow, parameters, body)
}

/// Runs `body` as a task run of `task` (see [`prefect_core::run_task`]).
///
/// # Errors
/// The run's failure as [`Error::Run`].
pub async fn run_task<F, Fut, T, E>(task: &Task, body: F) -> Result<T, Error>
where
    F: FnMut() -> Fut + Send + 'static,
    Fut: Future<Output = Result<T, E>> + Send + 'static,
    E: Into<BoxError>,
    T: Send + 'static,
{
    ensure_default();
    prefect_core::run_task(task, body).await
}
