//! `prefect flow-run ls` and `prefect flow-run inspect`.

use anyhow::Result;
use prefect_model::StateMeta;
use prefect_store::{FlowRunDetail, FlowRunFilter, FlowRunSummary};
use serde_json::{Value, json};

use crate::Ctx;
use crate::commands::{listing_store, resolve_flow_run, task_run};
use crate::db::{open_required, wait};
use crate::output::{Cell, Output, Table, opt_time, run_duration, seconds, short_id, state_json, time};

/// Lists flow runs matching `filter`, newest first.
pub(crate) fn ls(ctx: &mut Ctx, filter: &FlowRunFilter) -> Result<()> {
    let Some(store) = listing_store(ctx)? else { return Ok(()) };
    let runs = wait(store.list_flow_runs(filter))?;
    if ctx.out.json {
        return Ok(ctx.out.json(&runs.iter().map(summary_json).collect())?);
    }
    let mut table = Table::new(&["ID", "NAME", "FLOW", "STATE", "CREATED", "DURATION"]);
    for run in &runs {
        table.push(vec![
            Cell::plain(short_id(run.id)),
            Cell::plain(&run.name),
            Cell::plain(&run.flow_name),
            ctx.out.state_cell(run.state.as_ref()),
            Cell::plain(time(run.created)),
            Cell::plain(run_duration(run.start_time, run.end_time)),
        ]);
    }
    Ok(ctx.out.table(&table)?)
}

/// Shows one flow run: its row, parameters, state history and task runs.
pub(crate) fn inspect(ctx: &mut Ctx, reference: &str, task_limit: usize) -> Result<()> {
    let store = open_required(&ctx.db)?;
    let id = resolve_flow_run(&store, reference)?;
    let detail = wait(store.inspect_flow_run(id, task_limit))?;
    if ctx.out.json {
        return Ok(ctx.out.json(&detail_json(&detail))?);
    }
    let deployment = match detail.run.deployment_id {
        Some(id) => wait(store.list_deployments())?.into_iter().find(|d| d.id == id),
        None => None,
    };
    print_header(&mut ctx.out, &detail.run, deployment.as_ref().map(|d| d.full_name()).as_deref())?;
    let labels = deployment.as_ref().map_or(&[][..], |d| &d.spec.labels[..]);
    print_wait_reason(ctx, &store, &detail.run, labels)?;
    print_parameters(&mut ctx.out, &detail.parameters)?;
    print_states(&mut ctx.out, &detail.states)?;
    print_task_runs(&mut ctx.out, &detail)
}

fn print_header(out: &mut Output, run: &FlowRunSummary, deployment: Option<&str>) -> Result<()> {
    let version = run.flow_version.as_deref().map(|v| format!(" (version {v})")).unwrap_or_default();
    let state = run.state.as_ref();
    let message = state.and_then(|s| s.message.as_deref()).map(|m| format!(": {m}")).unwrap_or_default();
    let state_text = state.map_or_else(|| "-".to_owned(), |s| s.name.to_string());
    let mut fields = vec![
        ("Flow run", format!("{} ({})", run.name, short_id(run.id))),
        ("Id", run.id.to_string()),
        ("Flow", format!("{}{version}", run.flow_name)),
        ("State", format!("{state_text}{message}")),
        ("Created", time(run.created)),
        ("Started", opt_time(run.start_time)),
        ("Ended", opt_time(run.end_time)),
        ("Duration", run_duration(run.start_time, run.end_time)),
        ("Run count", run.run_count.to_string()),
    ];
    if !run.tags.is_empty() {
        fields.push(("Tags", run.tags.join(", ")));
    }
    if let Some(parent) = run.parent_flow_run_id {
        fields.push(("Parent", format!("flow run {}", short_id(parent))));
    }
    if let Some(id) = run.deployment_id {
        fields.push(("Deployment", deployment.map_or_else(|| format!("{id} (deleted)"), str::to_owned)));
        fields.push(("Queue", run.work_queue.clone().unwrap_or_else(|| "-".into())));
        fields.push(("Due", opt_time(run.expected_start)));
    }
    for (name, value) in fields {
        out.line(format_args!("{name:<10} {value}"))?;
    }
    Ok(())
}

