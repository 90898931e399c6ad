//! Changing a flow run from outside the process running it: cancel, retry,
//! resume, delete. The CLI and the server both go through these, so they decide
//! alike; the process running the run (a worker) acts on the change.

use std::future::Future;
use std::time::{Duration, Instant};

use prefect_model::{FlowRunId, StateMeta, StateType};

use crate::capability::Store;
use crate::error::{Error, Result};

/// What a cancellation did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum Cancelled {
    /// It had not started: it ended Cancelled at once.
    BeforeStart,
    /// It was running: it went Cancelling, and its worker stops it (it then
    /// ends Cancelled and its hooks run).
    Asked,
}

/// Cancels flow run `id`; `by` says who asked (`"the CLI"`), for the
/// state's message.
///
/// # Errors
/// [`Error::WrongState`] when the run has ended (nothing to cancel),
/// [`Error::NotFound`] when there is no such run.
pub async fn cancel_flow_run(store: &dyn Store, id: FlowRunId, by: &str) -> Result<Cancelled> {
    let queued =
        StateMeta::new(StateType::Cancelled).with_message(format!("cancelled from {by} before it started"));
    if store.set_flow_run_state(id, &queued, &[StateType::Scheduled]).await?.is_some() {
        return Ok(Cancelled::BeforeStart);
    }
    let asked =
        StateMeta::new(StateType::Cancelling).with_message(format!("cancellation asked for from {by}"));
    let running = [StateType::Pending, StateType::Running, StateType::Paused];
    match store.set_flow_run_state(id, &asked, &running).await? {
        Some(_) => Ok(Cancelled::Asked),
        None => Err(wrong_state(store, id, "nothing to cancel").await),
    }
}

/// Runs a flow run of a deployment again, with its parameters: it goes
/// back to its queue (AwaitingRetry) and a worker takes it. Tasks whose
/// results were persisted for this run are served from storage, so only
/// what failed runs again.
///
/// # Errors
/// [`Error::WrongState`] when it is not a run of a deployment (no worker
/// could take it) or has not ended Failed, Crashed or Cancelled.
pub async fn retry_flow_run(store: &dyn Store, id: FlowRunId, by: &str) -> Result<()> {
    let detail = store.inspect_flow_run(id, 0).await?;
    if detail.run.deployment_id.is_none() {
        return Err(Error::WrongState {
            run: detail.run.name,
            state: "not a run of a deployment".into(),
            reason: "no worker could take it; run its program again".into(),
        });
    }
    let again =
        StateMeta { scheduled_time: Some(chrono::Utc::now()), ..StateMeta::new(StateType::Scheduled) }
            .named(prefect_model::state::names::AWAITING_RETRY)
            .with_message(format!("retry asked for from {by}"));
    let ended = [StateType::Failed, StateType::Crashed, StateType::Cancelled];
    match store.set_flow_run_state(id, &again, &ended).await? {
        Some(_) => Ok(()),
        None => Err(wrong_state(store, id, "only a Failed, Crashed or Cancelled run is retried").await),
    }
}

/// What became of a resume input.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub enum Resumed {
    /// Resumed (without an input, or the flow has taken it).
    Running,
    /// Resumed; the flow had not read the input when the wait ended.
    InputNotReadYet,
}

/// Resumes a paused flow run, with an input for a run paused for one. With
/// an input, waits up to `patience` for the flow to take it, looking every
/// 50 ms through `sleep`: a refused input (it does not read as what the
/// flow expects) is an error naming why, and the run stays paused.
///
/// # Errors
/// [`Error::WrongState`] when the run is not paused; [`Error::InputRefused`]
/// when the flow refused the input.
pub async fn resume_flow_run<S, F>(
    store: &dyn Store,
    id: FlowRunId,
    input: Option<&serde_json::Value>,
    patience: Duration,
    sleep: S,
) -> Result<Resumed>
where
    S: Fn(Duration) -> F,
    F: Future<Output = ()>,
{
    if store.resume_flow_run(id, input).await?.is_none() {
        return Err(wrong_state(store, id, "only a Paused run is resumed").await);
    }
    if input.is_none() {
        return Ok(Resumed::Running);
    }
    // The paused flow reads the input within a poll (50 ms) and says whether
    // it takes it.
    let deadline = Instant::now() + patience;
    while Instant::now() < deadline {
        match store.inspect_flow_run(id, 0).await?.run.state {
            Some(state) if state.state_type == StateType::Paused => {
                let message = state.message.unwrap_or_default();
                let reason = message.split("; paused until").next().unwrap_or(&message).to_owned();
                return Err(Error::InputRefused { reason });
            }
            Some(state) if state.message.as_deref() == Some(INPUT_ACCEPTED) => return Ok(Resumed::Running),
            _ => sleep(Duration::from_millis(50)).await,
        }
    }
    Ok(Resumed::InputNotReadYet)
}

