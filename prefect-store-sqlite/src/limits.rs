//! Tag concurrency limits: create, read, list, reset, delete.

use rusqlite::{Connection, OptionalExtension, Row, params};

use super::QueryResult;
use super::codec::{now_micros, time_at, u32_at};
use prefect_store::ConcurrencyLimit;
use prefect_store::Error;

const SELECT: &str = "SELECT tag, slot_limit, active_slots, created, updated FROM concurrency_limits";

fn limit_row(row: &Row<'_>) -> rusqlite::Result<ConcurrencyLimit> {
    Ok(ConcurrencyLimit {
        tag: row.get(0)?,
        limit: u32_at(row, 1)?,
        active_slots: u32_at(row, 2)?,
        created: time_at(row, 3)?,
        updated: time_at(row, 4)?,
    })
}

fn check_tag(tag: &str) -> QueryResult<()> {
    if tag.trim().is_empty() {
        return Err(Error::InvalidArgument {
            what: "concurrency limit tag",
            reason: "the tag is empty; give the tag the limit applies to".to_owned(),
        }
        .into());
    }
    Ok(())
}

/// Creates or changes the limit of `tag`.
pub(crate) fn set(db: &Connection, tag: &str, limit: u32) -> QueryResult<ConcurrencyLimit> {
    check_tag(tag)?;
    let now = now_micros();
    db.prepare_cached(
        "INSERT INTO concurrency_limits (tag, slot_limit, active_slots, created, updated)
         VALUES (?1, ?2, 0, ?3, ?3)
         ON CONFLICT (tag) DO UPDATE SET slot_limit = excluded.slot_limit, updated = excluded.updated",
    )?
    .execute(params![tag, limit, now])?;
    get(db, tag)?.ok_or_else(|| Error::NotFound { what: "concurrency limit", id: tag.to_owned() }.into())
}

/// The limit of `tag`.
pub(crate) fn get(db: &Connection, tag: &str) -> QueryResult<Option<ConcurrencyLimit>> {
    Ok(db.prepare_cached(&format!("{SELECT} WHERE tag = ?1"))?.query_row([tag], limit_row).optional()?)
}

/// Every limit, by tag.
pub(crate) fn list(db: &Connection) -> QueryResult<Vec<ConcurrencyLimit>> {
    let mut stmt = db.prepare_cached(&format!("{SELECT} ORDER BY tag"))?;
    let rows = stmt.query_map([], limit_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Frees every slot of `tag`: its holders are forgotten, so the next run
/// (in any process) can take them.
pub(crate) fn reset(db: &mut Connection, tag: &str) -> QueryResult<bool> {
    let tx = db.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let changed = tx
        .prepare_cached("UPDATE concurrency_limits SET active_slots = 0, updated = ?2 WHERE tag = ?1")?
        .execute(params![tag, now_micros()])?;
    tx.prepare_cached("DELETE FROM concurrency_slots WHERE tag = ?1")?.execute([tag])?;
    tx.commit()?;
    Ok(changed > 0)
}

/// Deletes the limit of `tag`.
pub(crate) fn delete(db: &Connection, tag: &str) -> QueryResult<bool> {
    let changed = db.prepare_cached("DELETE FROM concurrency_limits WHERE tag = ?1")?.execute([tag])?;
    Ok(changed > 0)
}