/// For a run of a deployment still waiting for a worker: why.
fn print_wait_reason(
    ctx: &mut Ctx,
    store: &prefect_store::AnyStore,
    run: &FlowRunSummary,
    labels: &[String],
) -> Result<()> {
    let waiting = run.state.as_ref().is_some_and(|s| s.state_type == prefect_model::StateType::Scheduled);
    let (Some(queue), Some(due), true) = (run.work_queue.as_deref(), run.expected_start, waiting) else {
        return Ok(());
    };
    let paused = wait(store.list_work_queues())?.iter().any(|q| q.name == queue && q.paused);
    let workers = crate::commands::work_queue::live_workers_of(wait(store.list_workers())?, queue);
    let due = run.state.as_ref().and_then(|s| s.scheduled_time).unwrap_or(due);
    let reason = crate::commands::work_queue::wait_reason(&run.flow_name, labels, due, paused, &workers);
    Ok(ctx.out.line(format_args!("{:<10} {reason}", "Waiting"))?)
}

fn print_parameters(out: &mut Output, parameters: &Value) -> Result<()> {
    out.line("\nParameters")?;
    let text = serde_json::to_string_pretty(parameters)?;
    for line in text.lines() {
        out.line(format_args!("  {line}"))?;
    }
    Ok(())
}

fn print_states(out: &mut Output, states: &[StateMeta]) -> Result<()> {
    out.line("\nStates")?;
    let mut table = Table::new(&["TIME", "STATE", "TYPE", "MESSAGE"]);
    for state in states {
        table.push(vec![
            Cell::plain(time(state.timestamp)),
            out.state_cell(Some(state)),
            Cell::plain(state.state_type.as_str()),
            Cell::plain(state.message.as_deref().unwrap_or("")),
        ]);
    }
    Ok(out.table(&table)?)
}

fn print_task_runs(out: &mut Output, detail: &FlowRunDetail) -> Result<()> {
    let counts: Vec<String> = detail.task_run_states.iter().map(|(t, n)| format!("{n} {t}")).collect();
    let shown = detail.task_runs.len();
    let total = detail.task_run_count;
    out.line(format_args!("\nTask runs ({shown} of {total}; {})", counts.join(", ")))?;
    if shown > 0 {
        task_run::print_table(out, &detail.task_runs)?;
    }
    if (shown as u64) < total {
        out.line(format_args!(
            "... {} more; see `prefect flow-run inspect --task-limit N`",
            total - shown as u64
        ))?;
    }
    Ok(())
}

/// A flow run row as JSON.
pub(crate) fn summary_json(run: &FlowRunSummary) -> Value {
    json!({
        "id": run.id,
        "short_id": short_id(run.id),
        "name": run.name,
        "flow_name": run.flow_name,
        "flow_version": run.flow_version,
        "tags": run.tags,
        "parent_flow_run_id": run.parent_flow_run_id,
        "parent_task_run_id": run.parent_task_run_id,
        "created": run.created,
        "start_time": run.start_time,
        "end_time": run.end_time,
        "duration_seconds": seconds(run.start_time, run.end_time),
        "run_count": run.run_count,
        "state": state_json(run.state.as_ref()),
        "deployment_id": run.deployment_id.map(|d| d.to_string()),
        "work_queue": run.work_queue,
        "expected_start": run.expected_start,
    })
}

fn detail_json(detail: &FlowRunDetail) -> Value {
    let mut value = summary_json(&detail.run);
    let counts: serde_json::Map<String, Value> =
        detail.task_run_states.iter().map(|(t, n)| (t.as_str().to_owned(), json!(n))).collect();
    value["parameters"] = detail.parameters.clone();
    value["states"] = detail.states.iter().map(|s| state_json(Some(s))).collect();
    value["task_runs"] = detail.task_runs.iter().map(task_run::summary_json).collect();
    value["task_run_count"] = json!(detail.task_run_count);
    value["task_run_states"] = Value::Object(counts);
    value
}
