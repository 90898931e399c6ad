//! `prefect concurrency-limit create | ls | delete`.

use anyhow::{Result, bail};
use prefect_store::ConcurrencyLimit;
use serde_json::{Value, json};

use crate::Ctx;
use crate::commands::listing_store;
use crate::db::{open_existing_for_writing, open_or_create, wait};
use crate::output::{Cell, Table, time};

/// Creates or changes the limit of `tag` (creating the database if needed).
pub(crate) fn create(ctx: &mut Ctx, tag: &str, limit: u32) -> Result<()> {
    let store = open_or_create(&ctx.db)?;
    let created = wait(store.set_concurrency_limit(tag, limit))?;
    if ctx.out.json {
        return Ok(ctx.out.json(&to_json(&created))?);
    }
    Ok(ctx.out.line(format_args!("concurrency limit of tag `{}` set to {}", created.tag, created.limit))?)
}

/// Lists every limit, by tag.
pub(crate) fn ls(ctx: &mut Ctx) -> Result<()> {
    let Some(store) = listing_store(ctx)? else { return Ok(()) };
    let limits = wait(store.list_concurrency_limits())?;
    if ctx.out.json {
        return Ok(ctx.out.json(&limits.iter().map(to_json).collect())?);
    }
    let mut table = Table::new(&["TAG", "LIMIT", "ACTIVE", "UPDATED"]);
    for limit in &limits {
        table.push(vec![
            Cell::plain(&limit.tag),
            Cell::plain(limit.limit.to_string()),
            Cell::plain(limit.active_slots.to_string()),
            Cell::plain(time(limit.updated)),
        ]);
    }
    Ok(ctx.out.table(&table)?)
}

/// Deletes the limit of `tag`; an error when there is none.
pub(crate) fn delete(ctx: &mut Ctx, tag: &str) -> Result<()> {
    let deleted = match open_existing_for_writing(&ctx.db)? {
        Some(store) => wait(store.delete_concurrency_limit(tag))?,
        None => false,
    };
    if !deleted {
        bail!("no concurrency limit is set for tag `{tag}`");
    }
    if ctx.out.json {
        return Ok(ctx.out.json(&json!({ "tag": tag, "deleted": true }))?);
    }
    Ok(ctx.out.line(format_args!("concurrency limit of tag `{tag}` deleted"))?)
}

fn to_json(limit: &ConcurrencyLimit) -> Value {
    json!({
        "tag": limit.tag,
        "limit": limit.limit,
        "active_slots": limit.active_slots,
        "created": limit.created,
        "updated": limit.updated,
    })
}
