//! `prefect db prune`.

use std::time::Duration;

use anyhow::Result;
use prefect_store::{PruneProgress, PruneReport};
use serde_json::json;

use crate::Ctx;
use crate::db::{open_existing_for_writing, wait};
use crate::progress;

/// Deletes runs that ended more than `older_than` ago, with a bar of runs
/// deleted on a terminal (`progress`).
pub(crate) fn prune(ctx: &mut Ctx, older_than: Duration, progress: bool) -> Result<()> {
    let report = match open_existing_for_writing(&ctx.db)? {
        Some(store) => {
            let bar = progress::PruneBar::new(progress);
            let report = wait(store.prune_with_progress(older_than, &|p: PruneProgress| bar.show(p)));
            bar.finish();
            report?
        }
        None => {
            eprintln!("no runs recorded yet at {}; nothing to prune", crate::db::display(&ctx.db));
            PruneReport::default()
        }
    };
    if ctx.out.json {
        return Ok(ctx.out.json(&json!({
            "flow_runs": report.flow_runs,
            "task_runs": report.task_runs,
            "states": report.states,
            "logs": report.logs,
            "dependencies": report.dependencies,
        }))?);
    }
    let age = humantime::format_duration(older_than);
    Ok(ctx.out.line(format_args!(
        "pruned runs that ended more than {age} ago: {} flow runs, {} task runs, {} states, {} log lines",
        report.flow_runs, report.task_runs, report.states, report.logs
    ))?)
}
