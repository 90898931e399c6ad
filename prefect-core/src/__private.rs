//! Glue for the code `#[task]` and `#[flow]` generate. Not a stable API:
//! nothing here is meant to be used directly.

use std::future::Future;
use std::marker::PhantomData;

pub use std::sync::LazyLock;

pub use serde;
pub use serde_json;

use crate::call::{FlowCall, TaskCall};
pub use crate::engine::attempts::BoxFuture;
use crate::engine::attempts::{Args, AsyncBody, BlockingBody};
pub use crate::engine::outcome::{Outcome, from_result, from_state, from_states, from_value};
use crate::error::Error;
use crate::futures::Upstream;
pub use crate::hooks::hook;
use crate::options::{Descriptor, Flow, Task};
use crate::record::DependencyKind;
pub use crate::results::{
    CacheGlue, Codec, CodecProbe, InputSink, KeyProbe, ViaCodec, ViaKeyOpaque, ViaKeySerialize, ViaNoCodec,
    cache_glue,
};

/// Called first by every generated call. A no-op here; the `prefect`
/// facade's glue registers the run database as the default recorder.
pub fn ensure_default() {}

/// Boxes an attempt's future.
pub fn boxed<T, F>(fut: F) -> BoxFuture<Outcome<T>>
where
    F: Future<Output = Outcome<T>> + Send + 'static,
{
    Box::pin(fut)
}

/// Finds out whether `A` is `Clone` (call as `(&&CloneProbe::<A>::new()).cloner()`).
#[derive(Debug)]
pub struct CloneProbe<A>(PhantomData<A>);

impl<A> CloneProbe<A> {
    /// A probe.
    pub fn new() -> Self {
        CloneProbe(PhantomData)
    }
}

impl<A> Default for CloneProbe<A> {
    fn default() -> Self {
        Self::new()
    }
}

/// Chosen when `A: Clone`.
pub trait ViaClone<A> {
    /// `Some(clone)`.
    fn cloner(&self) -> Option<fn(&A) -> A>;
}

/// Chosen otherwise.
pub trait ViaNoClone<A> {
    /// `None`.
    fn cloner(&self) -> Option<fn(&A) -> A>;
}

impl<A: Clone> ViaClone<A> for &CloneProbe<A> {
    fn cloner(&self) -> Option<fn(&A) -> A> {
        Some(A::clone)
    }
}

impl<A> ViaNoClone<A> for CloneProbe<A> {
    fn cloner(&self) -> Option<fn(&A) -> A> {
        None
    }
}

/// Records a parameter as JSON when it is `Serialize`
/// (call as `(&&ParamProbe(&x)).param_json()`).
#[derive(Debug)]
pub struct ParamProbe<'a, T>(pub &'a T);

/// Chosen when `T: Serialize`.
pub trait ViaSerialize {
    /// The value as JSON.
    fn param_json(&self) -> serde_json::Value;
}

/// Chosen otherwise.
pub trait ViaOpaque {
    /// A placeholder naming the type.
    fn param_json(&self) -> serde_json::Value;
}

impl<T: serde::Serialize> ViaSerialize for &ParamProbe<'_, T> {
    fn param_json(&self) -> serde_json::Value {
        serde_json::to_value(self.0)
            .unwrap_or_else(|e| serde_json::Value::String(format!("<not serializable: {e}>")))
    }
}

impl<T> ViaOpaque for ParamProbe<'_, T> {
    fn param_json(&self) -> serde_json::Value {
        serde_json::Value::String(format!("<{}>", std::any::type_name::<T>()))
    }
}

