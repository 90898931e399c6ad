//! The ambient run context: which flow run and task run the current code is
//! part of, read with [`flow_run()`] and [`task_run()`].
//!
//! The context lives in a tokio task-local entered by the engine around
//! every run (and around sync bodies on the blocking pool), so it follows
//! the code that runs, never a global.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! // Outside any run the context is an error that says so.
//! let err = prefect_core::context::flow_run().unwrap_err();
//! assert!(err.to_string().contains("only available inside a flow run"));
//! # }
//! ```

use std::fmt;
use std::future::{Future, IntoFuture};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use chrono::{DateTime, Utc};

use crate::env::Overrides;
use crate::error::Error;
use crate::ids::{FlowRunId, TaskRunId};
use crate::record::{FlowRunRecord, Recorder, TaskRunRecord, global_recorder};
use crate::results::ResultOptions;
use crate::runtime::FlowRuntime;

tokio::task_local! {
    static SCOPE: Scope;
}

/// What the engine carries from a run to the runs it creates.
#[derive(Clone)]
pub(crate) struct Scope {
    pub(crate) flow: Option<FlowRunContext>,
    pub(crate) task: Option<TaskRunContext>,
    pub(crate) recorder: Arc<dyn Recorder>,
    pub(crate) extra_tags: Arc<[String]>,
    /// Handles that override the process globals ([`crate::env::Env`]);
    /// `None` in the common case, so cloning a scope stays cheap.
    pub(crate) overrides: Option<Arc<Overrides>>,
    /// How many runs enclose this code (0 outside any run).
    pub(crate) depth: u32,
    /// The innermost [transaction](crate::transaction) around this code.
    pub(crate) txn: Option<Arc<crate::transaction::TxnState>>,
}

impl Scope {
    /// The current scope, or the root scope (global recorder, no runs).
    pub(crate) fn current() -> Scope {
        SCOPE.try_with(Clone::clone).unwrap_or_else(|_| Scope::root(global_recorder()))
    }

    /// The current scope with `recorder` as its recorder. Outside any
    /// scope the global recorder is never asked for (asking may open the
    /// default run database).
    pub(crate) fn current_with(recorder: Arc<dyn Recorder>) -> Scope {
        match SCOPE.try_with(Clone::clone) {
            Ok(scope) => Scope { recorder, ..scope },
            Err(_) => Scope::root(recorder),
        }
    }

    pub(crate) fn root(recorder: Arc<dyn Recorder>) -> Scope {
        Scope {
            flow: None,
            task: None,
            recorder,
            extra_tags: Arc::from(Vec::new()),
            overrides: None,
            depth: 0,
            txn: None,
        }
    }

    /// The scope of code running in `flow` (for work done on its behalf
    /// after its future is gone).
    pub(crate) fn for_flow(flow: FlowRunContext, recorder: Arc<dyn Recorder>) -> Scope {
        Scope { flow: Some(flow), ..Scope::root(recorder) }
    }

    /// Reads the current scope without cloning it.
    pub(crate) fn with_current<R>(f: impl FnOnce(Option<&Scope>) -> R) -> R {
        let mut f = Some(f);
        match SCOPE.try_with(|s| (f.take().expect("called once"))(Some(s))) {
            Ok(r) => r,
            Err(_) => (f.take().expect("not yet called"))(None),
        }
    }

    /// Runs `fut` with this scope as the current one. Not an `async fn`:
    /// that would wrap (and move) the run's large future once more.
    pub(crate) fn enter<F: Future>(self, fut: F) -> impl Future<Output = F::Output> {
        SCOPE.scope(self, fut)
    }

    /// Runs the sync `f` with this scope as the current one.
    pub(crate) fn enter_sync<R>(self, f: impl FnOnce() -> R) -> R {
        SCOPE.sync_scope(self, f)
    }

    /// Reads the settings of runs in this scope: its override, else the
    /// process's.
    pub(crate) fn with_settings<R>(&self, f: impl FnOnce(&crate::settings::Settings) -> R) -> R {
        match self.overrides.as_deref().and_then(Overrides::settings) {
            Some(settings) => f(settings),
            None => f(crate::settings::current()),
        }
    }

