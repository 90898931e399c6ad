//! One module per command group; each function runs one command.

pub(crate) mod config;
pub(crate) mod control;
pub(crate) mod db;
pub(crate) mod deployment;
pub(crate) mod flow;
pub(crate) mod flow_run;
pub(crate) mod limit;
pub(crate) mod logs;
pub(crate) mod profile;
pub(crate) mod server;
pub(crate) mod task_run;
pub(crate) mod work_queue;

use std::time::Duration;

use anyhow::{Result, anyhow, bail};
use chrono::{DateTime, TimeDelta, Utc};
use prefect_model::{FlowRunId, RunId};
use prefect_store::{AnyStore, Error as StoreError, RunScope, ShortId};
use serde_json::json;

use crate::Ctx;
use crate::db::{open_existing, wait};
use crate::output::{Output, time_ms};

/// `prefect version`: this tool's version, the schema it reads and writes,
/// and the database the settings name (not opened). Settings that do not
/// load are shown in place of the database.
pub(crate) fn version(out: &mut Output) -> Result<()> {
    let version = env!("CARGO_PKG_VERSION");
    let schema = prefect_store_sqlite::SqliteStore::SCHEMA_VERSION;
    let db = match crate::db::database_url(None) {
        Ok(url) => crate::db::display(&url),
        Err(error) => format!("unknown ({error})"),
    };
    if out.json {
        out.json(&json!({ "version": version, "schema_version": schema, "database": db }))?;
    } else {
        out.line(format_args!("prefect-rs {version}"))?;
        out.line(format_args!("database schema: {schema}"))?;
        out.line(format_args!("database: {db}"))?;
    }
    Ok(())
}

/// The store for a listing, or `None` when no database exists yet: the
/// listing is then empty (`[]` with `--json`) and stderr says why.
pub(crate) fn listing_store(ctx: &mut Ctx) -> Result<Option<AnyStore>> {
    let store = open_existing(&ctx.db)?;
    if store.is_none() {
        eprintln!("no runs recorded yet at {}", crate::db::display(&ctx.db));
        if ctx.out.json {
            ctx.out.json(&json!([]))?;
        }
    }
    Ok(store)
}

/// The flow run `reference` names (id, prefix, short id or name). When it
/// names a task run instead, the error says so.
pub(crate) fn resolve_flow_run(store: &AnyStore, reference: &str) -> Result<FlowRunId> {
    match resolve(store, reference, RunScope::FlowRuns) {
        Ok(RunId::Flow(id)) => Ok(id),
        Ok(RunId::Task(id)) => bail!("`{reference}` is task run {}, not a flow run", ShortId::of(id)),
        Err(error) if is_not_found(&error) => match wait(store.resolve_run(reference, RunScope::TaskRuns)) {
            Ok(task) => {
                let short = ShortId::of(task).to_string();
                let what = if reference.trim() == short {
                    "a task run".to_owned()
                } else {
                    format!("task run {short}")
                };
                bail!("`{reference}` is {what}, not a flow run; its logs: `prefect flow-run logs {short}`")
            }
            Err(_) => Err(error),
        },
        Err(error) => Err(error),
    }
}

/// Whether `error` is the store's "nothing matches".
pub(crate) fn is_not_found(error: &anyhow::Error) -> bool {
    error.downcast_ref::<StoreError>().is_some_and(StoreError::is_not_found)
}

/// The run of `scope` that `reference` names, with an ambiguous name's
/// runs listed one a line, in local time.
pub(crate) fn resolve(store: &AnyStore, reference: &str, scope: RunScope) -> Result<RunId> {
    wait(store.resolve_run(reference, scope)).map_err(|error| match error {
        StoreError::AmbiguousName { name, count, candidates } => {
            let mut message = format!("ambiguous: {count} runs are named `{name}`; use an id:");
            for run in &candidates {
                let kind = match run.id {
                    RunId::Flow(_) => "flow run",
                    RunId::Task(_) => "task run",
                };
                message.push_str(&format!(
                    "\n  {}  {kind}  created {}",
                    ShortId::of(run.id),
                    time_ms(run.created)
                ));
            }
            if count > candidates.len() as u64 {
                message.push_str(&format!("\n  ... and {} more", count - candidates.len() as u64));
            }
            anyhow!(message)
        }
        error => error.into(),
    })
}

/// The time `ago` before now (the earliest time for absurd durations).
pub(crate) fn ago(ago: Duration) -> DateTime<Utc> {
    TimeDelta::from_std(ago)
        .ok()
        .and_then(|delta| Utc::now().checked_sub_signed(delta))
        .unwrap_or(DateTime::<Utc>::MIN_UTC)
}
