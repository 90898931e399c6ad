//! Tag concurrency limits, and the slots task runs take of them, shared by
//! every process and machine using the database.
//!
//! A task run with limited tags takes a slot of each in one transaction, or
//! none. The limits' rows are locked first, in tag order, so concurrent
//! takers of one tag queue on it instead of both counting a free slot.
//! Slots whose process is known dead on this machine, or whose lease
//! lapsed (their process died on another machine), are freed before
//! counting.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use deadpool_postgres::{Object, Transaction};
use prefect_model::{FlowRunId, TaskRunId};
use prefect_store::{ConcurrencyLimit, Error, LeaseOwner, SlotDecision, SlotHolder};
use tokio_postgres::Row;
use uuid::Uuid;

use crate::pool::{DbError, DbResult};
use crate::write::micros;

const SELECT: &str = "SELECT tag, slot_limit, active_slots, created, updated FROM concurrency_limits";

fn time(value: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(value).unwrap_or(DateTime::<Utc>::MIN_UTC)
}

fn count(value: i64) -> u32 {
    u32::try_from(value.max(0)).unwrap_or(u32::MAX)
}

fn limit_row(row: &Row) -> ConcurrencyLimit {
    ConcurrencyLimit {
        tag: row.get(0),
        limit: count(row.get(1)),
        active_slots: count(row.get(2)),
        created: time(row.get(3)),
        updated: time(row.get(4)),
    }
}

fn check_tag(tag: &str) -> DbResult<()> {
    if tag.trim().is_empty() {
        return Err(DbError::Store(Error::InvalidArgument {
            what: "concurrency limit tag",
            reason: "the tag is empty; give the tag the limit applies to".to_owned(),
        }));
    }
    Ok(())
}

/// Creates or changes the limit of `tag`.
pub(crate) async fn set(client: Object, tag: String, limit: u32) -> DbResult<ConcurrencyLimit> {
    check_tag(&tag)?;
    let now = micros(Utc::now());
    let row = client
        .query_one(
            "INSERT INTO concurrency_limits (tag, slot_limit, active_slots, created, updated)
             VALUES ($1, $2, 0, $3, $3)
             ON CONFLICT (tag) DO UPDATE SET slot_limit = EXCLUDED.slot_limit, updated = EXCLUDED.updated
             RETURNING tag, slot_limit, active_slots, created, updated",
            &[&tag, &i64::from(limit), &now],
        )
        .await?;
    Ok(limit_row(&row))
}

/// The limit of `tag`.
pub(crate) async fn get(client: Object, tag: String) -> DbResult<Option<ConcurrencyLimit>> {
    Ok(client.query_opt(&format!("{SELECT} WHERE tag = $1"), &[&tag]).await?.as_ref().map(limit_row))
}

/// Every limit, by tag.
pub(crate) async fn list(client: Object) -> DbResult<Vec<ConcurrencyLimit>> {
    Ok(client.query(&format!("{SELECT} ORDER BY tag"), &[]).await?.iter().map(limit_row).collect())
}

/// Frees every slot of `tag`.
pub(crate) async fn reset(mut client: Object, tag: String) -> DbResult<bool> {
    let tx = client.transaction().await?;
    let changed = tx
        .execute(
            "UPDATE concurrency_limits SET active_slots = 0, updated = $2 WHERE tag = $1",
            &[&tag, &micros(Utc::now())],
        )
        .await?;
    tx.execute("DELETE FROM concurrency_slots WHERE tag = $1", &[&tag]).await?;
    tx.commit().await?;
    Ok(changed > 0)
}

/// Deletes the limit of `tag`.
pub(crate) async fn delete(client: Object, tag: String) -> DbResult<bool> {
    Ok(client.execute("DELETE FROM concurrency_limits WHERE tag = $1", &[&tag]).await? > 0)
}

fn owner_at(row: &Row, first: usize) -> LeaseOwner {
    LeaseOwner {
        pid: u32::try_from(row.get::<_, i64>(first)).unwrap_or(0),
        host: row.get(first + 1),
        boot_id: row.get(first + 2),
        pid_start: row.get::<_, Option<i64>>(first + 3).and_then(|s| u64::try_from(s).ok()),
    }
}

