//! Retention: deleting old finished runs with everything attached to them,
//! in short transactions so recorders are not held up, reporting progress
//! after each. A run's history goes with its row (and its `states` rows,
//! written by version 1). A flow run is deleted with all its task runs in
//! one transaction, never split.

use std::time::Duration;

use chrono::{TimeDelta, Utc};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use super::codec::{micros, now_micros, uuid_at};
use super::{QueryResult, history};
use prefect_store::{PruneProgress, PruneReport, Retention};

/// How much one transaction deletes, at most: it stops before the next
/// run once either bound is reached (so a flow run with more task runs
/// than `runs` has a transaction of its own).
#[derive(Debug, Clone, Copy)]
struct Batch {
    /// Runs: flow runs and task runs.
    runs: u64,
    /// Rows of every kind (runs, states, logs, edges).
    rows: u64,
}

/// A few thousand runs per transaction: about 100 ms of writing on the
/// bench database (flow runs of 1,000 task runs), so a recorder waiting for
/// the write lock is not held up for long.
const BATCH: Batch = Batch { runs: 5_000, rows: 20_000 };

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

/// What is told how far a prune has got.
pub(crate) type Progress<'a> = Option<&'a (dyn Fn(PruneProgress) + Send + Sync)>;

/// Deletes the runs that ended before `older_than` ago, telling `progress`
/// after each transaction.
pub(crate) fn prune(
    db: &mut Connection,
    older_than: Duration,
    progress: Progress<'_>,
) -> QueryResult<PruneReport> {
    prune_before(db, cutoff(older_than), BATCH, progress)
}

fn prune_before(
    db: &mut Connection,
    cutoff: i64,
    batch: Batch,
    progress: Progress<'_>,
) -> QueryResult<PruneReport> {
    let runs_due = match progress {
        Some(progress) => {
            let due = runs_due(db, cutoff)?;
            progress(PruneProgress { deleted: PruneReport::default(), runs_due: Some(due) });
            Some(due)
        }
        None => None,
    };
    let mut report = PruneReport::default();
    loop {
        let (chunk, more) = prune_some(db, cutoff, batch)?;
        report.add(chunk);
        if let Some(progress) = progress {
            progress(PruneProgress { deleted: report, runs_due });
        }
        if !more {
            break;
        }
    }
    // Batch ids are kept as long as runs are: a remote recorder sends a
    // batch again only until it is acknowledged, long before this.
    db.prepare_cached("DELETE FROM event_batches WHERE stored < ?1")?.execute([cutoff])?;
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
    prune(db, retention.keep, None).map(Some)
}

/// How many runs a prune at `cutoff` deletes: the old flow runs, their
/// task runs, and the old task runs outside flows.
fn runs_due(db: &Connection, cutoff: i64) -> QueryResult<u64> {
    let old = "SELECT id FROM flow_runs WHERE created < ?1 AND end_time < ?1";
    let sql = format!(
        "SELECT (SELECT count(*) FROM ({old}))
              + (SELECT count(*) FROM task_runs WHERE flow_run_id IN ({old}))
              + (SELECT count(*) FROM task_runs WHERE flow_run_id IS NULL AND created < ?1 AND end_time < ?1)"
    );
    let due: i64 = db.prepare_cached(&sql)?.query_row([cutoff], |row| row.get(0))?;
    Ok(u64::try_from(due).unwrap_or(0))
}

/// One transaction's worth of deletions (at least one run, if any is
/// due); true when more may remain.
fn prune_some(db: &mut Connection, cutoff: i64, batch: Batch) -> QueryResult<(PruneReport, bool)> {
    let tx = db.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let mut report = PruneReport::default();
    let full = |r: &PruneReport| r.flow_runs + r.task_runs >= batch.runs || rows(r) >= batch.rows;
    let more = 'batch: loop {
        let flow_runs = old_runs(&tx, "flow_runs", "1", cutoff)?;
        for id in &flow_runs {
            if full(&report) {
                break 'batch true;
            }
            delete_flow_run(&tx, id, &mut report)?;
        }
        if !flow_runs.is_empty() {
            continue;
        }
        let task_runs = old_runs(&tx, "task_runs", "flow_run_id IS NULL", cutoff)?;
        if task_runs.is_empty() {
            break false;
        }
        for id in &task_runs {
            if full(&report) {
                break 'batch true;
            }
            delete_task_run(&tx, id, &mut report)?;
        }
    };
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

/// Deletes the flow run `id` and what belongs to it, in one transaction;
/// `None` when there is no such run.
pub(crate) fn delete_one(
    db: &mut Connection,
    id: prefect_model::FlowRunId,
) -> QueryResult<Option<PruneReport>> {
    let tx = db.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let key = id.0.into_bytes();
    let found: Option<i64> = tx
        .prepare_cached("SELECT 1 FROM flow_runs WHERE id = ?1")?
        .query_row([key], |row| row.get(0))
        .optional()?;
    if found.is_none() {
        return Ok(None);
    }
    let mut report = PruneReport::default();
    delete_flow_run(&tx, &key, &mut report)?;
    tx.commit()?;
    Ok(Some(report))
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
    delete(db, "DELETE FROM run_results WHERE run_id = ?1", id)?;
    report.flow_runs += delete(db, "DELETE FROM flow_runs WHERE id = ?1", id)?;
    Ok(())
}

