//! `prefect work-queue create | ls | inspect | pause | resume |
//! set-concurrency-limit` and `prefect worker ls`.

use anyhow::{Result, bail};
use prefect_store::{WorkQueue, WorkQueueUpdate, WorkerInfo};
use serde_json::{Value, json};

use crate::Ctx;
use crate::commands::listing_store;
use crate::db::{open_or_create, open_required, wait};
use crate::output::{Cell, Table, short_id, time};

/// Creates a work queue, or changes it.
pub(crate) fn update(ctx: &mut Ctx, name: &str, update: &WorkQueueUpdate, done: &str) -> Result<()> {
    let store = open_or_create(&ctx.db)?;
    let queue = wait(store.update_work_queue(name, update))?;
    if ctx.out.json {
        return Ok(ctx.out.json(&to_json(&queue))?);
    }
    Ok(ctx.out.line(format_args!("work queue {} {done}", queue.name))?)
}

/// Lists work queues, highest priority first.
pub(crate) fn ls(ctx: &mut Ctx) -> Result<()> {
    let Some(store) = listing_store(ctx)? else { return Ok(()) };
    let queues = wait(store.list_work_queues())?;
    if ctx.out.json {
        return Ok(ctx.out.json(&queues.iter().map(to_json).collect())?);
    }
    let mut table = Table::new(&["NAME", "PRIORITY", "LIMIT", "STATUS"]);
    for queue in &queues {
        table.push(vec![
            Cell::plain(&queue.name),
            Cell::plain(queue.priority.to_string()),
            Cell::plain(queue.concurrency_limit.map_or_else(|| "-".to_owned(), |n| n.to_string())),
            Cell::plain(if queue.paused { "paused" } else { "active" }),
        ]);
    }
    Ok(ctx.out.table(&table)?)
}

/// Shows a work queue and the runs waiting in it.
pub(crate) fn inspect(ctx: &mut Ctx, name: &str) -> Result<()> {
    let store = open_required(&ctx.db)?;
    let queues = wait(store.list_work_queues())?;
    let Some(queue) = queues.into_iter().find(|q| q.name == name) else { bail!("no work queue `{name}`") };
    let waiting: Vec<_> =
        wait(store.queued_runs(None, None, 10_000))?.into_iter().filter(|r| r.work_queue == name).collect();
    let workers = live_workers_of(wait(store.list_workers())?, name);
    let deployments = wait(store.list_deployments())?;
    if ctx.out.json {
        let mut value = to_json(&queue);
        value["queued_runs"] = waiting.len().into();
        value["workers"] = workers.iter().map(|w| Value::from(w.beat.name.clone())).collect();
        return Ok(ctx.out.json(&value)?);
    }
    ctx.out.line(format_args!("Work queue   {}", queue.name))?;
    ctx.out.line(format_args!("Priority     {}", queue.priority))?;
    let limit = queue.concurrency_limit.map_or_else(|| "none".to_owned(), |n| n.to_string());
    ctx.out.line(format_args!("Limit        {limit}"))?;
    ctx.out.line(format_args!("Status       {}", if queue.paused { "paused" } else { "active" }))?;
    let names: Vec<&str> = workers.iter().map(|w| w.beat.name.as_str()).collect();
    let serving = if names.is_empty() { "none alive: its runs wait".to_owned() } else { names.join(", ") };
    ctx.out.line(format_args!("Workers      {serving}"))?;
    ctx.out.line(format_args!("Queued runs  {}", waiting.len()))?;
    let mut table = Table::new(&["ID", "NAME", "DEPLOYMENT", "DUE", "STATE", "WHY IT WAITS"]);
    for run in waiting.iter().take(20) {
        let labels =
            deployments.iter().find(|d| d.id == run.deployment).map_or(&[][..], |d| &d.spec.labels[..]);
        let why = wait_reason(&run.flow_name, labels, run.scheduled, queue.paused, &workers);
        table.push(vec![
            Cell::plain(short_id(run.id)),
            Cell::plain(&run.name),
            Cell::plain(&run.deployment_name),
            Cell::plain(time(run.scheduled)),
            ctx.out.state_cell(Some(&run.state)),
            Cell::plain(why),
        ]);
    }
    Ok(ctx.out.table(&table)?)
}

