//! `prefect flow-run logs [--follow]`.

use std::thread;
use std::time::Duration;

use anyhow::Result;
use prefect_model::RunId;
use prefect_model::{LogLevel, LogRecord};
use prefect_store::{AnyStore, LogCursor, LogFilter};

use crate::Ctx;
use crate::db::{open_required, wait};
use crate::output::{Output, short_id, time};

/// How often `--follow` looks for new lines.
const POLL_INTERVAL: Duration = Duration::from_millis(200);

/// Log lines read per query.
const PAGE: usize = 1_000;

/// Prints the log lines of a flow run (with its task runs') or of a task
/// run. With `follow`, keeps polling until the run is in a final state.
pub(crate) fn run(ctx: &mut Ctx, prefix: &str, follow: bool) -> Result<()> {
    let store = open_required(&ctx.db)?;
    let run = wait(store.resolve_run(prefix))?;
    let mut cursor = None;
    loop {
        // Read the state before the lines: once the run is seen ended, the
        // lines it recorded before ending are all stored.
        let ended = !follow || has_ended(&store, run)?;
        cursor = print_new_lines(&mut ctx.out, &store, run, cursor)?;
        if ended {
            return Ok(());
        }
        ctx.out.flush()?;
        thread::sleep(POLL_INTERVAL);
    }
}

fn has_ended(store: &AnyStore, run: RunId) -> Result<bool> {
    let state = match run {
        RunId::Flow(id) => wait(store.inspect_flow_run(id, 0))?.run.state,
        RunId::Task(id) => wait(store.inspect_task_run(id))?.run.state,
    };
    Ok(state.is_some_and(|s| s.state_type.is_final()))
}

/// Prints every line after `cursor`; returns the cursor of the last one.
fn print_new_lines(
    out: &mut Output,
    store: &AnyStore,
    run: RunId,
    mut cursor: Option<LogCursor>,
) -> Result<Option<LogCursor>> {
    loop {
        let filter = LogFilter::of(run).limit(PAGE);
        let filter = match cursor {
            Some(after) => filter.after(after),
            None => filter,
        };
        let page = wait(store.logs(&filter))?;
        for entry in &page {
            print_line(out, &entry.record)?;
        }
        cursor = page.last().map(|entry| entry.cursor).or(cursor);
        if page.len() < PAGE {
            return Ok(cursor);
        }
    }
}

fn print_line(out: &mut Output, record: &LogRecord) -> Result<()> {
    if out.json {
        return Ok(out.json_line(&serde_json::to_value(record)?)?);
    }
    let source = match record.task_run_id {
        Some(id) => format!("task {}", short_id(id)),
        None => "flow".to_owned(),
    };
    let fields: String = record.fields.iter().map(|(k, v)| format!(" {k}={v}")).collect();
    let level = level_cell(out, record.level);
    Ok(out.line(format_args!(
        "{} {level} {source:<13} | {}{fields}",
        time(record.timestamp),
        record.message
    ))?)
}

fn level_cell(out: &Output, level: LogLevel) -> String {
    let color = match level {
        LogLevel::Error | LogLevel::Critical => "31",
        LogLevel::Warning => "33",
        LogLevel::Info => "32",
        LogLevel::Debug | LogLevel::Trace => "90",
    };
    out.paint(format!("{:<7}", level.as_str()), color).to_string()
}
