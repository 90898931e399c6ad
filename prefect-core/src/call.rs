//! Call values: what calling a `#[task]` or `#[flow]` function returns.
//!
//! A call does nothing until it is awaited. `.await` runs it and gives
//! `Result<T, Error>`; [`TaskCall::return_state`] gives the final
//! [`State<T>`] instead; [`TaskCall::with_options`] overrides options for
//! this call only.

use std::fmt;
use std::future::{Future, IntoFuture};

use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use crate::context::Scope;
use futures::future::BoxFuture;

use crate::engine::attempts::{Attempts, ClosureBody};
use crate::engine::blocking::block_on;
use crate::engine::flow_run::FlowSetup;
use crate::engine::task_run::RunSetup;
use crate::engine::{flow_run, stack, task_run};
use crate::error::{BoxError, Error};
use crate::futures::slot::{Slot, Upstream};
use crate::futures::{Dependency, FlowFuture, TaskFuture};
use crate::ids::{FlowRunId, RunId, TaskRunId};
use crate::options::{Descriptor, Flow, RunNameFn, Task};
use crate::record::DependencyKind;
use crate::results::glue::{InputsFn, no_inputs};
use crate::results::{CacheSource, Codec};
use crate::state::State;
use crate::state::StateType;

/// What task calls and flow calls share: the descriptor, the attempts, and
/// beside them the cache source.
struct CallCore<D: 'static, T: 'static> {
    descriptor: Descriptor<D>,
    attempts: Box<dyn Attempts<T>>,
    cache: CacheRef<T>,
}

/// A call's cache source: a generated task's static one, a hand-built
/// call's own (`.cacheable()`), or none. Kept small: a call is moved on
/// every await and submit.
pub(crate) enum CacheRef<T: 'static> {
    None,
    Static(&'static CacheSource<T>),
    Owned(Box<CacheSource<T>>),
}

impl<T: 'static> CacheRef<T> {
    fn get(&self) -> Option<&CacheSource<T>> {
        match self {
            CacheRef::None => None,
            CacheRef::Static(cache) => Some(cache),
            CacheRef::Owned(cache) => Some(cache),
        }
    }
}

impl<D: Clone + 'static, T: 'static> CallCore<D, T> {
    fn with_options(mut self, f: impl FnOnce(D) -> D) -> Self {
        self.descriptor = self.descriptor.modify(f);
        self
    }

    fn cacheable(mut self) -> Self
    where
        T: serde::Serialize + serde::de::DeserializeOwned,
    {
        let inputs = self.cache.get().map_or(no_inputs as InputsFn, |c| c.inputs);
        self.cache = CacheRef::Owned(Box::new(CacheSource::new(Some(Codec::new()), inputs)));
        self
    }
}

/// A pending call of a task: await it to run it.
#[must_use = "a task call does nothing until it is awaited"]
pub struct TaskCall<T: 'static> {
    core: CallCore<Task, T>,
    setup: RunSetup,
}

/// A pending call of a flow: await it to run it.
#[must_use = "a flow call does nothing until it is awaited"]
pub struct FlowCall<T: 'static> {
    core: CallCore<Flow, T>,
    parameters: serde_json::Value,
    setup: FlowSetup,
}

/// A call whose `.await` gives the final [`State`] and never fails.
#[must_use = "a call does nothing until it is awaited"]
#[derive(Debug)]
pub struct ReturnState<C>(C);