/// The lease this store's slots are held under, taken with the first slot
/// and renewed by a task of the store's runtime for as long as the store
/// lives: when the process dies, or loses the database for longer than the
/// lease lasts, its slots are freed by the next taker, on any machine.
#[derive(Debug)]
pub(crate) struct SlotLease {
    id: tokio::sync::OnceCell<i64>,
    ttl: std::time::Duration,
}

impl SlotLease {
    pub(crate) fn new(ttl: std::time::Duration) -> SlotLease {
        SlotLease { id: tokio::sync::OnceCell::new(), ttl }
    }

    /// The lease's id, taken (and its renewal started) on first use.
    async fn id(
        self: &Arc<Self>,
        client: &Object,
        pool: &deadpool_postgres::Pool,
        owner: &LeaseOwner,
    ) -> DbResult<i64> {
        let id = self
            .id
            .get_or_try_init(|| async {
                let lease = crate::lease::acquire_on(client, owner, self.ttl).await?;
                let (renewing, pool) = (self.clone(), pool.clone());
                let held = lease.clone();
                tokio::spawn(async move { renewing.renew(pool, held).await });
                Ok::<_, DbError>(lease.id.0)
            })
            .await?;
        Ok(*id)
    }

    /// Renews `lease` every third of its life; a failed renewal is tried
    /// again at the next one.
    async fn renew(self: Arc<Self>, pool: deadpool_postgres::Pool, lease: prefect_store::Lease) {
        loop {
            tokio::time::sleep(self.ttl / 3).await;
            if Arc::strong_count(&self) == 1 {
                return; // The store is gone.
            }
            match pool.get().await {
                Ok(client) => {
                    if let Err(e) = crate::lease::renew(client, lease.clone(), self.ttl).await {
                        tracing::warn!("renewing the lease of concurrency slots failed: {e:?}");
                    }
                }
                Err(e) => tracing::warn!("renewing the lease of concurrency slots failed: {e}"),
            }
        }
    }
}

/// Takes a slot of every limited tag among `tags` for `holder`, or none.
pub(crate) async fn try_acquire(
    mut client: Object,
    tags: Vec<String>,
    holder: TaskRunId,
    owner: LeaseOwner,
    lease: Arc<SlotLease>,
    pool: deadpool_postgres::Pool,
) -> DbResult<SlotDecision> {
    let lease_id = lease.id(&client, &pool, &owner).await?;
    let tx = client.transaction().await?;
    let rows = tx
        .query(
            "SELECT tag, slot_limit FROM concurrency_limits WHERE tag = ANY($1) ORDER BY tag FOR UPDATE",
            &[&tags],
        )
        .await?;
    let limited: Vec<(String, i64)> = rows.iter().map(|row| (row.get(0), row.get(1))).collect();
    if limited.is_empty() {
        return Ok(SlotDecision::NoLimits);
    }
    if let Some((tag, _)) = limited.iter().find(|(_, limit)| *limit == 0) {
        return Ok(SlotDecision::Abort(tag.clone()));
    }
    let names: Vec<&str> = limited.iter().map(|(tag, _)| tag.as_str()).collect();
    free_dead_holders(&tx, &names, &owner).await?;
    for (tag, limit) in &limited {
        let held: i64 =
            tx.query_one("SELECT count(*) FROM concurrency_slots WHERE tag = $1", &[tag]).await?.get(0);
        if held >= *limit {
            // The dead holders freed above are counted out.
            count_active(&tx, &names).await?;
            tx.commit().await?;
            return Ok(SlotDecision::Busy);
        }
    }
    let now = micros(Utc::now());
    let pid_start = owner.pid_start.and_then(|s| i64::try_from(s).ok());
    for tag in &names {
        tx.execute(
            "INSERT INTO concurrency_slots (holder, tag, pid, host, boot_id, pid_start, acquired, lease_id)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
             ON CONFLICT (holder, tag) DO UPDATE SET pid = EXCLUDED.pid, host = EXCLUDED.host,
                 boot_id = EXCLUDED.boot_id, pid_start = EXCLUDED.pid_start, acquired = EXCLUDED.acquired,
                 lease_id = EXCLUDED.lease_id",
            &[
                &holder.0,
                tag,
                &i64::from(owner.pid),
                &owner.host,
                &owner.boot_id,
                &pid_start,
                &now,
                &lease_id,
            ],
        )
        .await?;
    }
    count_active(&tx, &names).await?;
    tx.commit().await?;
    Ok(SlotDecision::Acquired)
}