    /// The innermost run's `log_prints` choice, if any run made one.
    pub(crate) fn log_prints(&self) -> Option<bool> {
        self.task
            .as_ref()
            .and_then(|t| t.log_prints)
            .or_else(|| self.flow.as_ref().and_then(|f| f.log_prints))
    }

    /// Tags of the enclosing scopes merged with `own`, without duplicates.
    pub(crate) fn merged_tags(&self, own: &Arc<[String]>) -> Arc<[String]> {
        if self.extra_tags.is_empty() {
            return own.clone();
        }
        let mut tags: Vec<String> = own.to_vec();
        for tag in self.extra_tags.iter() {
            if !tags.contains(tag) {
                tags.push(tag.clone());
            }
        }
        tags.into()
    }
}

/// The flow run the current code is part of.
#[derive(Clone)]
pub struct FlowRunContext {
    pub(crate) record: Arc<FlowRunRecord>,
    pub(crate) run_count: Arc<AtomicU32>,
    pub(crate) runtime: Arc<FlowRuntime>,
    /// The flow's result options, the defaults of its tasks.
    pub(crate) results: Option<Arc<ResultOptions>>,
    /// `log_prints` of the flow or the run it was called from; `None`: the
    /// setting decides.
    pub(crate) log_prints: Option<bool>,
}

/// The task run the current code is part of.
#[derive(Clone)]
pub struct TaskRunContext {
    pub(crate) record: Arc<TaskRunRecord>,
    pub(crate) run_count: Arc<AtomicU32>,
    /// The tags whose concurrency slots this run, or a task run it was
    /// called from, holds; `None` for runs that hold none (most).
    pub(crate) held: Option<Arc<HeldTags>>,
    /// `log_prints` of the task or the run it was called from; `None`: the
    /// setting decides.
    pub(crate) log_prints: Option<bool>,
}

/// The tag slots a task run holds, for the task runs it calls: a nested run
/// with a tag its caller holds runs under the caller's slot (it would wait
/// for it forever otherwise).
#[derive(Debug, Default)]
pub(crate) struct HeldTags {
    /// Held by the runs it was called from.
    pub(crate) inherited: Option<Arc<[String]>>,
    /// Held by the run itself too, once admitted.
    pub(crate) own: std::sync::OnceLock<Arc<[String]>>,
}

impl HeldTags {
    /// Every tag held: the run's own (which include the inherited ones) once
    /// set, else the inherited.
    pub(crate) fn tags(&self) -> Option<&Arc<[String]>> {
        self.own.get().or(self.inherited.as_ref())
    }
}

impl FlowRunContext {
    pub(crate) fn new(
        record: Arc<FlowRunRecord>,
        runtime: Arc<FlowRuntime>,
        results: Option<Arc<ResultOptions>>,
    ) -> Self {
        FlowRunContext { record, run_count: Arc::new(AtomicU32::new(0)), runtime, results, log_prints: None }
    }

    /// True once cancellation of this flow run was requested.
    pub fn is_cancelled(&self) -> bool {
        self.runtime.cancel.is_cancelled()
    }

    /// The run's id.
    pub fn id(&self) -> FlowRunId {
        self.record.id
    }

    /// The run's name.
    pub fn name(&self) -> &str {
        &self.record.name
    }

    /// The flow's name.
    pub fn flow_name(&self) -> &str {
        &self.record.flow_name
    }

    /// The call's parameters as a JSON object.
    pub fn parameters(&self) -> &serde_json::Value {
        &self.record.parameters
    }

    /// The run's tags.
    pub fn tags(&self) -> &[String] {
        &self.record.tags
    }

    /// How many times the run has entered Running (1 on the first attempt).
    pub fn run_count(&self) -> u32 {
        self.run_count.load(Ordering::Relaxed)
    }

    /// When the run was created.
    pub fn start_time(&self) -> DateTime<Utc> {
        self.record.created
    }

    /// The parent flow run, for a subflow.
    pub fn parent_flow_run_id(&self) -> Option<FlowRunId> {
        self.record.parent_flow_run_id
    }