impl<T: Send + 'static> TaskCall<T> {
    pub(crate) fn new(
        task: Descriptor<Task>,
        attempts: Box<dyn Attempts<T>>,
        cache: CacheRef<T>,
        run_name: Option<String>,
    ) -> Self {
        let core = CallCore { descriptor: task, attempts, cache };
        TaskCall { core, setup: RunSetup { run_name, ..RunSetup::default() } }
    }

    /// Runs only after every future in `upstream` has ended; if one did not
    /// complete, this run ends Pending, named NotReady, without running.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// use prefect_core::{Task, task_call};
    /// let first = task_call(Task::new("first"), || async { Ok::<_, std::io::Error>(1) }).submit();
    /// let second = task_call(Task::new("second"), || async { Ok::<_, std::io::Error>(2) });
    /// assert_eq!(second.wait_for(&[&first]).await.unwrap(), 2);
    /// assert!(first.is_done());
    /// # }
    /// ```
    pub fn wait_for(mut self, upstream: &[&dyn Dependency]) -> Self {
        self.setup.upstream.extend(upstream.iter().map(|d| (d.upstream(), DependencyKind::WaitFor)));
        self
    }

    /// Adds an upstream run this call depends on.
    #[doc(hidden)]
    pub fn depends_on(mut self, upstream: Upstream, kind: DependencyKind) -> Self {
        self.setup.upstream.push((upstream, kind));
        self
    }

    /// Sets the position of this call in a map.
    pub(crate) fn map_index(mut self, index: u32) -> Self {
        self.setup.map_index = Some(index);
        self
    }

    /// Starts the run now, on the flow's task runner (outside a flow: as a
    /// tokio task), and returns its future.
    pub fn submit(self) -> TaskFuture<T> {
        self.submit_now()
    }

    /// [`submit`](TaskCall::submit), first waiting for a permit of `permits`
    /// (a map's `.limit(n)`).
    fn submit_now(self) -> TaskFuture<T> {
        let (call, slot, future) = self.into_submitted();
        // Boxed where it is made: the run's state machine is large, and
        // moving it by value through the spawn path showed up as memmove.
        let run: BoxFuture<'static, ()> = Box::pin(async move { call.run_submitted(&slot).await });
        spawn_in_scope(run);
        future
    }

    /// Gives the call a run id and a slot that sees its states, and the
    /// future that reads the slot; the call is then run with
    /// [`TaskCall::run_submitted`].
    pub(crate) fn into_submitted(mut self) -> (Self, Arc<Slot<T>>, TaskFuture<T>) {
        let id = TaskRunId::new();
        let slot = Arc::new(Slot::new(RunId::Task(id)));
        self.setup.observer = Some(slot.clone());
        let future = TaskFuture::new(slot.clone(), id);
        (self, slot, future)
    }

    /// Runs a submitted call and hands its final state to its slot.
    pub(crate) async fn run_submitted(self, slot: &Arc<Slot<T>>) {
        let state = self.run().await;
        slot.complete(state);
        warn_if_unobserved(slot);
    }

    /// Overrides options for this call only.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// use prefect_core::{Task, task_call};
    /// let call = task_call(Task::new("flaky"), || async { Ok::<_, std::io::Error>(1) });
    /// let value = call.with_options(|t| t.retries(2).name("less-flaky")).await.unwrap();
    /// assert_eq!(value, 1);
    /// # }
    /// ```
    pub fn with_options(mut self, f: impl FnOnce(Task) -> Task) -> Self {
        let before = self.core.descriptor.get().opts.run_name.clone();
        self.core = self.core.with_options(f);
        // A run name given for this call wins over the attribute's template.
        if !same_run_name(&before, &self.core.descriptor.get().opts.run_name) {
            self.setup.run_name = None;
        }
        self
    }

    /// Makes `.await` give the final state instead of a `Result`.
    pub fn return_state(self) -> ReturnState<Self> {
        ReturnState(self)
    }

    /// Lets the engine persist and cache this call's value, which it can
    /// only do for serde types. `#[task]` calls do this by themselves;
    /// calls built by hand ([`task_call`], [`run_task`]) ask for it here.
    /// A hand-built call's arguments are not known to the engine, so cache
    /// policies that hash inputs do not apply to it.
    pub fn cacheable(mut self) -> Self
    where
        T: serde::Serialize + serde::de::DeserializeOwned,
    {
        self.core = self.core.cacheable();
        self
    }

    /// Runs the call from sync code: inside a sync `#[task]`/`#[flow]`
    /// body, or in a program without a tokio runtime.
    ///
    /// # Errors
    /// The run's failure, or [`Error::Blocking`] when called from async code.
    pub fn blocking(self) -> Result<T, Error> {
        block_on(self.into_future())?
    }

    async fn run(self) -> State<T> {
        if stack::needs_fresh_stack() {
            return Box::pin(stack::on_fresh_stack(self.run_here())).await;
        }
        self.run_here().await
    }

    fn what(&self) -> String {
        format!("task '{}'", self.core.descriptor.get().opts.name())
    }

    async fn run_here(self) -> State<T> {
        let TaskCall { mut core, setup } = self;
        let none = CacheSource::none();
        let cache = core.cache.get().unwrap_or(&none);
        task_run::run(core.descriptor.get(), &mut *core.attempts, cache, setup).await
    }
}

