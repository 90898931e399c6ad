//! `prefect flow ls`.

use anyhow::Result;
use prefect_store::FlowSummary;
use serde_json::{Value, json};

use crate::Ctx;
use crate::commands::listing_store;
use crate::db::wait;
use crate::output::{Cell, Table, opt_time, time};

/// Lists every flow with recorded runs.
pub(crate) fn ls(ctx: &mut Ctx) -> Result<()> {
    let Some(store) = listing_store(ctx)? else { return Ok(()) };
    let flows = wait(store.list_flows())?;
    if ctx.out.json {
        return Ok(ctx.out.json(&flows.iter().map(to_json).collect())?);
    }
    let mut table = Table::new(&["NAME", "CREATED", "LAST RUN"]);
    for flow in &flows {
        table.push(vec![
            Cell::plain(&flow.name),
            Cell::plain(time(flow.created)),
            Cell::plain(opt_time(flow.last_run)),
        ]);
    }
    Ok(ctx.out.table(&table)?)
}

fn to_json(flow: &FlowSummary) -> Value {
    json!({ "name": flow.name, "created": flow.created, "last_run": flow.last_run })
}
