//! State-change hooks and retry conditions.
//!
//! A hook is a plain function that receives a [`HookContext`]: the run (its
//! context, as inside the body) and the state it reached. Hooks run in the
//! order given, inside the run's context; a hook that returns an error or
//! panics is logged and changes nothing.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

use crate::context::{FlowRunContext, TaskRunContext};
use crate::error::BoxError;
use crate::state::StateMeta;

/// What a hook or a retry condition sees.
#[derive(Clone)]
pub struct HookContext {
    pub(crate) run: RunContext,
    pub(crate) state: StateMeta,
    pub(crate) error: Option<Arc<dyn std::error::Error + Send + Sync>>,
    /// The key of the transaction the run belongs to, if any.
    pub(crate) transaction: Option<Arc<str>>,
}

/// The run a hook is about.
#[derive(Debug, Clone)]
pub enum RunContext {
    /// A task run.
    Task(TaskRunContext),
    /// A flow run.
    Flow(FlowRunContext),
}

impl HookContext {
    /// The run.
    pub fn run(&self) -> &RunContext {
        &self.run
    }

    /// The task run, if this hook is about one.
    pub fn task_run(&self) -> Option<&TaskRunContext> {
        match &self.run {
            RunContext::Task(t) => Some(t),
            RunContext::Flow(_) => None,
        }
    }

    /// The flow run, if this hook is about one.
    pub fn flow_run(&self) -> Option<&FlowRunContext> {
        match &self.run {
            RunContext::Flow(f) => Some(f),
            RunContext::Task(_) => None,
        }
    }

    /// The state the run reached (for a retry condition: the failed attempt).
    pub fn state(&self) -> &StateMeta {
        &self.state
    }

    /// The key of the run's [transaction](crate::transaction), for the
    /// `on_commit` and `on_rollback` hooks (and any hook of a run inside one).
    pub fn transaction_key(&self) -> Option<&str> {
        self.transaction.as_deref()
    }

    /// The body's error, when the state came from one.
    pub fn error(&self) -> Option<&(dyn std::error::Error + Send + Sync + 'static)> {
        self.error.as_deref()
    }

    /// The body's error as `E`, searching its sources too.
    pub fn error_as<E: std::error::Error + 'static>(&self) -> Option<&E> {
        let mut current: Option<&(dyn std::error::Error + 'static)> =
            self.error.as_deref().map(|e| e as &(dyn std::error::Error + 'static));
        while let Some(err) = current {
            if let Some(found) = err.downcast_ref::<E>() {
                return Some(found);
            }
            current = err.source();
        }
        None
    }
}

impl fmt::Debug for HookContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HookContext")
            .field("run", &self.run)
            .field("state", &self.state)
            .field("error", &self.error.as_ref().map(|e| e.to_string()))
            .finish()
    }
}

/// A hook function, as stored by the engine, with the name its log lines
/// use ("Hook 'notify' finished running successfully").
#[derive(Clone)]
pub struct HookFn {
    name: Cow<'static, str>,
    call: HookCall,
}

type HookCall = Arc<dyn Fn(&HookContext) -> Result<(), BoxError> + Send + Sync>;

impl HookFn {
    /// The hook's name: its function's name, or the one given to [`hook_named`].
    pub fn name(&self) -> &str {
        &self.name
    }

    pub(crate) fn call(&self, ctx: &HookContext) -> Result<(), BoxError> {
        (self.call)(ctx)
    }
}

impl fmt::Debug for HookFn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("HookFn").field(&self.name).finish()
    }
}

/// A retry condition: false ends the run Failed without retrying.
pub type RetryConditionFn = Arc<dyn Fn(&HookContext) -> bool + Send + Sync>;

/// What a hook may return: nothing, or a `Result` whose error is logged.
pub trait HookResult {
    /// Converts into the engine's form.
    fn into_hook_result(self) -> Result<(), BoxError>;
}

impl HookResult for () {
    fn into_hook_result(self) -> Result<(), BoxError> {
        Ok(())
    }
}

impl<E: Into<BoxError>> HookResult for Result<(), E> {
    fn into_hook_result(self) -> Result<(), BoxError> {
        self.map_err(Into::into)
    }
}

/// Wraps a hook function for storage; its name is the function's (the last
/// segment of its path; `closure` for a closure).
///
/// ```
/// fn notify(_: &prefect_core::HookContext) {}
/// assert_eq!(prefect_core::hooks::hook(notify).name(), "notify");
/// ```
pub fn hook<F, R>(f: F) -> HookFn
where
    F: Fn(&HookContext) -> R + Send + Sync + 'static,
    R: HookResult,
{
    hook_named(fn_name::<F>(), f)
}

/// Wraps a hook function for storage under `name`.
pub fn hook_named<F, R>(name: impl Into<Cow<'static, str>>, f: F) -> HookFn
where
    F: Fn(&HookContext) -> R + Send + Sync + 'static,
    R: HookResult,
{
    HookFn { name: name.into(), call: Arc::new(move |ctx| f(ctx).into_hook_result()) }
}

/// The last segment of `F`'s path: `notify` for `my_app::hooks::notify`.
fn fn_name<F>() -> &'static str {
    let path = std::any::type_name::<F>();
    let last = path.rsplit("::").next().unwrap_or(path);
    if last.starts_with('{') { "closure" } else { last }
}

/// The hooks of one task or flow, by the state that triggers them.
#[derive(Clone, Default)]
pub(crate) struct Hooks {
    pub(crate) on_running: Vec<HookFn>,
    pub(crate) on_completion: Vec<HookFn>,
    pub(crate) on_failure: Vec<HookFn>,
    pub(crate) on_cancellation: Vec<HookFn>,
    pub(crate) on_crashed: Vec<HookFn>,
    /// Tasks: the run's transaction committed (see [`crate::transaction`]).
    pub(crate) on_commit: Vec<HookFn>,
    /// Tasks: the run's transaction rolled back.
    pub(crate) on_rollback: Vec<HookFn>,
}

impl fmt::Debug for Hooks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Hooks")
            .field("on_running", &self.on_running.len())
            .field("on_completion", &self.on_completion.len())
            .field("on_failure", &self.on_failure.len())
            .field("on_cancellation", &self.on_cancellation.len())
            .field("on_crashed", &self.on_crashed.len())
            .field("on_commit", &self.on_commit.len())
            .field("on_rollback", &self.on_rollback.len())
            .finish()
    }
}
