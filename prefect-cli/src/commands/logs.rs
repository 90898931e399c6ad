//! `prefect flow-run logs [--follow]`.

use std::collections::HashMap;
use std::thread;
use std::time::Duration;

use anyhow::Result;
use indicatif::ProgressBar;
use prefect_model::{LogLevel, LogRecord};
use prefect_model::{RunId, TaskRunId};
use prefect_store::{AnyStore, Error as StoreError, LogCursor, LogFilter, RunScope};

use crate::Ctx;
use crate::commands::{is_not_found, resolve};
use crate::db::{open_required, wait};
use crate::output::{Output, short_id, time_ms};
use crate::progress;

/// How often `--follow` looks for new lines.
const POLL_INTERVAL: Duration = Duration::from_millis(200);

/// Log lines read per query.
const PAGE: usize = 1_000;

/// Prints the log lines of a flow run (with its task runs') or of a task
/// run. With `follow`, keeps polling until the run is in a final state.
/// With `progress`, a counter on stderr while the lines already recorded
/// are printed, when they are more than a page.
pub(crate) fn run(ctx: &mut Ctx, reference: &str, follow: bool, progress: bool) -> Result<()> {
    let store = open_required(&ctx.db)?;
    let run = resolve_flow_run_first(&store, reference)?;
    let mut names = Names::default();
    let mut catch_up = CatchUp { shown: progress, spinner: None, printed: 0 };
    let mut cursor = None;
    loop {
        // Read the state before the lines: once the run is seen ended, the
        // lines it recorded before ending are all stored.
        let ended = !follow || has_ended(&store, run)?;
        cursor = print_new_lines(&mut ctx.out, &store, &mut names, run, cursor, &mut catch_up)?;
        catch_up.finish();
        if ended {
            return Ok(());
        }
        ctx.out.flush()?;
        thread::sleep(POLL_INTERVAL);
    }
}

/// A flow run if one matches `reference`, else a task run: the lookup
/// among task runs (which may scan them) only runs when no flow run matches.
fn resolve_flow_run_first(store: &AnyStore, reference: &str) -> Result<RunId> {
    match resolve(store, reference, RunScope::FlowRuns) {
        Err(error) if is_not_found(&error) => match resolve(store, reference, RunScope::TaskRuns) {
            Err(error) if is_not_found(&error) => {
                Err(StoreError::NotFound { what: "flow run or task run", id: reference.trim().to_owned() }
                    .into())
            }
            other => other,
        },
        other => other,
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
    names: &mut Names,
    run: RunId,
    mut cursor: Option<LogCursor>,
    catch_up: &mut CatchUp,
) -> Result<Option<LogCursor>> {
    loop {
        let filter = LogFilter::of(run).limit(PAGE);
        let filter = match cursor {
            Some(after) => filter.after(after),
            None => filter,
        };
        let page = wait(store.logs(&filter))?;
        catch_up
            .suspend(|| page.iter().try_for_each(|entry| print_line(out, store, names, &entry.record)))?;
        cursor = page.last().map(|entry| entry.cursor).or(cursor);
        catch_up.printed(page.len(), page.len() == PAGE);
        if page.len() < PAGE {
            return Ok(cursor);
        }
    }
}

/// The progress of printing the lines recorded before the command
/// started: a counter, shown once there is more than a page of them.
struct CatchUp {
    /// Whether progress may be shown (a terminal, not turned off); false
    /// once the catch-up is over.
    shown: bool,
    spinner: Option<ProgressBar>,
    printed: u64,
}

impl CatchUp {
    /// Counts a page of `lines`; `more` when another page may follow.
    fn printed(&mut self, lines: usize, more: bool) {
        self.printed += lines as u64;
        if self.shown && more && self.spinner.is_none() {
            self.spinner = Some(progress::lines_spinner(true));
        }
        if let Some(spinner) = &self.spinner {
            spinner.set_position(self.printed);
        }
    }

    /// Runs `print` with the counter off the screen, so lines on the same
    /// terminal are not mixed with it.
    fn suspend<R>(&self, print: impl FnOnce() -> R) -> R {
        match &self.spinner {
            Some(spinner) => spinner.suspend(print),
            None => print(),
        }
    }

    /// Ends the catch-up: the counter is cleared, and not shown again.
    fn finish(&mut self) {
        self.shown = false;
        if let Some(spinner) = self.spinner.take() {
            spinner.finish_and_clear();
        }
    }
}

/// Where a line came from, as printed: the flow run's name, or the task
/// run's name and short id; looked up once per run.
#[derive(Default)]
struct Names {
    runs: HashMap<RunId, String>,
}

impl Names {
    fn source(&mut self, store: &AnyStore, record: &LogRecord) -> Result<String> {
        let run = match (record.task_run_id, record.flow_run_id) {
            (Some(task), _) => RunId::Task(task),
            (None, Some(flow)) => RunId::Flow(flow),
            (None, None) => return Ok("-".to_owned()),
        };
        if let Some(name) = self.runs.get(&run) {
            return Ok(name.clone());
        }
        let name = match run {
            RunId::Flow(id) => match wait(store.inspect_flow_run(id, 0)) {
                Ok(detail) => detail.run.name,
                Err(error) if error.is_not_found() => "flow".to_owned(),
                Err(error) => return Err(error.into()),
            },
            RunId::Task(id) => task_source(store, id)?,
        };
        self.runs.insert(run, name.clone());
        Ok(name)
    }
}

/// `fetch-3f2 9600997dad45`, or the short id alone for a run not stored.
fn task_source(store: &AnyStore, id: TaskRunId) -> Result<String> {
    match wait(store.inspect_task_run(id)) {
        Ok(detail) => Ok(format!("{} {}", detail.run.name, short_id(id))),
        Err(error) if error.is_not_found() => Ok(format!("task {}", short_id(id))),
        Err(error) => Err(error.into()),
    }
}

fn print_line(out: &mut Output, store: &AnyStore, names: &mut Names, record: &LogRecord) -> Result<()> {
    if out.json {
        return Ok(out.json_line(&serde_json::to_value(record)?)?);
    }
    let source = names.source(store, record)?;
    let fields: String = record.fields.iter().map(|(k, v)| format!(" {k}={v}")).collect();
    let level = level_cell(out, record.level);
    Ok(out.line(format_args!(
        "{} {level} {source:<24} | {}{fields}",
        time_ms(record.timestamp),
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
