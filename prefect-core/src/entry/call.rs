//! [`EntryCall`]: a call of a flow started by name, its value as JSON.

use std::future::IntoFuture;

use futures::future::BoxFuture;

use super::args::NamedArgs;
use super::{Deployable, FlowSignature};
use crate::call::FlowCall;
use tokio_util::sync::CancellationToken;

use crate::error::Error;
use crate::ids::FlowRunId;
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
    fn into_existing(self: Box<Self>, run: ExistingRun) -> Box<dyn ErasedCall>;
    fn run(self: Box<Self>) -> BoxFuture<'static, State<serde_json::Value>>;
}

struct Typed<F: FlowSignature> {
    call: FlowCall<F::Output>,
}

impl<F: FlowSignature> ErasedCall for Typed<F> {
    fn with_options(self: Box<Self>, f: Box<dyn FnOnce(Flow) -> Flow + '_>) -> Box<dyn ErasedCall> {
        Box::new(Typed::<F> { call: self.call.with_options(f) })
    }

    fn into_existing(self: Box<Self>, run: ExistingRun) -> Box<dyn ErasedCall> {
        Box::new(Typed::<F> { call: self.call.into_existing(run) })
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

/// A flow run created beforehand in the store, that a call records into
/// instead of creating a run: what a worker passes for a deployment's run
/// it claimed (the store moved it to Pending under the worker's lease).
/// The call records its states from Running on, under this id and name.
#[derive(Debug, Clone)]
pub struct ExistingRun {
    /// The run's id.
    pub id: FlowRunId,
    /// The run's name.
    pub name: String,
    /// How many times it ran before (a crashed run rescheduled): its run
    /// count goes on from there.
    pub runs_before: u32,
    /// Cancels the run when cancelled (a `prefect flow-run cancel`
    /// reaching the worker); it then ends Cancelled, its hooks run.
    pub cancel: Option<CancellationToken>,
}

impl ExistingRun {
    /// The run `id` named `name`, run for the first time, not cancellable
    /// from outside.
    pub fn new(id: FlowRunId, name: impl Into<String>) -> Self {
        ExistingRun { id, name: name.into(), runs_before: 0, cancel: None }
    }
}

impl EntryCall {
    /// Records the call into `run`, created beforehand in the store (a
    /// claimed run of a deployment), instead of creating a new run.
    pub fn existing_run(self, run: ExistingRun) -> Self {
        EntryCall { inner: self.inner.into_existing(run) }
    }

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