/// The parameters object of a flow call.
pub fn parameters(pairs: Vec<(&'static str, serde_json::Value)>) -> serde_json::Value {
    serde_json::Value::Object(pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
}

/// A call of an async `#[task]` body.
pub fn task_call<A: Send + 'static, T: Send + 'static>(
    task: &'static Task,
    args: A,
    cloner: Option<fn(&A) -> A>,
    run_name: Option<String>,
    body: fn(A) -> BoxFuture<Outcome<T>>,
) -> TaskCall<T> {
    TaskCall::new(
        Descriptor::Static(task),
        Box::new(AsyncBody::new(Args::ready(args, cloner), body)),
        run_name,
    )
}

/// A call of a sync `#[task]` body (run on the blocking pool).
pub fn task_call_blocking<A: Send + 'static, T: Send + 'static>(
    task: &'static Task,
    args: A,
    cloner: Option<fn(&A) -> A>,
    run_name: Option<String>,
    body: fn(A) -> Outcome<T>,
) -> TaskCall<T> {
    TaskCall::new(
        Descriptor::Static(task),
        Box::new(BlockingBody::new(Args::ready(args, cloner), body)),
        run_name,
    )
}

/// A call of an async `#[flow]` body.
pub fn flow_call<A: Send + 'static, T: Send + 'static>(
    flow: &'static Flow,
    parameters: serde_json::Value,
    args: A,
    cloner: Option<fn(&A) -> A>,
    run_name: Option<String>,
    body: fn(A) -> BoxFuture<Outcome<T>>,
    codec: Option<Codec<T>>,
) -> FlowCall<T> {
    let body = AsyncBody::new(Args::ready(args, cloner), body).cached(cache_glue(codec, no_inputs));
    FlowCall::new(Descriptor::Static(flow), parameters, Box::new(body), run_name)
}

/// A flow's inputs are its parameters, recorded elsewhere.
fn no_inputs<A>(_: &A, _: &mut InputSink<'_>) {}

/// A call of a sync `#[flow]` body (run on the blocking pool).
pub fn flow_call_blocking<A: Send + 'static, T: Send + 'static>(
    flow: &'static Flow,
    parameters: serde_json::Value,
    args: A,
    cloner: Option<fn(&A) -> A>,
    run_name: Option<String>,
    body: fn(A) -> Outcome<T>,
    codec: Option<Codec<T>>,
) -> FlowCall<T> {
    let body = BlockingBody::new(Args::ready(args, cloner), body).cached(cache_glue(codec, no_inputs));
    FlowCall::new(Descriptor::Static(flow), parameters, Box::new(body), run_name)
}

/// Dependency edges of a call's inputs (from `Input::edges`).
pub type Edges = Vec<(Upstream, DependencyKind)>;

/// A call of an async `#[task]` body whose arguments may come from
/// upstream runs: `resolve` builds them once the upstreams have ended.
pub fn task_call_inputs<A: Send + 'static, T: Send + 'static>(
    task: &'static Task,
    upstream: Edges,
    resolve: impl FnOnce() -> Result<A, Error> + Send + 'static,
    cloner: Option<fn(&A) -> A>,
    run_name: Option<String>,
    body: fn(A) -> BoxFuture<Outcome<T>>,
    cache: CacheGlue<A, T>,
) -> TaskCall<T> {
    let args = prepared_args(&upstream, resolve, cloner);
    let body = AsyncBody::new(args, body).cached(cache);
    with_edges(TaskCall::new(Descriptor::Static(task), Box::new(body), run_name), upstream)
}

/// The sync-body form of [`task_call_inputs`].
pub fn task_call_blocking_inputs<A: Send + 'static, T: Send + 'static>(
    task: &'static Task,
    upstream: Edges,
    resolve: impl FnOnce() -> Result<A, Error> + Send + 'static,
    cloner: Option<fn(&A) -> A>,
    run_name: Option<String>,
    body: fn(A) -> Outcome<T>,
    cache: CacheGlue<A, T>,
) -> TaskCall<T> {
    let args = prepared_args(&upstream, resolve, cloner);
    let body = BlockingBody::new(args, body).cached(cache);
    with_edges(TaskCall::new(Descriptor::Static(task), Box::new(body), run_name), upstream)
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

fn with_edges<T: Send + 'static>(call: TaskCall<T>, upstream: Edges) -> TaskCall<T> {
    upstream.into_iter().fold(call, |call, (up, kind)| call.depends_on(up, kind))
}

/// Formats an input for a run-name template: its value when ready now,
/// `<upstream>` when it comes from another run.
pub fn template_value<T: std::fmt::Display>(input: &crate::futures::Input<T>) -> String {
    match input.peek() {
        Some(value) => value.to_string(),
        None => "<upstream>".to_string(),
    }
}

pub use crate::futures::map_len;
pub use crate::futures::{Input, MapArg, MapCall, MapItems, TaskInput, map_call};