/// Whether `with_options` left the run name as it was.
fn same_run_name(before: &Option<RunNameFn>, after: &Option<RunNameFn>) -> bool {
    match (before, after) {
        (None, None) => true,
        (Some(a), Some(b)) => Arc::ptr_eq(a, b),
        _ => false,
    }
}

/// Spawns a submitted run inside the current scope: on the flow's runner
/// (counted, so the flow waits for it, and cancelled with the flow), or
/// as a plain tokio task outside a flow.
pub(crate) fn spawn_in_scope<F>(run: F)
where
    F: Future<Output = ()> + Send + 'static,
{
    let scope = Scope::current();
    let runtime = scope.flow.as_ref().map(|f| f.runtime.clone());
    let scoped = scope.enter(run);
    match runtime {
        Some(runtime) => runtime.spawn(scoped),
        None => {
            tokio::spawn(scoped);
        }
    }
}

/// A run that failed while nobody holds its future would fail silently:
/// say so. (Cancelled runs were stopped on purpose.)
fn warn_if_unobserved<T>(slot: &Arc<Slot<T>>) {
    if Arc::strong_count(slot) > 1 || slot.was_taken() {
        return;
    }
    if let Some(state) =
        slot.finished().filter(|s| matches!(s.state_type, StateType::Failed | StateType::Crashed))
    {
        tracing::warn!(
            "Run {} ended in state {state}, but its future was dropped without being awaited",
            slot.run_id()
        );
    }
}

impl<T: Send + 'static> FlowCall<T> {
    pub(crate) fn new(
        flow: Descriptor<Flow>,
        parameters: serde_json::Value,
        attempts: Box<dyn Attempts<T>>,
        cache: CacheRef<T>,
        run_name: Option<String>,
    ) -> Self {
        let core = CallCore { descriptor: flow, attempts, cache };
        FlowCall { core, parameters, setup: FlowSetup { run_name, ..FlowSetup::default() } }
    }

    /// Starts the flow run now as its own tokio task and returns a future
    /// that can be awaited or cancelled. Inside a flow it is a subflow
    /// that runs concurrently with the parent's body.
    pub fn submit(mut self) -> FlowFuture<T> {
        let id = FlowRunId::new();
        let slot = Arc::new(Slot::new(RunId::Flow(id)));
        let cancel = match Scope::current().flow {
            Some(parent) => parent.runtime.cancel.child_token(),
            None => CancellationToken::new(),
        };
        self.setup.observer = Some(slot.clone());
        self.setup.cancel = Some(cancel.clone());
        let run = {
            let slot = slot.clone();
            let run: BoxFuture<'static, ()> = Box::pin(async move {
                let state = self.run().await;
                slot.complete(state);
                warn_if_unobserved(&slot);
            });
            run
        };
        spawn_in_scope(run);
        FlowFuture { slot, id, cancel }
    }

    /// Makes this call record into a run that exists in the store (see
    /// [`ExistingRun`](crate::entry::ExistingRun)).
    pub(crate) fn into_existing(mut self, run: crate::entry::ExistingRun) -> Self {
        self.setup.existing = Some((run.id, run.runs_before));
        self.setup.run_name = Some(run.name);
        self.setup.cancel = run.cancel;
        self
    }

    /// Overrides options for this call only.
    pub fn with_options(mut self, f: impl FnOnce(Flow) -> Flow) -> Self {
        let before = self.core.descriptor.get().opts.run_name.clone();
        self.core = self.core.with_options(f);
        if !same_run_name(&before, &self.core.descriptor.get().opts.run_name) {
            self.setup.run_name = None;
        }
        self
    }

    /// Makes `.await` give the final state instead of a `Result`.
    pub fn return_state(self) -> ReturnState<Self> {
        ReturnState(self)
    }

    /// Lets the engine persist this call's value (`persist_result`), which
    /// it can only do for serde types. `#[flow]` calls do this by
    /// themselves; calls built by hand ([`flow_call`]) ask for it here.
    pub fn cacheable(mut self) -> Self
    where
        T: serde::Serialize + serde::de::DeserializeOwned,
    {
        self.core = self.core.cacheable();
        self
    }

    /// Runs the flow from sync code (see [`TaskCall::blocking`]).
    ///
    /// # Errors
    /// The run's failure, or [`Error::Blocking`] when called from async code.
    pub fn blocking(self) -> Result<T, Error> {
        block_on(self.into_future())?
    }

    async fn run(self) -> State<T> {
        if stack::needs_fresh_stack() {
            return Box::pin(stack::on_fresh_stack(self.run_here())).await;
        }
        self.run_here().await
    }

    fn what(&self) -> String {
        format!("flow '{}'", self.core.descriptor.get().opts.name())
    }

    async fn run_here(self) -> State<T> {
        let FlowCall { mut core, parameters, setup } = self;
        let none = CacheSource::none();
        let cache = core.cache.get().unwrap_or(&none);
        flow_run::run(core.descriptor.get(), parameters, &mut *core.attempts, cache, setup).await
    }
}

