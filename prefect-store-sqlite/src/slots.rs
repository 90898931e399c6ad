//! Tag concurrency slots shared by every process using the database.
//!
//! A task run with limited tags takes a slot of each in one transaction, or
//! none; the holder row records its process, and slots whose process has
//! died are freed before counting, so a crash cannot leak a slot.

use prefect_model::TaskRunId;
use rusqlite::{Connection, TransactionBehavior, params};

use super::QueryResult;
use super::codec::{now_micros, opt_uuid_at, time_at, uuid_at};
use prefect_model::FlowRunId;
use prefect_store::LeaseOwner;
use prefect_store::{SlotDecision, SlotHolder};

/// Takes a slot of every limited tag among `tags` for `holder`, or none.
pub(crate) fn try_acquire(
    db: &mut Connection,
    tags: &[String],
    holder: TaskRunId,
    owner: &LeaseOwner,
) -> QueryResult<SlotDecision> {
    let tx = db.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let mut limited = Vec::new();
    for tag in tags {
        let limit: Option<i64> = tx
            .prepare_cached("SELECT slot_limit FROM concurrency_limits WHERE tag = ?1")?
            .query_row([tag], |row| row.get(0))
            .ok();
        if let Some(limit) = limit {
            limited.push((tag, limit));
        }
    }
    if limited.is_empty() {
        return Ok(SlotDecision::NoLimits);
    }
    if let Some((tag, _)) = limited.iter().find(|(_, limit)| *limit == 0) {
        return Ok(SlotDecision::Abort((*tag).clone()));
    }
    for (tag, _) in &limited {
        free_dead_holders(&tx, tag, owner)?;
    }
    for (tag, limit) in &limited {
        let held: i64 = tx
            .prepare_cached("SELECT COUNT(*) FROM concurrency_slots WHERE tag = ?1")?
            .query_row([tag], |row| row.get(0))?;
        if held >= *limit {
            tx.commit()?;
            return Ok(SlotDecision::Busy);
        }
    }
    let now = now_micros();
    for (tag, _) in &limited {
        tx.prepare_cached(
            "INSERT OR REPLACE INTO concurrency_slots (holder, tag, pid, host, boot_id, pid_start, acquired)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )?
        .execute(params![
            holder.0.into_bytes(),
            tag,
            owner.pid,
            owner.host,
            owner.boot_id,
            owner.pid_start.map(|s| s as i64),
            now
        ])?;
    }
    count_active(&tx)?;
    tx.commit()?;
    Ok(SlotDecision::Acquired)
}

/// Frees every slot `holder` has.
pub(crate) fn release(db: &mut Connection, holder: TaskRunId) -> QueryResult<()> {
    let tx = db.transaction_with_behavior(TransactionBehavior::Immediate)?;
    tx.prepare_cached("DELETE FROM concurrency_slots WHERE holder = ?1")?.execute([holder.0.into_bytes()])?;
    count_active(&tx)?;
    tx.commit()?;
    Ok(())
}

/// Every slot's holder, by tag then oldest first, with its task run's name
/// and flow run where recorded; holders whose process is known dead from
/// `here` are left out (the next acquisition frees them).
pub(crate) fn holders(db: &Connection, here: &LeaseOwner) -> QueryResult<Vec<SlotHolder>> {
    let mut stmt = db.prepare_cached(
        "SELECT s.tag, s.holder, t.name, t.flow_run_id, s.pid, s.host, s.boot_id, s.pid_start, s.acquired
         FROM concurrency_slots s LEFT JOIN task_runs t ON t.id = s.holder
         ORDER BY s.tag, s.acquired, s.holder",
    )?;
    let rows = stmt.query_map([], |row| {
        let owner = LeaseOwner {
            pid: row.get(4)?,
            host: row.get(5)?,
            boot_id: row.get(6)?,
            pid_start: row.get::<_, Option<i64>>(7)?.map(|s| s as u64),
        };
        let holder = SlotHolder {
            tag: row.get(0)?,
            holder: TaskRunId(uuid_at(row, 1)?),
            task_run_name: row.get(2)?,
            flow_run_id: opt_uuid_at(row, 3)?.map(FlowRunId),
            pid: owner.pid,
            host: owner.host.clone(),
            acquired: time_at(row, 8)?,
        };
        Ok((holder, owner))
    })?;
    let mut alive = Vec::new();
    for row in rows {
        let (holder, owner) = row?;
        if !owner.is_dead_here(here) {
            alive.push(holder);
        }
    }
    Ok(alive)
}

fn free_dead_holders(db: &Connection, tag: &str, here: &LeaseOwner) -> QueryResult<()> {
    let mut stmt = db.prepare_cached(
        "SELECT holder, pid, host, boot_id, pid_start FROM concurrency_slots WHERE tag = ?1",
    )?;
    let holders: Vec<(Vec<u8>, LeaseOwner)> = stmt
        .query_map([tag], |row| {
            let owner = LeaseOwner {
                pid: row.get(1)?,
                host: row.get(2)?,
                boot_id: row.get(3)?,
                pid_start: row.get::<_, Option<i64>>(4)?.map(|s| s as u64),
            };
            Ok((row.get(0)?, owner))
        })?
        .collect::<rusqlite::Result<_>>()?;
    for (holder, owner) in holders {
        if owner.is_dead_here(here) {
            db.prepare_cached("DELETE FROM concurrency_slots WHERE holder = ?1")?.execute([holder])?;
        }
    }
    Ok(())
}

/// Keeps `concurrency_limits.active_slots` (shown by the CLI) in step.
fn count_active(db: &Connection) -> QueryResult<()> {
    db.prepare_cached(
        "UPDATE concurrency_limits SET active_slots =
            (SELECT COUNT(*) FROM concurrency_slots s WHERE s.tag = concurrency_limits.tag)",
    )?
    .execute([])?;
    Ok(())
}
