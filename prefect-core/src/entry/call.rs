//! [`EntryCall`]: a call of a flow started by name, its value as JSON.

use std::future::IntoFuture;

use futures::future::BoxFuture;

use super::args::NamedArgs;
use super::{Deployable, FlowSignature};
use crate::call::FlowCall;
use crate::error::Error;
use crate::options::Flow;
use crate::state::State;

/// A pending call of a flow started by name. `.await` gives its value as
/// JSON; [`return_state`](EntryCall::return_state) its final state.
#[must_use = "a flow call does nothing until it is awaited"]
pub struct EntryCall {
    inner: Box<dyn ErasedCall>,
}

/// A typed flow call behind an object-safe face.
trait ErasedCall: Send {
    fn with_options(self: Box<Self>, f: Box<dyn FnOnce(Flow) -> Flow + '_>) -> Box<dyn ErasedCall>;
    fn run(self: Box<Self>) -> BoxFuture<'static, State<serde_json::Value>>;
}

struct Typed<F: FlowSignature> {
    call: FlowCall<F::Output>,
}

impl<F: FlowSignature> ErasedCall for Typed<F> {
    fn with_options(self: Box<Self>, f: Box<dyn FnOnce(Flow) -> Flow + '_>) -> Box<dyn ErasedCall> {
        Box::new(Typed::<F> { call: self.call.with_options(f) })
    }

    fn run(self: Box<Self>) -> BoxFuture<'static, State<serde_json::Value>> {
        Box::pin(async move { self.call.return_state().await.map(|value| F::output_json(&value)) })
    }
}

/// Reads `parameters` into `F`'s arguments and makes the call.
pub(super) fn start<F: for<'a> Deployable<'a>>(parameters: serde_json::Value) -> Result<EntryCall, Error> {
    let args = F::Args::from_json(F::PARAMETERS, parameters).map_err(|e| Error::InvalidParameters {
        flow: F::descriptor().opts.name.to_string(),
        field: e.field,
        reason: e.reason,
    })?;
    Ok(EntryCall { inner: Box::new(Typed::<F> { call: F::call(args) }) })
}

impl EntryCall {
    /// Overrides options for this call only.
    pub fn with_options(self, f: impl FnOnce(Flow) -> Flow) -> Self {
        EntryCall { inner: self.inner.with_options(Box::new(f)) }
    }

    /// Runs the flow and gives its final state, the value as JSON.
    pub async fn return_state(self) -> State<serde_json::Value> {
        self.inner.run().await
    }
}

impl IntoFuture for EntryCall {
    type Output = Result<serde_json::Value, Error>;
    type IntoFuture = BoxFuture<'static, Result<serde_json::Value, Error>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(async move { self.inner.run().await.into_result() })
    }
}

impl std::fmt::Debug for EntryCall {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EntryCall").finish_non_exhaustive()
    }
}
