//! [`FlowFuture`]: a handle on a flow run started with `.submit()`, which
//! can be cancelled.

use std::fmt;
use std::future::IntoFuture;
use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use super::slot::{Slot, Upstream};
use super::task_future::Dependency;
use crate::error::Error;
use crate::ids::FlowRunId;
use crate::state::{State, StateMeta};
use futures::future::BoxFuture;

/// A flow run running in the background.
///
/// [`cancel`](FlowFuture::cancel) moves it to Cancelling and then
/// Cancelled: its running tasks end Cancelled, its subflows are cancelled,
/// and its `on_cancellation` hooks run.
#[must_use = "a submitted flow keeps running; await its future to get the result"]
pub struct FlowFuture<T> {
    pub(crate) slot: Arc<Slot<T>>,
    pub(crate) id: FlowRunId,
    pub(crate) cancel: CancellationToken,
}

impl<T: Send + 'static> FlowFuture<T> {
    /// The flow run's id.
    pub fn flow_run_id(&self) -> FlowRunId {
        self.id
    }

    /// The state the run is in now.
    pub fn state(&self) -> Option<StateMeta> {
        self.slot.current()
    }

    /// Requests cancellation; the run ends Cancelled soon after.
    pub fn cancel(&self) {
        self.cancel.cancel();
    }

    /// Waits for the run to end and gives its final state.
    pub async fn wait(&self) -> StateMeta {
        self.slot.wait().await
    }

    /// The final state with its value.
    ///
    /// # Errors
    /// [`Error::ResultTaken`] when the value was already taken.
    pub async fn final_state(self) -> Result<State<T>, Error> {
        self.slot.wait().await;
        self.slot.take().ok_or(Error::ResultTaken { run: self.id.into() })
    }
}

impl<T: Send + 'static> IntoFuture for FlowFuture<T> {
    type Output = Result<T, Error>;
    type IntoFuture = BoxFuture<'static, Result<T, Error>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(async move { self.final_state().await?.into_result() })
    }
}

impl<T: Send + 'static> Dependency for FlowFuture<T> {
    fn upstream(&self) -> Upstream {
        Upstream(self.slot.clone())
    }
}

impl<T> fmt::Debug for FlowFuture<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FlowFuture").field("flow_run_id", &self.id).finish_non_exhaustive()
    }
}