impl<T: Send + 'static> IntoFuture for TaskCall<T> {
    type Output = Result<T, Error>;
    type IntoFuture = BoxFuture<'static, Result<T, Error>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(async move {
            if let Some(error) = stack::missing_runtime(|| self.what()) {
                return Err(error);
            }
            self.run().await.into_result()
        })
    }
}

impl<T: Send + 'static> IntoFuture for FlowCall<T> {
    type Output = Result<T, Error>;
    type IntoFuture = BoxFuture<'static, Result<T, Error>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(async move {
            if let Some(error) = stack::missing_runtime(|| self.what()) {
                return Err(error);
            }
            self.run().await.into_result()
        })
    }
}

impl<T: Send + 'static> IntoFuture for ReturnState<TaskCall<T>> {
    type Output = State<T>;
    type IntoFuture = BoxFuture<'static, State<T>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(async move {
            match stack::missing_runtime(|| self.0.what()) {
                Some(error) => State::failed_with(error),
                None => self.0.run().await,
            }
        })
    }
}

impl<T: Send + 'static> IntoFuture for ReturnState<FlowCall<T>> {
    type Output = State<T>;
    type IntoFuture = BoxFuture<'static, State<T>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(async move {
            match stack::missing_runtime(|| self.0.what()) {
                Some(error) => State::failed_with(error),
                None => self.0.run().await,
            }
        })
    }
}

impl<C> ReturnState<C>
where
    ReturnState<C>: IntoFuture,
{
    /// Runs the call from sync code and gives its final state.
    ///
    /// # Errors
    /// [`Error::Blocking`] when called from async code.
    pub fn blocking(self) -> Result<<Self as IntoFuture>::Output, Error> {
        block_on(self.into_future())
    }
}

impl<T: 'static> fmt::Debug for TaskCall<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TaskCall")
            .field("task", &self.core.descriptor.get().opts.name)
            .finish_non_exhaustive()
    }
}

impl<T: 'static> fmt::Debug for FlowCall<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FlowCall")
            .field("flow", &self.core.descriptor.get().opts.name)
            .finish_non_exhaustive()
    }
}

/// A call of `task` whose body is the closure `body`, called once per
/// attempt: the hand-written equivalent of a `#[task]` function.
pub fn task_call<F, Fut, T, E>(task: Task, body: F) -> TaskCall<T>
where
    F: FnMut() -> Fut + Send + 'static,
    Fut: Future<Output = Result<T, E>> + Send + 'static,
    E: Into<BoxError>,
    T: Send + 'static,
{
    TaskCall::new(Descriptor::Owned(Box::new(task)), Box::new(ClosureBody(body)), CacheRef::None, None)
}

/// A call of `flow` whose body is the closure `body`, called once per
/// attempt, with `parameters` recorded as the run's parameters.
pub fn flow_call<F, Fut, T, E>(flow: Flow, parameters: serde_json::Value, body: F) -> FlowCall<T>
where
    F: FnMut() -> Fut + Send + 'static,
    Fut: Future<Output = Result<T, E>> + Send + 'static,
    E: Into<BoxError>,
    T: Send + 'static,
{
    FlowCall::new(
        Descriptor::Owned(Box::new(flow)),
        parameters,
        Box::new(ClosureBody(body)),
        CacheRef::None,
        None,
    )
}

/// Runs `body` as a task run of `task` and gives its value.
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
    task_call(task.clone(), body).await
}
