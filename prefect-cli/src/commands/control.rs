//! `prefect flow-run cancel | retry | resume`: changing a run from
//! outside, through `prefect_store::control` (as the server does). The
//! process running it (a worker) acts on the change.

use std::time::Duration;

use anyhow::{Result, bail};
use prefect_store::control::{self, Cancelled, Resumed};
use serde_json::json;

use crate::Ctx;
use crate::commands::resolve_flow_run;
use crate::db::{open_existing_for_writing, wait};
use crate::output::short_id;

/// Who the states' messages say asked.
const BY: &str = "the CLI";

/// Cancels a flow run: one still waiting in its queue ends Cancelled at
/// once; one running goes Cancelling, and its worker cancels it.
pub(crate) fn cancel(ctx: &mut Ctx, reference: &str) -> Result<()> {
    let Some(store) = open_existing_for_writing(&ctx.db)? else { bail!("no runs recorded yet") };
    let id = resolve_flow_run(&store, reference)?;
    let (outcome, state) = match wait(control::cancel_flow_run(&*store, id, BY))? {
        Cancelled::BeforeStart => ("cancelled (it had not started)", "Cancelled"),
        Cancelled::Asked => ("cancelling: its worker stops it", "Cancelling"),
    };
    if ctx.out.json {
        return Ok(ctx.out.json(&json!({ "id": id.to_string(), "state": state }))?);
    }
    Ok(ctx.out.line(format_args!("flow run {} {outcome}", short_id(id)))?)
}

/// Runs a flow run of a deployment again, with its parameters.
pub(crate) fn retry(ctx: &mut Ctx, reference: &str) -> Result<()> {
    let Some(store) = open_existing_for_writing(&ctx.db)? else { bail!("no runs recorded yet") };
    let id = resolve_flow_run(&store, reference)?;
    wait(control::retry_flow_run(&*store, id, BY))?;
    if ctx.out.json {
        return Ok(ctx.out.json(&json!({ "id": id.to_string(), "state": "AwaitingRetry" }))?);
    }
    Ok(ctx
        .out
        .line(format_args!("flow run {} queued again: a worker of its deployment runs it", short_id(id)))?)
}

/// Resumes a paused flow run, with an input for a run paused for one,
/// waiting up to 2 s for the flow to take it.
pub(crate) fn resume(ctx: &mut Ctx, reference: &str, input: Option<serde_json::Value>) -> Result<()> {
    let Some(store) = open_existing_for_writing(&ctx.db)? else { bail!("no runs recorded yet") };
    let id = resolve_flow_run(&store, reference)?;
    let sleep = |delay| async move { std::thread::sleep(delay) };
    let resumed = wait(control::resume_flow_run(&*store, id, input.as_ref(), Duration::from_secs(2), sleep))?;
    let outcome = match (resumed, input.is_some()) {
        (Resumed::Running, true) => "resumed with the input",
        (Resumed::Running, false) => "resumed",
        (Resumed::InputNotReadYet, _) => "resumed; its flow has not read the input yet",
    };
    if ctx.out.json {
        return Ok(ctx.out.json(&json!({ "id": id.to_string(), "state": "Running" }))?);
    }
    Ok(ctx.out.line(format_args!("flow run {} {outcome}", short_id(id)))?)
}
