//! One module per command group; each function runs one command.

pub(crate) mod config;
pub(crate) mod db;
pub(crate) mod flow;
pub(crate) mod flow_run;
pub(crate) mod limit;
pub(crate) mod logs;
pub(crate) mod profile;
pub(crate) mod task_run;

use std::time::Duration;

use anyhow::{Result, bail};
use chrono::{DateTime, TimeDelta, Utc};
use prefect_model::{FlowRunId, RunId};
use prefect_store::AnyStore;
use serde_json::json;

use crate::Ctx;
use crate::db::{open_existing, wait};

/// `prefect version`: this tool's version and the schema it reads and
/// writes. Does not open the database.
pub(crate) fn version(ctx: &mut Ctx) -> Result<()> {
    let version = env!("CARGO_PKG_VERSION");
    let schema = prefect_store_sqlite::SqliteStore::SCHEMA_VERSION;
    if ctx.out.json {
        let db = crate::db::display(&ctx.db);
        ctx.out.json(&json!({ "version": version, "schema_version": schema, "database": db }))?;
    } else {
        ctx.out.line(format_args!("prefect-rs {version}"))?;
        ctx.out.line(format_args!("database schema: {schema}"))?;
        ctx.out.line(format_args!("database: {}", crate::db::display(&ctx.db)))?;
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

/// The flow run whose id starts with `prefix`.
pub(crate) fn resolve_flow_run(store: &AnyStore, prefix: &str) -> Result<FlowRunId> {
    match wait(store.resolve_run(prefix))? {
        RunId::Flow(id) => Ok(id),
        RunId::Task(id) => bail!("`{prefix}` is task run {id}, not a flow run"),
    }
}

/// The time `ago` before now (the earliest time for absurd durations).
pub(crate) fn ago(ago: Duration) -> DateTime<Utc> {
    TimeDelta::from_std(ago)
        .ok()
        .and_then(|delta| Utc::now().checked_sub_signed(delta))
        .unwrap_or(DateTime::<Utc>::MIN_UTC)
}