/// Frees every slot `holder` has.
pub(crate) async fn release(mut client: Object, holder: TaskRunId) -> DbResult<()> {
    let tx = client.transaction().await?;
    // The limits' rows first, as takers lock them: the count below then
    // sees every taker that committed before (a count made while a taker
    // held the row would read the table from before its slot).
    let tags: Vec<String> = tx
        .query("SELECT tag FROM concurrency_slots WHERE holder = $1", &[&holder.0])
        .await?
        .iter()
        .map(|row| row.get(0))
        .collect();
    if tags.is_empty() {
        return Ok(());
    }
    tx.execute("SELECT 1 FROM concurrency_limits WHERE tag = ANY($1) ORDER BY tag FOR UPDATE", &[&tags])
        .await?;
    let freed: Vec<String> = tx
        .query("DELETE FROM concurrency_slots WHERE holder = $1 RETURNING tag", &[&holder.0])
        .await?
        .iter()
        .map(|row| row.get(0))
        .collect();
    let names: Vec<&str> = freed.iter().map(String::as_str).collect();
    count_active(&tx, &names).await?;
    tx.commit().await?;
    Ok(())
}

/// Slot `s`'s lease has lapsed by the time in parameter `now` (or is gone):
/// its process stopped renewing it.
fn lapsed(now: &str) -> String {
    format!(
        "s.lease_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM leases l WHERE l.id = s.lease_id AND l.expires > {now})"
    )
}

/// Every slot's holder, by tag then oldest first; holders whose process is
/// known dead from `here`, or whose lease lapsed, are left out (the next
/// taker frees them).
pub(crate) async fn holders(client: Object, here: LeaseOwner) -> DbResult<Vec<SlotHolder>> {
    let sql = format!(
        "SELECT s.tag, s.holder, t.name, t.flow_run_id, s.pid, s.host, s.boot_id, s.pid_start, s.acquired
         FROM concurrency_slots s LEFT JOIN task_runs t ON t.id = s.holder
         WHERE NOT ({})
         ORDER BY s.tag, s.acquired, s.holder",
        lapsed("$1")
    );
    let rows = client.query(&sql, &[&micros(Utc::now())]).await?;
    let mut alive = Vec::new();
    for row in &rows {
        let owner = owner_at(row, 4);
        if owner.is_dead_here(&here) {
            continue;
        }
        alive.push(SlotHolder {
            tag: row.get(0),
            holder: TaskRunId(row.get(1)),
            task_run_name: row.get(2),
            flow_run_id: row.get::<_, Option<Uuid>>(3).map(FlowRunId),
            pid: owner.pid,
            host: owner.host,
            acquired: time(row.get(8)),
        });
    }
    Ok(alive)
}

async fn free_dead_holders(tx: &Transaction<'_>, tags: &[&str], here: &LeaseOwner) -> DbResult<()> {
    // Of any machine: the lease of their process lapsed.
    let sql = format!("DELETE FROM concurrency_slots s WHERE s.tag = ANY($1) AND {}", lapsed("$2"));
    tx.execute(&sql, &[&tags, &micros(Utc::now())]).await?;
    // Of this machine: their process is gone, whatever its lease says.
    let rows = tx
        .query(
            "SELECT holder, pid, host, boot_id, pid_start FROM concurrency_slots WHERE tag = ANY($1)",
            &[&tags],
        )
        .await?;
    for row in &rows {
        if owner_at(row, 1).is_dead_here(here) {
            let holder: Uuid = row.get(0);
            tx.execute("DELETE FROM concurrency_slots WHERE holder = $1", &[&holder]).await?;
        }
    }
    Ok(())
}

/// Keeps `concurrency_limits.active_slots` of `tags` in step.
async fn count_active(tx: &Transaction<'_>, tags: &[&str]) -> DbResult<()> {
    if tags.is_empty() {
        return Ok(());
    }
    tx.execute(
        "UPDATE concurrency_limits SET active_slots =
             (SELECT count(*) FROM concurrency_slots s WHERE s.tag = concurrency_limits.tag)
         WHERE tag = ANY($1)",
        &[&tags],
    )
    .await?;
    Ok(())
}
