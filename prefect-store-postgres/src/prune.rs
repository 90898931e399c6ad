//! Retention: deleting old finished runs with everything attached to them,
//! a chunk of runs per transaction so recorders are not held up. A flow
//! run is deleted with all its task runs in one transaction, never split.

use std::time::Duration;

use chrono::{TimeDelta, Utc};
use deadpool_postgres::{Object, Transaction};
use prefect_model::FlowRunId;
use prefect_store::{PruneReport, Retention};
use uuid::Uuid;

use crate::pool::{DbError, DbResult};
use crate::write::micros;

/// Flow runs (or task runs outside flows) deleted per transaction.
const RUNS_PER_CHUNK: i64 = 100;

/// The time `older_than` ago, in microseconds; `i64::MIN` (nothing is
/// older) when that is before the earliest time chrono represents.
fn cutoff(older_than: Duration) -> i64 {
    TimeDelta::from_std(older_than)
        .ok()
        .and_then(|age| Utc::now().checked_sub_signed(age))
        .map_or(i64::MIN, micros)
}

/// How many states the histories of `ids` in `table` hold.
async fn history_len(tx: &Transaction<'_>, table: &str, ids: &[Uuid]) -> DbResult<u64> {
    let rows = tx.query(&format!("SELECT history FROM {table} WHERE id = ANY($1)"), &[&ids]).await?;
    let mut states = 0u64;
    for row in rows {
        if let Some(bytes) = row.get::<_, Option<Vec<u8>>>(0) {
            let decoded = prefect_store::history::decode(&bytes).map_err(|e| {
                DbError::Store(prefect_store::Error::InvalidArgument {
                    what: "stored history",
                    reason: e.to_string(),
                })
            })?;
            states += decoded.len() as u64;
        }
    }
    Ok(states)
}

/// Deletes task runs `tasks` with their logs, edges and results.
async fn delete_task_runs(tx: &Transaction<'_>, tasks: &[Uuid], report: &mut PruneReport) -> DbResult<()> {
    if tasks.is_empty() {
        return Ok(());
    }
    report.states += history_len(tx, "task_runs", tasks).await?;
    report.logs += tx.execute("DELETE FROM logs WHERE task_run_id = ANY($1)", &[&tasks]).await?;
    report.dependencies +=
        tx.execute("DELETE FROM task_run_dependencies WHERE downstream = ANY($1)", &[&tasks]).await?;
    tx.execute("DELETE FROM run_results WHERE run_id = ANY($1)", &[&tasks]).await?;
    report.task_runs += tx.execute("DELETE FROM task_runs WHERE id = ANY($1)", &[&tasks]).await?;
    Ok(())
}

/// Deletes flow runs `ids` with their task runs and what belongs to them.
async fn delete_flow_runs(tx: &Transaction<'_>, ids: &[Uuid], report: &mut PruneReport) -> DbResult<()> {
    let tasks: Vec<Uuid> = tx
        .query("SELECT id FROM task_runs WHERE flow_run_id = ANY($1)", &[&ids])
        .await?
        .iter()
        .map(|row| row.get(0))
        .collect();
    delete_task_runs(tx, &tasks, report).await?;
    report.states += history_len(tx, "flow_runs", ids).await?;
    report.logs += tx.execute("DELETE FROM logs WHERE flow_run_id = ANY($1)", &[&ids]).await?;
    tx.execute("DELETE FROM run_results WHERE run_id = ANY($1)", &[&ids]).await?;
    report.flow_runs += tx.execute("DELETE FROM flow_runs WHERE id = ANY($1)", &[&ids]).await?;
    Ok(())
}

/// Deletes the runs that ended before `older_than` ago.
pub(crate) async fn prune(mut client: Object, older_than: Duration) -> DbResult<PruneReport> {
    let cutoff = cutoff(older_than);
    let mut report = PruneReport::default();
    for (table, scope) in [("flow_runs", "TRUE"), ("task_runs", "flow_run_id IS NULL")] {
        loop {
            let tx = client.transaction().await?;
            let ids: Vec<Uuid> = tx
                .query(
                    &format!(
                        "SELECT id FROM {table} WHERE {scope} AND created < $1 AND end_time < $1 LIMIT $2 FOR UPDATE"
                    ),
                    &[&cutoff, &RUNS_PER_CHUNK],
                )
                .await?
                .iter()
                .map(|row| row.get(0))
                .collect();
            if ids.is_empty() {
                break;
            }
            if table == "flow_runs" {
                delete_flow_runs(&tx, &ids, &mut report).await?;
            } else {
                delete_task_runs(&tx, &ids, &mut report).await?;
            }
            tx.commit().await?;
        }
    }
    // Batch ids are kept as long as runs are.
    client.execute("DELETE FROM event_batches WHERE stored < $1", &[&cutoff]).await?;
    Ok(report)
}

/// Prunes if the last prune was at least `retention.every` ago.
pub(crate) async fn prune_if_due(mut client: Object, retention: Retention) -> DbResult<Option<PruneReport>> {
    let now = micros(Utc::now());
    let every = i64::try_from(retention.every.as_micros()).unwrap_or(i64::MAX);
    let tx = client.transaction().await?;
    // One pruner decides at a time.
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&(crate::schema::MIGRATION_LOCK + 2)]).await?;
    let last: Option<i64> = tx
        .query_opt("SELECT value FROM prefect_meta WHERE key = 'last_prune'", &[])
        .await?
        .map(|row| row.get(0));
    if last.is_some_and(|last| now.saturating_sub(last) < every) {
        return Ok(None);
    }
    tx.execute(
        "INSERT INTO prefect_meta (key, value) VALUES ('last_prune', $1)
         ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
        &[&now],
    )
    .await?;
    tx.commit().await?;
    prune(client, retention.keep).await.map(Some)
}

/// Deletes flow run `id` and what belongs to it, in one transaction; `None`
/// when there is no such run.
pub(crate) async fn delete_one(mut client: Object, id: FlowRunId) -> DbResult<Option<PruneReport>> {
    let tx = client.transaction().await?;
    if tx.query_opt("SELECT 1 FROM flow_runs WHERE id = $1 FOR UPDATE", &[&id.0]).await?.is_none() {
        return Ok(None);
    }
    let mut report = PruneReport::default();
    delete_flow_runs(&tx, &[id.0], &mut report).await?;
    tx.commit().await?;
    Ok(Some(report))
}
