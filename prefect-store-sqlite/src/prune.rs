//! Retention: deleting old finished runs with everything attached to them,
//! in short transactions so recorders are not held up. A run's history
//! goes with its row (and its `states` rows, written by version 1).

use std::time::Duration;

use chrono::{TimeDelta, Utc};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use super::codec::{micros, now_micros, uuid_at};
use super::{QueryResult, history};
use prefect_store::{PruneReport, Retention};

/// Rows deleted per transaction, roughly.
const ROWS_PER_TRANSACTION: u64 = 20_000;

/// Runs fetched per query.
const RUNS_PER_QUERY: usize = 100;

/// The time `older_than` ago, in microseconds; `i64::MIN` (nothing is
/// older) when that is before the earliest time chrono represents.
fn cutoff(older_than: Duration) -> i64 {
    TimeDelta::from_std(older_than)
        .ok()
        .and_then(|age| Utc::now().checked_sub_signed(age))
        .map_or(i64::MIN, micros)
}

/// Deletes the runs that ended before `older_than` ago.
pub(crate) fn prune(db: &mut Connection, older_than: Duration) -> QueryResult<PruneReport> {
    let cutoff = cutoff(older_than);
    let mut report = PruneReport::default();
    loop {
        let (chunk, more) = prune_some(db, cutoff)?;
        report.add(chunk);
        if !more {
            break;
        }
    }
    if report != PruneReport::default() {
        // Hands the freed pages back to the file system.
        db.execute_batch("PRAGMA incremental_vacuum")?;
    }
    Ok(report)
}

/// Prunes if the last prune was at least `retention.every` ago.
pub(crate) fn prune_if_due(db: &mut Connection, retention: Retention) -> QueryResult<Option<PruneReport>> {
    let now = now_micros();
    let every = i64::try_from(retention.every.as_micros()).unwrap_or(i64::MAX);
    let tx = db.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let last: Option<i64> = tx
        .query_row("SELECT value FROM store_meta WHERE key = 'last_prune'", [], |row| row.get(0))
        .optional()?;
    if last.is_some_and(|last| now.saturating_sub(last) < every) {
        return Ok(None);
    }
    tx.execute(
        "INSERT INTO store_meta (key, value) VALUES ('last_prune', ?1)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        [now],
    )?;
    tx.commit()?;
    prune(db, retention.keep).map(Some)
}

/// One transaction's worth of deletions; true when more may remain.
fn prune_some(db: &mut Connection, cutoff: i64) -> QueryResult<(PruneReport, bool)> {
    let tx = db.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let mut report = PruneReport::default();
    let mut more = true;
    while more && rows(&report) < ROWS_PER_TRANSACTION {
        let flow_runs = old_runs(&tx, "flow_runs", "1", cutoff)?;
        for id in &flow_runs {
            delete_flow_run(&tx, id, &mut report)?;
        }
        let task_runs = old_runs(&tx, "task_runs", "flow_run_id IS NULL", cutoff)?;
        for id in &task_runs {
            delete_task_run(&tx, id, &mut report)?;
        }
        more = flow_runs.len() == RUNS_PER_QUERY || task_runs.len() == RUNS_PER_QUERY;
    }
    tx.commit()?;
    Ok((report, more))
}

fn rows(report: &PruneReport) -> u64 {
    report.flow_runs + report.task_runs + report.states + report.logs + report.dependencies
}

/// Ids of runs in `table` matching `scope` that ended before `cutoff`.
fn old_runs(db: &Connection, table: &str, scope: &str, cutoff: i64) -> QueryResult<Vec<[u8; 16]>> {
    let sql = format!(
        "SELECT id FROM {table} WHERE {scope} AND created < ?1 AND end_time < ?1 LIMIT {RUNS_PER_QUERY}"
    );
    let mut stmt = db.prepare_cached(&sql)?;
    let rows = stmt.query_map([cutoff], |row| uuid_at(row, 0).map(|id| id.into_bytes()))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

fn delete(db: &Connection, sql: &str, id: &[u8; 16]) -> QueryResult<u64> {
    Ok(db.prepare_cached(sql)?.execute(params![id])? as u64)
}

/// How many states the history blob of run `id` in `table` holds (its
/// rows in `states` are counted as they are deleted).
fn history_len(db: &Connection, table: &str, id: &[u8; 16]) -> QueryResult<u64> {
    let blob: Option<Vec<u8>> = db
        .prepare_cached(&format!("SELECT history FROM {table} WHERE id = ?1"))?
        .query_row([id], |row| row.get(0))
        .optional()?
        .flatten();
    Ok(match blob {
        Some(blob) => history::decode(&blob)?.len() as u64,
        None => 0,
    })
}

fn delete_flow_run(db: &Connection, id: &[u8; 16], report: &mut PruneReport) -> QueryResult<()> {
    let tasks: Vec<[u8; 16]> = {
        let mut stmt = db.prepare_cached("SELECT id FROM task_runs WHERE flow_run_id = ?1")?;
        let rows = stmt.query_map([id], |row| uuid_at(row, 0).map(|id| id.into_bytes()))?;
        rows.collect::<rusqlite::Result<_>>()?
    };
    for task in &tasks {
        delete_task_run(db, task, report)?;
    }
    report.states += history_len(db, "flow_runs", id)?;
    report.states += delete(db, "DELETE FROM states WHERE run_id = ?1", id)?;
    report.logs += delete(db, "DELETE FROM logs WHERE flow_run_id = ?1", id)?;
    delete(db, "DELETE FROM result_references WHERE run_id = ?1", id)?;
    report.flow_runs += delete(db, "DELETE FROM flow_runs WHERE id = ?1", id)?;
    Ok(())
}

fn delete_task_run(db: &Connection, id: &[u8; 16], report: &mut PruneReport) -> QueryResult<()> {
    report.states += history_len(db, "task_runs", id)?;
    report.states += delete(db, "DELETE FROM states WHERE run_id = ?1", id)?;
    report.logs += delete(db, "DELETE FROM logs WHERE task_run_id = ?1", id)?;
    report.dependencies += delete(db, "DELETE FROM task_run_dependencies WHERE downstream = ?1", id)?;
    delete(db, "DELETE FROM result_references WHERE run_id = ?1", id)?;
    report.task_runs += delete(db, "DELETE FROM task_runs WHERE id = ?1", id)?;
    Ok(())
}
