//! `prefect task-run ls`.

use anyhow::Result;
use prefect_model::StateType;
use prefect_store::{TaskRunFilter, TaskRunSummary};
use serde_json::{Value, json};

use crate::Ctx;
use crate::commands::resolve_flow_run;
use crate::db::{no_runs, open_existing, wait};
use crate::output::{Cell, Output, Table, opt_time, run_duration, seconds, short_id, state_json};

/// Lists the task runs of a flow run (by id, prefix, short id or name), or those
/// called outside any flow.
pub(crate) fn ls(ctx: &mut Ctx, flow_run: Option<&str>, states: Vec<StateType>, limit: usize) -> Result<()> {
    let store = match (open_existing(&ctx.db)?, flow_run) {
        (Some(store), _) => store,
        (None, Some(_)) => return Err(no_runs(&ctx.db)),
        (None, None) => return crate::commands::listing_store(ctx).map(drop),
    };
    let mut filter = match flow_run {
        Some(reference) => TaskRunFilter::of_flow_run(resolve_flow_run(&store, reference)?),
        None => TaskRunFilter::standalone(),
    };
    filter.states = states;
    let runs = wait(store.list_task_runs(&filter.limit(limit)))?;
    if ctx.out.json {
        return Ok(ctx.out.json(&runs.iter().map(summary_json).collect())?);
    }
    print_table(&mut ctx.out, &runs)
}

/// Prints task runs as a table.
pub(crate) fn print_table(out: &mut Output, runs: &[TaskRunSummary]) -> Result<()> {
    let mut table = Table::new(&["ID", "NAME", "TASK", "STATE", "STARTED", "DURATION", "RUNS"]);
    for run in runs {
        table.push(vec![
            Cell::plain(short_id(run.id)),
            Cell::plain(&run.name),
            Cell::plain(&run.task_name),
            out.state_cell(run.state.as_ref()),
            Cell::plain(opt_time(run.start_time)),
            Cell::plain(run_duration(run.start_time, run.end_time)),
            Cell::plain(run.run_count.to_string()),
        ]);
    }
    Ok(out.table(&table)?)
}

/// A task run row as JSON.
pub(crate) fn summary_json(run: &TaskRunSummary) -> Value {
    json!({
        "id": run.id,
        "short_id": short_id(run.id),
        "name": run.name,
        "task_name": run.task_name,
        "flow_run_id": run.flow_run_id,
        "parent_task_run_id": run.parent_task_run_id,
        "subflow_run_id": run.subflow_run_id,
        "map_index": run.map_index,
        "tags": run.tags,
        "created": run.created,
        "start_time": run.start_time,
        "end_time": run.end_time,
        "duration_seconds": seconds(run.start_time, run.end_time),
        "run_count": run.run_count,
        "state": state_json(run.state.as_ref()),
    })
}
