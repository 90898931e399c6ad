//! `prefect flow-run cancel | retry`: changing a run from outside. The
//! process running it (a worker) acts on the change.

use anyhow::{Result, bail};
use prefect_model::{StateMeta, StateType};
use serde_json::json;

use crate::Ctx;
use crate::commands::resolve_flow_run;
use crate::db::{open_existing_for_writing, wait};
use crate::output::short_id;

/// Cancels a flow run: one still waiting in its queue ends Cancelled at
/// once; one running goes Cancelling, and its worker cancels it (it then
/// ends Cancelled, its hooks run).
pub(crate) fn cancel(ctx: &mut Ctx, reference: &str) -> Result<()> {
    let Some(store) = open_existing_for_writing(&ctx.db)? else { bail!("no runs recorded yet") };
    let id = resolve_flow_run(&store, reference)?;
    let queued =
        StateMeta::new(StateType::Cancelled).with_message("cancelled from the CLI before it started");
    let (outcome, state) = if wait(store.set_flow_run_state(id, &queued, &[StateType::Scheduled]))?.is_some()
    {
        ("cancelled (it had not started)", "Cancelled")
    } else {
        let asked = StateMeta::new(StateType::Cancelling).with_message("cancellation asked for from the CLI");
        let running = [StateType::Pending, StateType::Running, StateType::Paused];
        match wait(store.set_flow_run_state(id, &asked, &running))? {
            Some(_) => ("cancelling: its worker stops it", "Cancelling"),
            None => {
                let detail = wait(store.inspect_flow_run(id, 0))?;
                let now = detail.run.state.map_or_else(|| "no state".to_owned(), |s| s.name.to_string());
                bail!("flow run {} is {now}: nothing to cancel", detail.run.name);
            }
        }
    };
    if ctx.out.json {
        return Ok(ctx.out.json(&json!({ "id": id.to_string(), "state": state }))?);
    }
    Ok(ctx.out.line(format_args!("flow run {} {outcome}", short_id(id)))?)
}

/// Runs a flow run of a deployment again, with its parameters: it goes
/// back to its queue (AwaitingRetry) and a worker takes it. Tasks whose
/// results were persisted for this run are served from storage, so only
/// what failed runs again.
pub(crate) fn retry(ctx: &mut Ctx, reference: &str) -> Result<()> {
    let Some(store) = open_existing_for_writing(&ctx.db)? else { bail!("no runs recorded yet") };
    let id = resolve_flow_run(&store, reference)?;
    let detail = wait(store.inspect_flow_run(id, 0))?;
    if detail.run.deployment_id.is_none() {
        bail!(
            "flow run {} is not a run of a deployment: no worker could take it; run its program again",
            detail.run.name
        );
    }
    let again =
        StateMeta { scheduled_time: Some(chrono::Utc::now()), ..StateMeta::new(StateType::Scheduled) }
            .named(prefect_model::state::names::AWAITING_RETRY)
            .with_message("retry asked for from the CLI");
    let ended = [StateType::Failed, StateType::Crashed, StateType::Cancelled];
    if wait(store.set_flow_run_state(id, &again, &ended))?.is_none() {
        let now = detail.run.state.map_or_else(|| "no state".to_owned(), |s| s.name.to_string());
        bail!("flow run {} is {now}: only a Failed, Crashed or Cancelled run is retried", detail.run.name);
    }
    if ctx.out.json {
        return Ok(ctx.out.json(&json!({ "id": id.to_string(), "state": "AwaitingRetry" }))?);
    }
    Ok(ctx
        .out
        .line(format_args!("flow run {} queued again: a worker of its deployment runs it", short_id(id)))?)
}

/// Resumes a paused flow run, with an input for a run paused for one. With
/// an input, waits briefly for the paused flow to accept it: a refused
/// input (it does not read as what the flow expects) is an error naming
/// the field, and the run stays paused.
pub(crate) fn resume(ctx: &mut Ctx, reference: &str, input: Option<serde_json::Value>) -> Result<()> {
    let Some(store) = open_existing_for_writing(&ctx.db)? else { bail!("no runs recorded yet") };
    let id = resolve_flow_run(&store, reference)?;
    if wait(store.resume_flow_run(id, input.as_ref()))?.is_none() {
        let detail = wait(store.inspect_flow_run(id, 0))?;
        let now = detail.run.state.map_or_else(|| "no state".to_owned(), |s| s.name.to_string());
        bail!("flow run {} is {now}, not Paused: nothing to resume", detail.run.name);
    }
    let mut outcome = "resumed";
    if input.is_some() {
        // The paused flow reads the input within a poll (50 ms) and says
        // whether it takes it; wait a little for its answer.
        outcome = "resumed; its flow has not read the input yet";
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
        while std::time::Instant::now() < deadline {
            let state = wait(store.inspect_flow_run(id, 0))?.run.state;
            match state {
                Some(state) if state.state_type == StateType::Paused => {
                    let message = state.message.unwrap_or_default();
                    let reason = message.split("; paused until").next().unwrap_or(&message).to_owned();
                    bail!("the flow refused the input ({reason}); it is still paused");
                }
                Some(state) if state.message.as_deref() == Some(INPUT_ACCEPTED) => {
                    outcome = "resumed with the input";
                    break;
                }
                _ => std::thread::sleep(std::time::Duration::from_millis(50)),
            }
        }
    }
    if ctx.out.json {
        return Ok(ctx.out.json(&json!({ "id": id.to_string(), "state": "Running" }))?);
    }
    Ok(ctx.out.line(format_args!("flow run {} {outcome}", short_id(id)))?)
}

/// The message of the Running state a paused flow records when it takes
/// its resume input (prefect-deploy's `pause_flow_run_with_input`).
const INPUT_ACCEPTED: &str = "input accepted";