/// The message of the Running state a paused flow records when it takes
/// its resume input (prefect-deploy's `pause_flow_run_with_input`).
pub const INPUT_ACCEPTED: &str = "input accepted";

/// Deletes a flow run that is not going (ended, or not started), with its
/// task runs, states, logs and edges.
///
/// # Errors
/// [`Error::WrongState`] while it is Pending, Running, Paused or
/// Cancelling (its process would go on recording it: cancel it first),
/// [`Error::NotFound`] when there is no such run.
pub async fn delete_flow_run(store: &dyn Store, id: FlowRunId) -> Result<crate::PruneReport> {
    let detail = store.inspect_flow_run(id, 0).await?;
    if let Some(state) = &detail.run.state
        && matches!(
            state.state_type,
            StateType::Pending | StateType::Running | StateType::Paused | StateType::Cancelling
        )
    {
        return Err(Error::WrongState {
            run: detail.run.name,
            state: state.name.to_string(),
            reason: "it is still going; cancel it first".into(),
        });
    }
    store.delete_flow_run(id).await?.ok_or_else(|| Error::NotFound { what: "flow run", id: id.to_string() })
}

async fn wrong_state(store: &dyn Store, id: FlowRunId, reason: &str) -> Error {
    match store.inspect_flow_run(id, 0).await {
        Ok(detail) => Error::WrongState {
            run: detail.run.name,
            state: detail.run.state.map_or_else(|| "no state".to_owned(), |s| s.name.to_string()),
            reason: reason.to_owned(),
        },
        Err(error) => error,
    }
}

/// Creates a run of `deployment`, due at `due`, with its parameters
/// overridden by `overrides`. Names are checked against the flow's
/// parameters when their schema is stored; values are checked by the worker
/// before the flow starts (a bad one fails the run, naming the field,
/// without running the body).
///
/// # Errors
/// [`Error::UnknownParameter`] for a name the flow does not take.
pub async fn create_deployment_run(
    store: &dyn Store,
    deployment: &crate::Deployment,
    overrides: serde_json::Map<String, serde_json::Value>,
    due: chrono::DateTime<chrono::Utc>,
) -> Result<crate::NewFlowRun> {
    let parameters = merged_parameters(deployment, overrides);
    let known: Option<Vec<&str>> = deployment
        .spec
        .parameter_schema
        .as_ref()
        .and_then(|schema| schema.get("properties"))
        .and_then(serde_json::Value::as_object)
        .map(|properties| properties.keys().map(String::as_str).collect());
    if let Some(known) = known
        && let Some(unknown) = parameters.keys().find(|key| !known.contains(&key.as_str()))
    {
        return Err(Error::UnknownParameter {
            flow: deployment.spec.flow_name.clone(),
            name: unknown.clone(),
            known: known.iter().map(|k| (*k).to_owned()).collect(),
        });
    }
    let run = crate::NewFlowRun {
        id: FlowRunId::new(),
        deployment: deployment.id,
        name: prefect_model::run_names::flow_run_name(),
        parameters: serde_json::Value::Object(parameters),
        scheduled: due,
        auto_scheduled: false,
        parent_flow_run_id: None,
        created: chrono::Utc::now(),
    };
    store.create_flow_runs(std::slice::from_ref(&run)).await?;
    Ok(run)
}

/// The parameters a run of `deployment` gets: its own, overridden field by
/// field by `overrides`.
pub fn merged_parameters(
    deployment: &crate::Deployment,
    overrides: serde_json::Map<String, serde_json::Value>,
) -> serde_json::Map<String, serde_json::Value> {
    let mut parameters = deployment.spec.parameters.as_object().cloned().unwrap_or_default();
    parameters.extend(overrides);
    parameters
}
