//! [`TaskFuture`]: a handle on a submitted task run.

use std::fmt;
use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use super::slot::{Slot, Upstream};
use crate::error::Error;
use crate::ids::TaskRunId;
use crate::state::{State, StateMeta};

/// A task run started with `.submit()`.
///
/// `.await` gives its value (or the error that ended it); [`state`] the
/// current state; [`wait`] the final state without taking the value.
///
/// [`state`]: TaskFuture::state
/// [`wait`]: TaskFuture::wait
#[must_use = "a submitted task keeps running; await its future to get the result"]
pub struct TaskFuture<T> {
    pub(crate) slot: Arc<Slot<T>>,
    pub(crate) id: TaskRunId,
}

impl<T: Send + 'static> TaskFuture<T> {
    pub(crate) fn new(slot: Arc<Slot<T>>, id: TaskRunId) -> Self {
        TaskFuture { slot, id }
    }

    /// The task run's id.
    pub fn task_run_id(&self) -> TaskRunId {
        self.id
    }

    /// The state the run is in now (`None` before it was created).
    pub fn state(&self) -> Option<StateMeta> {
        self.slot.current()
    }

    /// True once the run has ended.
    pub fn is_done(&self) -> bool {
        self.slot.finished().is_some()
    }

    /// Waits for the run to end and gives its final state; the value stays
    /// in the future for `.await`.
    pub async fn wait(&self) -> StateMeta {
        self.slot.wait().await
    }

    /// [`wait`](TaskFuture::wait), giving up after `limit` without
    /// cancelling the run.
    ///
    /// # Errors
    /// [`Error::WaitTimeout`] when the run has not ended in time.
    pub async fn wait_timeout(&self, limit: Duration) -> Result<StateMeta, Error> {
        tokio::time::timeout(limit, self.slot.wait())
            .await
            .map_err(|_| Error::WaitTimeout { what: "the task run", limit })
    }

    /// The run's value, waiting at most `limit`; on a timeout the run goes
    /// on and the value can be taken later.
    ///
    /// # Errors
    /// [`Error::WaitTimeout`], the run's failure, or [`Error::ResultTaken`]
    /// when the value was already taken.
    pub async fn result_timeout(&mut self, limit: Duration) -> Result<T, Error> {
        self.wait_timeout(limit).await?;
        self.take()
    }

    /// The final state with its value (waits for the run to end).
    ///
    /// # Errors
    /// [`Error::ResultTaken`] when the value was already taken.
    pub async fn final_state(self) -> Result<State<T>, Error> {
        self.slot.wait().await;
        self.slot.take().ok_or(Error::ResultTaken { run: self.id.into() })
    }

    /// Takes the value of a run that has ended (the engine waited for it).
    pub(crate) fn take_now(&self) -> Result<T, Error> {
        self.take()
    }

    fn take(&self) -> Result<T, Error> {
        match self.slot.take() {
            Some(state) => state.into_result(),
            None => Err(Error::ResultTaken { run: self.id.into() }),
        }
    }
}

impl<T: Send + 'static> IntoFuture for TaskFuture<T> {
    type Output = Result<T, Error>;
    type IntoFuture = TaskResult<T>;

    fn into_future(self) -> TaskResult<T> {
        TaskResult { future: self }
    }
}

/// What awaiting a [`TaskFuture`] runs: the run's value once it has ended.
#[must_use = "futures do nothing unless awaited"]
#[derive(Debug)]
pub struct TaskResult<T> {
    future: TaskFuture<T>,
}

impl<T: Send + 'static> Future for TaskResult<T> {
    type Output = Result<T, Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<T, Error>> {
        match self.future.slot.poll_done(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(_) => Poll::Ready(self.future.take()),
        }
    }
}

impl<T> fmt::Debug for TaskFuture<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TaskFuture").field("task_run_id", &self.id).finish_non_exhaustive()
    }
}

/// Something a task call can wait for with `.wait_for(..)`: the future of
/// another run. Implemented by [`TaskFuture`] and [`super::FlowFuture`].
///
/// `Sync`, so that `call.wait_for(&[&future]).await` may be one expression
/// in a flow (the borrowed list lives across the await, in a future that
/// must be `Send`).
pub trait Dependency: Sync {
    /// The upstream run, type-erased.
    #[doc(hidden)]
    fn upstream(&self) -> Upstream;
}

impl<T: Send + 'static> Dependency for TaskFuture<T> {
    fn upstream(&self) -> Upstream {
        Upstream(self.slot.clone())
    }
}

/// An upstream whose failure does not stop the downstream: the downstream
/// receives the upstream's `Result` instead of its value.
#[derive(Debug)]
pub struct AllowFailure<F>(pub(crate) F);

/// Lets a downstream run even if `future` does not complete; it receives
/// `Result<T, Error>` (for a `Vec` of futures, a `Vec` of them, each edge
/// recorded).
pub fn allow_failure<F>(future: F) -> AllowFailure<F> {
    AllowFailure(future)
}
