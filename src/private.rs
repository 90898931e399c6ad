//! Glue for the code `#[task]` and `#[flow]` generate: prefect-core's,
//! with the default recorder registered on the way. Not a stable API.

pub use prefect_core::__private::*;
use prefect_core::{Error, Flow, FlowCall, Task, TaskCall};

use crate::recording::ensure_default;

/// See [`prefect_core::__private::task_call`].
pub fn task_call<A: Send + 'static, T: Send + 'static>(
    task: &'static Task,
    args: A,
    cloner: Option<fn(&A) -> A>,
    run_name: Option<String>,
    body: fn(A) -> BoxFuture<Outcome<T>>,
) -> TaskCall<T> {
    ensure_default();
    prefect_core::__private::task_call(task, args, cloner, run_name, body)
}

/// See [`prefect_core::__private::task_call_blocking`].
pub fn task_call_blocking<A: Send + 'static, T: Send + 'static>(
    task: &'static Task,
    args: A,
    cloner: Option<fn(&A) -> A>,
    run_name: Option<String>,
    body: fn(A) -> Outcome<T>,
) -> TaskCall<T> {
    ensure_default();
    prefect_core::__private::task_call_blocking(task, args, cloner, run_name, body)
}

/// See [`prefect_core::__private::task_call_inputs`].
pub fn task_call_inputs<A: Send + 'static, T: Send + 'static>(
    task: &'static Task,
    upstream: Edges,
    resolve: impl FnOnce() -> Result<A, Error> + Send + 'static,
    cloner: Option<fn(&A) -> A>,
    run_name: Option<String>,
    body: fn(A) -> BoxFuture<Outcome<T>>,
) -> TaskCall<T> {
    ensure_default();
    prefect_core::__private::task_call_inputs(task, upstream, resolve, cloner, run_name, body)
}

/// See [`prefect_core::__private::task_call_blocking_inputs`].
pub fn task_call_blocking_inputs<A: Send + 'static, T: Send + 'static>(
    task: &'static Task,
    upstream: Edges,
    resolve: impl FnOnce() -> Result<A, Error> + Send + 'static,
    cloner: Option<fn(&A) -> A>,
    run_name: Option<String>,
    body: fn(A) -> Outcome<T>,
) -> TaskCall<T> {
    ensure_default();
    prefect_core::__private::task_call_blocking_inputs(task, upstream, resolve, cloner, run_name, body)
}

/// See [`prefect_core::__private::flow_call`].
pub fn flow_call<A: Send + 'static, T: Send + 'static>(
    flow: &'static Flow,
    parameters: serde_json::Value,
    args: A,
    cloner: Option<fn(&A) -> A>,
    run_name: Option<String>,
    body: fn(A) -> BoxFuture<Outcome<T>>,
) -> FlowCall<T> {
    ensure_default();
    prefect_core::__private::flow_call(flow, parameters, args, cloner, run_name, body)
}

/// See [`prefect_core::__private::flow_call_blocking`].
pub fn flow_call_blocking<A: Send + 'static, T: Send + 'static>(
    flow: &'static Flow,
    parameters: serde_json::Value,
    args: A,
    cloner: Option<fn(&A) -> A>,
    run_name: Option<String>,
    body: fn(A) -> Outcome<T>,
) -> FlowCall<T> {
    ensure_default();
    prefect_core::__private::flow_call_blocking(flow, parameters, args, cloner, run_name, body)
}