fn delete_task_run(db: &Connection, id: &[u8; 16], report: &mut PruneReport) -> QueryResult<()> {
    report.states += history_len(db, "task_runs", id)?;
    report.states += delete(db, "DELETE FROM states WHERE run_id = ?1", id)?;
    report.logs += delete(db, "DELETE FROM logs WHERE task_run_id = ?1", id)?;
    report.dependencies += delete(db, "DELETE FROM task_run_dependencies WHERE downstream = ?1", id)?;
    delete(db, "DELETE FROM run_results WHERE run_id = ?1", id)?;
    report.task_runs += delete(db, "DELETE FROM task_runs WHERE id = ?1", id)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use futures::executor::block_on;
    use prefect_model::{DependencyKind, LogLevel, StateType};
    use prefect_store::EventWriter;
    use prefect_store::conformance::Events;

    use super::*;
    use crate::SqliteStore;

    const DAY: Duration = Duration::from_secs(86_400);

    /// Old flow runs of 0 to 4 task runs (with states, logs and edges),
    /// old task runs outside flows, and runs that must stay.
    fn history() -> Vec<prefect_model::Event> {
        let mut events = Events::starting_ago(30 * DAY);
        for i in 0..12 {
            let run = events.flow_run("etl", &format!("old-{i}"));
            events.lifecycle(run, StateType::Completed);
            events.log(Some(run), None, LogLevel::Info, "flow line");
            let mut previous = None;
            for _ in 0..i % 5 {
                let task = events.task_run(Some(run), "fetch");
                events.lifecycle(task, StateType::Completed);
                events.log(Some(run), Some(task), LogLevel::Info, "task line");
                if let Some(up) = previous {
                    events.dependency(task, up, DependencyKind::WaitFor);
                }
                previous = Some(task);
            }
        }
        for _ in 0..7 {
            let alone = events.task_run(None, "ping");
            events.lifecycle(alone, StateType::Failed);
        }
        let running = events.flow_run("etl", "still-running");
        events.state(running, StateType::Running);
        events.advance(29 * DAY);
        let recent = events.flow_run("etl", "recent");
        events.lifecycle(recent, StateType::Completed);
        events.take()
    }

    fn store_with(events: &[prefect_model::Event]) -> SqliteStore {
        let store = SqliteStore::open_in_memory().unwrap();
        block_on(store.write_events(None, events)).unwrap();
        store
    }

    /// Every row of every run table, to compare two stores.
    fn rows_left(store: &SqliteStore) -> Vec<(String, i64)> {
        let tables = ["flow_runs", "task_runs", "states", "logs", "task_run_dependencies", "run_results"];
        store
            .with_conn(|c| {
                let mut counts = Vec::new();
                for table in tables {
                    let n = c.db.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))?;
                    counts.push((table.to_owned(), n));
                }
                let ids: i64 = c.db.query_row(
                    "SELECT count(*) FROM (SELECT id FROM flow_runs UNION ALL SELECT id FROM task_runs)",
                    [],
                    |r| r.get(0),
                )?;
                counts.push(("ids".to_owned(), ids));
                Ok(counts)
            })
            .unwrap()
    }

    #[test]
    fn small_batches_delete_what_one_batch_deletes() {
        let events = history();
        let whole = store_with(&events);
        let batched = store_with(&events);
        let cutoff = cutoff(DAY);
        let one = Batch { runs: u64::MAX, rows: u64::MAX };
        let expected = whole.with_conn(|c| prune_before(&mut c.db, cutoff, one, None)).unwrap();
        assert_eq!((expected.flow_runs, expected.task_runs), (12, 7 + (0..12).map(|i| i % 5).sum::<u64>()));

        let seen = Mutex::new(Vec::new());
        let record = |progress: PruneProgress| seen.lock().unwrap().push(progress);
        let small = Batch { runs: 3, rows: 10 };
        let report = batched.with_conn(|c| prune_before(&mut c.db, cutoff, small, Some(&record))).unwrap();
        assert_eq!(report, expected);
        assert_eq!(rows_left(&batched), rows_left(&whole));

        let seen = seen.into_inner().unwrap();
        assert!(seen.len() > 5, "one report per transaction: {seen:?}");
        assert!(seen.windows(2).all(|w| w[0].runs_deleted() <= w[1].runs_deleted()), "{seen:?}");
        let last = seen.last().unwrap();
        assert_eq!(last.deleted, report);
        assert_eq!(last.runs_due, Some(report.flow_runs + report.task_runs));
        assert!(seen.iter().all(|p| p.runs_due == last.runs_due), "counted once, before deleting");
    }

    #[test]
    fn a_batch_stops_at_its_bounds_but_deletes_at_least_one_run() {
        let store = store_with(&history());
        let cutoff = cutoff(DAY);
        let (first, more) =
            store.with_conn(|c| prune_some(&mut c.db, cutoff, Batch { runs: 1, rows: 1 })).unwrap();
        assert!(more);
        assert_eq!(first.flow_runs + first.task_runs, 1, "{first:?}");
        let (second, _) =
            store.with_conn(|c| prune_some(&mut c.db, cutoff, Batch { runs: 4, rows: 1_000 })).unwrap();
        assert!(second.flow_runs + second.task_runs >= 4, "{second:?}");
    }
}