    /// The placeholder task run in the parent flow, for a subflow.
    pub fn parent_task_run_id(&self) -> Option<TaskRunId> {
        self.record.parent_task_run_id
    }

    /// The whole record.
    pub fn record(&self) -> &FlowRunRecord {
        &self.record
    }
}

impl TaskRunContext {
    pub(crate) fn new(record: Arc<TaskRunRecord>) -> Self {
        TaskRunContext { record, run_count: Arc::new(AtomicU32::new(0)), held: None, log_prints: None }
    }

    /// The tags held by this run or the runs it was called from.
    pub(crate) fn held_tags(&self) -> Option<&Arc<[String]>> {
        self.held.as_deref().and_then(HeldTags::tags)
    }

    /// The run's id.
    pub fn id(&self) -> TaskRunId {
        self.record.id
    }

    /// The run's name.
    pub fn name(&self) -> &str {
        &self.record.name
    }

    /// The task's name.
    pub fn task_name(&self) -> &str {
        &self.record.task_name
    }

    /// The run's tags.
    pub fn tags(&self) -> &[String] {
        &self.record.tags
    }

    /// How many times the run has entered Running (1 on the first attempt).
    pub fn run_count(&self) -> u32 {
        self.run_count.load(Ordering::Relaxed)
    }

    /// When the run was created.
    pub fn start_time(&self) -> DateTime<Utc> {
        self.record.created
    }

    /// The flow run it is part of, if any.
    pub fn flow_run_id(&self) -> Option<FlowRunId> {
        self.record.flow_run_id
    }

    /// The task run that called it, if any.
    pub fn parent_task_run_id(&self) -> Option<TaskRunId> {
        self.record.parent_task_run_id
    }

    /// Its position in a map, if any.
    pub fn map_index(&self) -> Option<u32> {
        self.record.map_index
    }

    /// The whole record.
    pub fn record(&self) -> &TaskRunRecord {
        &self.record
    }
}

impl fmt::Debug for FlowRunContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FlowRunContext")
            .field("record", &self.record)
            .field("run_count", &self.run_count())
            .finish()
    }
}

impl fmt::Debug for TaskRunContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TaskRunContext")
            .field("record", &self.record)
            .field("run_count", &self.run_count())
            .finish()
    }
}

/// The flow run the current code is part of (also inside its task runs).
///
/// # Errors
/// [`Error::MissingContext`] outside a flow run.
pub fn flow_run() -> Result<FlowRunContext, Error> {
    Scope::with_current(|s| s.and_then(|s| s.flow.clone())).ok_or(Error::MissingContext {
        what: "prefect::context::flow_run()",
        scope: "flow run",
        hint: "call it from a #[flow] body, or from a task or hook called inside one",
    })
}

/// The task run the current code is part of.
///
/// # Errors
/// [`Error::MissingContext`] outside a task run.
pub fn task_run() -> Result<TaskRunContext, Error> {
    Scope::with_current(|s| s.and_then(|s| s.task.clone())).ok_or(Error::MissingContext {
        what: "prefect::context::task_run()",
        scope: "task run",
        hint: "call it from a #[task] body or one of its hooks",
    })
}

/// Adds `tags` to every run created inside `fut`, subflows included.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let tags = prefect_core::tags(["nightly"], async {
///     prefect_core::context::current_tags()
/// })
/// .await;
/// assert_eq!(tags, ["nightly"]);
/// # }
/// ```
pub async fn tags<I, S, F>(tags: I, fut: F) -> F::Output
where
    I: IntoIterator<Item = S>,
    S: Into<String>,
    F: IntoFuture,
{
    let mut scope = Scope::current();
    let mut merged: Vec<String> = scope.extra_tags.to_vec();
    for tag in tags {
        let tag = tag.into();
        if !merged.contains(&tag) {
            merged.push(tag);
        }
    }
    scope.extra_tags = merged.into();
    scope.enter(fut.into_future()).await
}

/// The tags that enclosing [`tags`] scopes add to new runs.
pub fn current_tags() -> Vec<String> {
    Scope::with_current(|s| s.map(|s| s.extra_tags.to_vec()).unwrap_or_default())
}