/// Lists workers, most recent heartbeat first.
pub(crate) fn workers(ctx: &mut Ctx) -> Result<()> {
    let Some(store) = listing_store(ctx)? else { return Ok(()) };
    let workers = wait(store.list_workers())?;
    if ctx.out.json {
        let rows: Vec<Value> = workers
            .iter()
            .map(|w| {
                json!({
                    "name": w.beat.name,
                    "status": status(w),
                    "queues": w.beat.queues,
                    "flows": w.beat.flows,
                    "labels": w.beat.labels,
                    "last_heartbeat": w.beat.time,
                    "started": w.started,
                    "pid": w.pid,
                    "host": w.host,
                })
            })
            .collect();
        return Ok(ctx.out.json(&Value::Array(rows))?);
    }
    let mut table = Table::new(&["NAME", "STATUS", "QUEUES", "LABELS", "FLOWS", "LAST HEARTBEAT", "HOST"]);
    for worker in &workers {
        let queues =
            if worker.beat.queues.is_empty() { "all".to_owned() } else { worker.beat.queues.join(", ") };
        table.push(vec![
            Cell::plain(&worker.beat.name),
            Cell::plain(status(worker)),
            Cell::plain(queues),
            Cell::plain(if worker.beat.labels.is_empty() {
                "-".to_owned()
            } else {
                worker.beat.labels.join(", ")
            }),
            Cell::plain(worker.beat.flows.join(", ")),
            Cell::plain(time(worker.beat.time)),
            Cell::plain(format!(
                "{} (pid {})",
                worker.host.as_deref().unwrap_or("-"),
                worker.pid.unwrap_or(0)
            )),
        ]);
    }
    Ok(ctx.out.table(&table)?)
}

/// Why a run of `flow` in a queue (paused or not) with these live workers
/// is still waiting.
pub(crate) fn wait_reason(
    flow: &str,
    labels: &[String],
    due: chrono::DateTime<chrono::Utc>,
    queue_paused: bool,
    live_workers: &[WorkerInfo],
) -> String {
    let has_flow = |w: &&WorkerInfo| w.beat.flows.iter().any(|f| f == flow);
    let has_labels = |w: &&WorkerInfo| labels.iter().all(|l| w.beat.labels.contains(l));
    if queue_paused {
        "the queue is paused".to_owned()
    } else if due > chrono::Utc::now() {
        "not due yet".to_owned()
    } else if !live_workers.iter().any(|w| has_flow(&w)) {
        format!("no live worker has flow `{flow}`")
    } else if !live_workers.iter().filter(has_flow).any(|w| has_labels(&w)) {
        format!("no live worker with flow `{flow}` has the labels {}", labels.join(", "))
    } else {
        "waiting for a free slot".to_owned()
    }
}

/// The live workers serving `queue`.
pub(crate) fn live_workers_of(workers: Vec<WorkerInfo>, queue: &str) -> Vec<WorkerInfo> {
    workers
        .into_iter()
        .filter(|w| w.alive && (w.beat.queues.is_empty() || w.beat.queues.iter().any(|q| q == queue)))
        .collect()
}

fn status(worker: &WorkerInfo) -> &str {
    if worker.alive { &worker.beat.status } else { "offline" }
}

fn to_json(queue: &WorkQueue) -> Value {
    json!({
        "name": queue.name,
        "priority": queue.priority,
        "concurrency_limit": queue.concurrency_limit,
        "paused": queue.paused,
        "description": queue.description,
        "created": queue.created,
    })
}
