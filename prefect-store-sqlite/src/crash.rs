//! Leases, and marking Crashed the runs whose process is gone.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use prefect_model::{FlowRunId, RunId, StateMeta, StateType, TaskRunId};
use rusqlite::{Connection, TransactionBehavior, params};

use super::QueryResult;
use super::codec::{micros, time_at, uuid_at};
use super::state::apply_state;
use prefect_store::{Lease, LeaseId, LeaseOwner};

/// `ttl` after `now`, or the latest time chrono represents for a `ttl`
/// that reaches past it (a lease that never expires).
fn expiry(now: DateTime<Utc>, ttl: Duration) -> DateTime<Utc> {
    TimeDelta::from_std(ttl)
        .ok()
        .and_then(|ttl| now.checked_add_signed(ttl))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// Registers `owner` as a writer until `ttl` from now.
pub(crate) fn acquire(db: &Connection, owner: &LeaseOwner, ttl: Duration) -> QueryResult<Lease> {
    let now = Utc::now();
    let expires = expiry(now, ttl);
    db.prepare_cached(
        "INSERT INTO leases (pid, host, boot_id, pid_start, acquired, expires)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![
        owner.pid,
        owner.host,
        owner.boot_id,
        owner.pid_start.and_then(|s| i64::try_from(s).ok()),
        micros(now),
        micros(expires),
    ])?;
    Ok(Lease { id: LeaseId(db.last_insert_rowid()), owner: owner.clone(), expires })
}

/// Extends a lease. When it is gone (judged dead, its runs crashed), takes
/// it again under the same id, so the runs it still records stay owned, and
/// returns false.
pub(crate) fn renew(db: &Connection, lease: &Lease, ttl: Duration) -> QueryResult<bool> {
    let now = Utc::now();
    let expires = micros(expiry(now, ttl));
    let changed = db
        .prepare_cached("UPDATE leases SET expires = ?2 WHERE id = ?1")?
        .execute(params![lease.id.0, expires])?;
    if changed > 0 {
        return Ok(true);
    }
    let owner = &lease.owner;
    db.prepare_cached(
        "INSERT INTO leases (id, pid, host, boot_id, pid_start, acquired, expires)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?
    .execute(params![
        lease.id.0,
        owner.pid,
        owner.host,
        owner.boot_id,
        owner.pid_start.and_then(|s| i64::try_from(s).ok()),
        micros(now),
        expires,
    ])?;
    Ok(false)
}

/// Gives a lease up, marking its unfinished runs Crashed.
pub(crate) fn release(db: &mut Connection, lease: LeaseId) -> QueryResult<Vec<RunId>> {
    let tx = db.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let mut dead = HashMap::new();
    dead.insert(lease.0, "its recorder was closed before the run ended".to_owned());
    let crashed = crash_runs_of(&tx, &dead, Utc::now())?;
    tx.execute("DELETE FROM leases WHERE id = ?1", [lease.0])?;
    tx.commit()?;
    Ok(crashed)
}

/// Marks Crashed the unfinished runs whose lease is dead or missing, and
/// deletes the dead leases. Takes the write lock only when there is
/// something to do, so opening a healthy database writes nothing.
pub(crate) fn mark_crashed_stale_runs(db: &mut Connection) -> QueryResult<Vec<RunId>> {
    let (dead, stale) = find_stale(db, Utc::now())?;
    if dead.is_empty() && stale.is_empty() {
        return Ok(Vec::new());
    }
    let tx = db.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let now = Utc::now();
    let (dead, stale) = find_stale(&tx, now)?;
    let crashed = crash_runs_of(&tx, &stale, now)?;
    for lease in &dead {
        tx.execute("DELETE FROM leases WHERE id = ?1", [lease])?;
    }
    tx.commit()?;
    Ok(crashed)
}

/// The dead leases, and the leases of unfinished runs that are dead or
/// missing, with the reason.
fn find_stale(db: &Connection, now: DateTime<Utc>) -> QueryResult<(Vec<i64>, HashMap<i64, String>)> {
    let (live, mut stale) = judge_leases(db, now)?;
    let dead: Vec<i64> = stale.keys().copied().collect();
    for lease in open_leases(db)? {
        if !live.contains(&lease) && !stale.contains_key(&lease) {
            stale.insert(lease, "the process that ran it is gone".to_owned());
        }
    }
    Ok((dead, stale))
}

/// Splits the leases into live ones and dead ones (with the reason).
fn judge_leases(db: &Connection, now: DateTime<Utc>) -> QueryResult<(HashSet<i64>, HashMap<i64, String>)> {
    let here = LeaseOwner::current();
    let mut stmt = db.prepare_cached("SELECT id, pid, host, boot_id, pid_start, expires FROM leases")?;
    let rows = stmt.query_map([], |row| {
        let owner = LeaseOwner {
            pid: row.get(1)?,
            host: row.get(2)?,
            boot_id: row.get(3)?,
            pid_start: row.get::<_, Option<i64>>(4)?.and_then(|s| u64::try_from(s).ok()),
        };
        Ok((row.get::<_, i64>(0)?, owner, time_at(row, 5)?))
    })?;
    let (mut live, mut dead) = (HashSet::new(), HashMap::new());
    for row in rows {
        let (id, owner, expires) = row?;
        if owner.is_alive(expires, now, &here) {
            live.insert(id);
        } else {
            let why = format!(
                "the process that ran it (pid {} on {}) stopped before the run ended",
                owner.pid, owner.host
            );
            dead.insert(id, why);
        }
    }
    Ok((live, dead))
}

/// The leases that own unfinished runs.
fn open_leases(db: &Connection) -> QueryResult<Vec<i64>> {
    let mut leases = Vec::new();
    for table in ["flow_runs", "task_runs"] {
        let sql =
            format!("SELECT DISTINCT lease_id FROM {table} WHERE end_time IS NULL AND lease_id IS NOT NULL");
        let mut stmt = db.prepare_cached(&sql)?;
        let rows = stmt.query_map([], |row| row.get::<_, i64>(0))?;
        for lease in rows {
            leases.push(lease?);
        }
    }
    Ok(leases)
}

/// Marks Crashed every unfinished run owned by one of `leases`.
fn crash_runs_of(
    db: &Connection,
    leases: &HashMap<i64, String>,
    now: DateTime<Utc>,
) -> QueryResult<Vec<RunId>> {
    let mut crashed = Vec::new();
    for (lease, why) in leases {
        for (table, flow) in [("flow_runs", true), ("task_runs", false)] {
            let sql = format!("SELECT id FROM {table} WHERE end_time IS NULL AND lease_id = ?1");
            let mut stmt = db.prepare_cached(&sql)?;
            let runs: Vec<_> =
                stmt.query_map([lease], |row| uuid_at(row, 0))?.collect::<rusqlite::Result<_>>()?;
            for id in runs {
                let run = if flow { RunId::Flow(FlowRunId(id)) } else { RunId::Task(TaskRunId(id)) };
                // Stamped after the run's last state if the clocks disagree.
                let state = StateMeta {
                    timestamp: now,
                    ..StateMeta::new(StateType::Crashed).with_message(why.clone())
                };
                apply_state(db, run, &state, None)?;
                crashed.push(run);
            }
        }
    }
    Ok(crashed)
}
