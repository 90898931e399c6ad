//! Leases: a writer holds one while it records, and the runs it creates
//! are owned by it. A run whose lease lapsed, or whose process is gone,
//! ends Crashed.

use std::collections::HashMap;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use deadpool_postgres::{Object, Transaction};
use prefect_model::{FlowRunId, RunId, StateMeta, StateType, TaskRunId};
use prefect_store::{Lease, LeaseId, LeaseOwner};

use crate::pool::DbResult;
use crate::write::{apply_state, micros};

fn expiry(now: DateTime<Utc>, ttl: Duration) -> DateTime<Utc> {
    TimeDelta::from_std(ttl)
        .ok()
        .and_then(|ttl| now.checked_add_signed(ttl))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

fn pid_start(owner: &LeaseOwner) -> Option<i64> {
    owner.pid_start.and_then(|s| i64::try_from(s).ok())
}

pub(crate) async fn acquire(client: Object, owner: LeaseOwner, ttl: Duration) -> DbResult<Lease> {
    acquire_on(&client, &owner, ttl).await
}

/// [`acquire`] on a connection the caller keeps.
pub(crate) async fn acquire_on(client: &Object, owner: &LeaseOwner, ttl: Duration) -> DbResult<Lease> {
    let owner = owner.clone();
    let now = Utc::now();
    let expires = expiry(now, ttl);
    let row = client
        .query_one(
            "INSERT INTO leases (pid, host, boot_id, pid_start, acquired, expires)
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
            &[
                &i64::from(owner.pid),
                &owner.host,
                &owner.boot_id,
                &pid_start(&owner),
                &micros(now),
                &micros(expires),
            ],
        )
        .await?;
    Ok(Lease { id: LeaseId(row.get(0)), owner, expires })
}

/// Renews `lease`; false when it was gone (it is then made again, with
/// the same id, so the runs it owns stay owned).
pub(crate) async fn renew(client: Object, lease: Lease, ttl: Duration) -> DbResult<bool> {
    let now = Utc::now();
    let expires = micros(expiry(now, ttl));
    let changed =
        client.execute("UPDATE leases SET expires = $2 WHERE id = $1", &[&lease.id.0, &expires]).await?;
    if changed > 0 {
        return Ok(true);
    }
    let owner = &lease.owner;
    client
        .execute(
            "INSERT INTO leases (id, pid, host, boot_id, pid_start, acquired, expires)
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (id) DO UPDATE SET expires = EXCLUDED.expires",
            &[
                &lease.id.0,
                &i64::from(owner.pid),
                &owner.host,
                &owner.boot_id,
                &pid_start(owner),
                &micros(now),
                &expires,
            ],
        )
        .await?;
    Ok(false)
}

/// Releases `lease`: its unfinished runs end Crashed.
pub(crate) async fn release(mut client: Object, lease: LeaseId) -> DbResult<Vec<RunId>> {
    let tx = client.transaction().await?;
    let mut dead = HashMap::new();
    dead.insert(lease.0, "its recorder was closed before the run ended".to_owned());
    let crashed = crash_runs_of(&tx, &dead, Utc::now()).await?;
    tx.execute("DELETE FROM leases WHERE id = $1", &[&lease.0]).await?;
    tx.commit().await?;
    Ok(crashed)
}

/// Crashes the unfinished runs of dead or lapsed leases, and of leases no
/// longer on record; removes the dead leases.
pub(crate) async fn mark_crashed_stale_runs(mut client: Object) -> DbResult<Vec<RunId>> {
    let tx = client.transaction().await?;
    // One sweeper at a time: another process may be sweeping now.
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&(crate::schema::MIGRATION_LOCK + 1)]).await?;
    let now = Utc::now();
    let here = LeaseOwner::current();
    let mut live = std::collections::HashSet::new();
    let mut stale: HashMap<i64, String> = HashMap::new();
    for row in tx.query("SELECT id, pid, host, boot_id, pid_start, expires FROM leases", &[]).await? {
        let owner = LeaseOwner {
            pid: u32::try_from(row.get::<_, i64>(1)).unwrap_or(0),
            host: row.get(2),
            boot_id: row.get(3),
            pid_start: row.get::<_, Option<i64>>(4).and_then(|s| u64::try_from(s).ok()),
        };
        let expires = DateTime::from_timestamp_micros(row.get(5)).unwrap_or(DateTime::<Utc>::MIN_UTC);
        let id: i64 = row.get(0);
        if owner.is_alive(expires, now, &here) {
            live.insert(id);
        } else {
            let why = format!(
                "the process that ran it (pid {} on {}) stopped before the run ended",
                owner.pid, owner.host
            );
            stale.insert(id, why);
        }
    }
    let dead: Vec<i64> = stale.keys().copied().collect();
    for table in ["flow_runs", "task_runs"] {
        let sql =
            format!("SELECT DISTINCT lease_id FROM {table} WHERE end_time IS NULL AND lease_id IS NOT NULL");
        for row in tx.query(&sql, &[]).await? {
            let lease: i64 = row.get(0);
            if !live.contains(&lease) && !stale.contains_key(&lease) {
                stale.insert(lease, "the process that ran it is gone".to_owned());
            }
        }
    }
    let crashed = crash_runs_of(&tx, &stale, now).await?;
    for lease in &dead {
        tx.execute("DELETE FROM leases WHERE id = $1", &[lease]).await?;
    }
    tx.commit().await?;
    Ok(crashed)
}

async fn crash_runs_of(
    tx: &Transaction<'_>,
    leases: &HashMap<i64, String>,
    now: DateTime<Utc>,
) -> DbResult<Vec<RunId>> {
    let mut crashed = Vec::new();
    for (lease, why) in leases {
        for (table, flow) in [("flow_runs", true), ("task_runs", false)] {
            let sql = format!("SELECT id FROM {table} WHERE end_time IS NULL AND lease_id = $1 ORDER BY id");
            let ids: Vec<uuid::Uuid> = tx.query(&sql, &[lease]).await?.iter().map(|row| row.get(0)).collect();
            for id in ids {
                let run = if flow { RunId::Flow(FlowRunId(id)) } else { RunId::Task(TaskRunId(id)) };
                // Stamped after the run's last state if the clocks disagree.
                let state = StateMeta {
                    timestamp: now,
                    ..StateMeta::new(StateType::Crashed).with_message(why.clone())
                };
                apply_state(tx, run, &state, None).await?;
                crashed.push(run);
            }
        }
    }
    Ok(crashed)
}
