//! Call values: what calling a `#[task]` or `#[flow]` function returns.
//!
//! A call does nothing until it is awaited. `.await` runs it and gives
//! `Result<T, Error>`; [`TaskCall::return_state`] gives the final
//! [`State<T>`] instead; [`TaskCall::with_options`] overrides options for
//! this call only.

use std::borrow::Cow;
use std::fmt;
use std::future::{Future, IntoFuture};

use crate::engine::attempts::{Attempts, BoxFuture, ClosureBody};
use crate::engine::blocking::block_on;
use crate::engine::{flow_run, task_run};
use crate::error::{BoxError, Error};
use crate::options::{Flow, Task};
use crate::state::State;

/// A pending call of a task: await it to run it.
#[must_use = "a task call does nothing until it is awaited"]
pub struct TaskCall<T> {
    task: Cow<'static, Task>,
    attempts: Box<dyn Attempts<T>>,
    run_name: Option<String>,
}

/// A pending call of a flow: await it to run it.
#[must_use = "a flow call does nothing until it is awaited"]
pub struct FlowCall<T> {
    flow: Cow<'static, Flow>,
    parameters: serde_json::Value,
    attempts: Box<dyn Attempts<T>>,
    run_name: Option<String>,
}

/// A call whose `.await` gives the final [`State`] and never fails.
#[must_use = "a call does nothing until it is awaited"]
#[derive(Debug)]
pub struct ReturnState<C>(C);

impl<T: Send + 'static> TaskCall<T> {
    pub(crate) fn new(
        task: Cow<'static, Task>,
        attempts: Box<dyn Attempts<T>>,
        run_name: Option<String>,
    ) -> Self {
        TaskCall { task, attempts, run_name }
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
        self.task = Cow::Owned(f(self.task.into_owned()));
        self
    }

    /// Makes `.await` give the final state instead of a `Result`.
    pub fn return_state(self) -> ReturnState<Self> {
        ReturnState(self)
    }

    /// Runs the call from sync code: inside a sync `#[task]`/`#[flow]`
    /// body, or in a program without a tokio runtime.
    ///
    /// # Errors
    /// The run's failure, or [`Error::Blocking`] when called from async code.
    pub fn blocking(self) -> Result<T, Error> {
        block_on(self.into_future())?
    }

    async fn run(mut self) -> State<T> {
        task_run::run(&self.task, &mut *self.attempts, self.run_name.take()).await
    }
}

impl<T: Send + 'static> FlowCall<T> {
    pub(crate) fn new(
        flow: Cow<'static, Flow>,
        parameters: serde_json::Value,
        attempts: Box<dyn Attempts<T>>,
        run_name: Option<String>,
    ) -> Self {
        FlowCall { flow, parameters, attempts, run_name }
    }

    /// Overrides options for this call only.
    pub fn with_options(mut self, f: impl FnOnce(Flow) -> Flow) -> Self {
        self.flow = Cow::Owned(f(self.flow.into_owned()));
        self
    }

    /// Makes `.await` give the final state instead of a `Result`.
    pub fn return_state(self) -> ReturnState<Self> {
        ReturnState(self)
    }

    /// Runs the flow from sync code (see [`TaskCall::blocking`]).
    ///
    /// # Errors
    /// The run's failure, or [`Error::Blocking`] when called from async code.
    pub fn blocking(self) -> Result<T, Error> {
        block_on(self.into_future())?
    }

    async fn run(mut self) -> State<T> {
        let parameters = std::mem::take(&mut self.parameters);
        flow_run::run(&self.flow, parameters, &mut *self.attempts, self.run_name.take()).await
    }
}

impl<T: Send + 'static> IntoFuture for TaskCall<T> {
    type Output = Result<T, Error>;
    type IntoFuture = BoxFuture<Result<T, Error>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(async move { self.run().await.into_result() })
    }
}

impl<T: Send + 'static> IntoFuture for FlowCall<T> {
    type Output = Result<T, Error>;
    type IntoFuture = BoxFuture<Result<T, Error>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(async move { self.run().await.into_result() })
    }
}

impl<T: Send + 'static> IntoFuture for ReturnState<TaskCall<T>> {
    type Output = State<T>;
    type IntoFuture = BoxFuture<State<T>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.0.run())
    }
}

impl<T: Send + 'static> IntoFuture for ReturnState<FlowCall<T>> {
    type Output = State<T>;
    type IntoFuture = BoxFuture<State<T>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.0.run())
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

impl<T> fmt::Debug for TaskCall<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TaskCall").field("task", &self.task.opts.name).finish_non_exhaustive()
    }
}

impl<T> fmt::Debug for FlowCall<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FlowCall").field("flow", &self.flow.opts.name).finish_non_exhaustive()
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
    TaskCall::new(Cow::Owned(task), Box::new(ClosureBody(body)), None)
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
    FlowCall::new(Cow::Owned(flow), parameters, Box::new(ClosureBody(body)), None)
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
