//! The parts of a generated call, by name, and the two functions that
//! turn them into calls.

use std::future::Future;

use futures::future::BoxFuture;

use crate::call::{CacheRef, FlowCall, TaskCall};
use crate::engine::attempts::{Args, BodyFn};
use crate::engine::outcome::Outcome;
use crate::error::Error;
use crate::futures::{Input, Upstream};
use crate::options::{Descriptor, Flow, Task};
use crate::record::DependencyKind;
use crate::results::glue::CacheSource;

/// Dependency edges of a call's inputs (from `Input::edges`).
pub type Edges = Vec<(Upstream, DependencyKind)>;

/// The body the engine calls once per attempt with the packed arguments.
#[derive(Debug)]
pub enum Body<A, T> {
    /// An `async fn` body, boxed by [`boxed`].
    Async(fn(A) -> BoxFuture<'static, Outcome<T>>),
    /// A sync `fn` body, run on the blocking pool.
    Blocking(fn(A) -> Outcome<T>),
}

impl<A, T> Body<A, T> {
    fn into_fn(self) -> BodyFn<A, T> {
        match self {
            Body::Async(body) => BodyFn::Async(body),
            Body::Blocking(body) => BodyFn::Blocking(body),
        }
    }
}

/// A `#[task]` call: its descriptor, arguments and body.
#[derive(Debug)]
pub struct TaskParts<A, T: 'static, R> {
    /// The task's descriptor.
    pub task: &'static Task,
    /// The runs its arguments come from.
    pub upstream: Edges,
    /// Builds the arguments once the upstream runs have ended.
    pub resolve: R,
    /// Clones the arguments for a retry, when they are `Clone`.
    pub cloner: Option<fn(&A) -> A>,
    /// The run name from `task_run_name`.
    pub run_name: Option<String>,
    /// The body.
    pub body: Body<A, T>,
    /// Persisting and caching the value (one per task, in a static).
    pub cache: &'static CacheSource<T>,
}

/// A `#[flow]` call: its descriptor, parameters, arguments and body.
#[derive(Debug)]
pub struct FlowParts<A, T: 'static> {
    /// The flow's descriptor.
    pub flow: &'static Flow,
    /// The parameters as recorded (a JSON object).
    pub parameters: serde_json::Value,
    /// The arguments.
    pub args: A,
    /// Clones the arguments for a retry, when they are `Clone`.
    pub cloner: Option<fn(&A) -> A>,
    /// The run name from `flow_run_name`.
    pub run_name: Option<String>,
    /// The body.
    pub body: Body<A, T>,
    /// Persisting the value (one per flow, in a static).
    pub cache: &'static CacheSource<T>,
}

/// Boxes an attempt's future.
pub fn boxed<T, F>(fut: F) -> BoxFuture<'static, Outcome<T>>
where
    F: Future<Output = Outcome<T>> + Send + 'static,
{
    Box::pin(fut)
}

/// The call of a `#[task]`. Inlined, so the parts are built in place
/// rather than copied in.
#[inline]
pub fn task<A, T, R>(parts: TaskParts<A, T, R>) -> TaskCall<T>
where
    A: Send + 'static,
    T: Send + 'static,
    R: FnOnce() -> Result<A, Error> + Send + 'static,
{
    let TaskParts { task, upstream, resolve, cloner, run_name, body, cache } = parts;
    let args = prepared_args(&upstream, resolve, cloner);
    let attempts = Box::new(crate::engine::attempts::Body::new(args, body.into_fn()));
    let call = TaskCall::new(Descriptor::Static(task), attempts, CacheRef::Static(cache), run_name);
    upstream.into_iter().fold(call, |call, (up, kind)| call.depends_on(up, kind))
}

/// The call of a `#[flow]`. Inlined, so the parts are built in place
/// rather than copied in.
#[inline]
pub fn flow<A: Send + 'static, T: Send + 'static>(parts: FlowParts<A, T>) -> FlowCall<T> {
    let FlowParts { flow, parameters, args, cloner, run_name, body, cache } = parts;
    let attempts = Box::new(crate::engine::attempts::Body::new(Args::ready(args, cloner), body.into_fn()));
    FlowCall::new(Descriptor::Static(flow), parameters, attempts, CacheRef::Static(cache), run_name)
}

/// Resolves at once when nothing is upstream (the common, cheap case).
fn prepared_args<A: 'static>(
    upstream: &Edges,
    resolve: impl FnOnce() -> Result<A, Error> + Send + 'static,
    cloner: Option<fn(&A) -> A>,
) -> Args<A> {
    if upstream.is_empty() {
        match resolve() {
            Ok(args) => Args::ready(args, cloner),
            Err(error) => Args::deferred(Box::new(move || Err(error)), cloner),
        }
    } else {
        Args::deferred(Box::new(resolve), cloner)
    }
}

/// The parameters object of a flow call.
pub fn parameters(pairs: Vec<(&'static str, serde_json::Value)>) -> serde_json::Value {
    serde_json::Value::Object(pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
}

/// Formats an input for a run-name template: its value when ready now,
/// `<upstream>` when it comes from another run.
pub fn template_value<T: std::fmt::Display>(input: &Input<T>) -> String {
    match input.peek() {
        Some(value) => value.to_string(),
        None => "<upstream>".to_string(),
    }
}
