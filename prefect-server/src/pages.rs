//! The listing pages of the web UI: flows, work queues with their
//! workers, and tag concurrency limits. Each is one request, answered from
//! the store's lists.

use askama::Template;
use axum::extract::State;
use axum::response::Response;
use prefect_store::AnyStore;

use crate::api::on_store;
use crate::error::ApiError;
use crate::ui::{iso, page, query_text};

struct FlowRow {
    name: String,
    /// The runs page of this flow.
    runs: String,
    created: String,
    last_run: Option<String>,
}

#[derive(Template)]
#[template(path = "flows.html")]
struct Flows {
    flows: Vec<FlowRow>,
}

/// `GET /flows`: every flow with recorded runs, linking to its runs.
pub(crate) async fn flows(State(store): State<AnyStore>) -> Result<Response, ApiError> {
    let listed = on_store(&store, |s| s.list_flows()).await?;
    let flows = listed
        .into_iter()
        .map(|f| FlowRow {
            runs: format!("/runs?flow={}", query_text(&f.name)),
            name: f.name,
            created: iso(f.created),
            last_run: f.last_run.map(iso),
        })
        .collect();
    page(Flows { flows })
}

struct QueueRow {
    name: String,
    priority: u32,
    limit: String,
    paused: bool,
    description: Option<String>,
}

struct WorkerRow {
    name: String,
    status: String,
    alive: bool,
    queues: String,
    flows: String,
    labels: String,
    heartbeat: String,
    host: String,
}

#[derive(Template)]
#[template(path = "work_queues.html")]
struct WorkQueues {
    queues: Vec<QueueRow>,
    workers: Vec<WorkerRow>,
}

/// `GET /work-queues`: the queues by priority, and the workers that
/// serve them with their last heartbeat.
pub(crate) async fn work_queues(State(store): State<AnyStore>) -> Result<Response, ApiError> {
    let (queues, workers) = on_store(&store, |s| {
        Box::pin(async move { Ok((s.list_work_queues().await?, s.list_workers().await?)) })
    })
    .await?;
    let all = |list: &[String], none: &str| if list.is_empty() { none.to_owned() } else { list.join(", ") };
    let queues = queues
        .into_iter()
        .map(|q| QueueRow {
            limit: q.concurrency_limit.map_or_else(|| "none".to_owned(), |l| l.to_string()),
            name: q.name,
            priority: q.priority,
            paused: q.paused,
            description: q.description,
        })
        .collect();
    let workers = workers
        .into_iter()
        .map(|w| WorkerRow {
            queues: all(&w.beat.queues, "all"),
            flows: all(&w.beat.flows, "none"),
            labels: all(&w.beat.labels, "none"),
            heartbeat: iso(w.beat.time),
            host: match (w.host, w.pid) {
                (Some(host), Some(pid)) => format!("{host} (pid {pid})"),
                (Some(host), None) => host,
                _ => String::new(),
            },
            name: w.beat.name,
            status: w.beat.status,
            alive: w.alive,
        })
        .collect();
    page(WorkQueues { queues, workers })
}

struct LimitRow {
    tag: String,
    limit: u32,
    active: u32,
    /// Slots in use as a share of the limit, for the bar (0 to 100).
    percent: u32,
    updated: String,
}

struct HolderRow {
    tag: String,
    /// The holding task run's page.
    href: String,
    /// Its name, or its id when it is not recorded.
    name: String,
    process: String,
    acquired: String,
}

#[derive(Template)]
#[template(path = "limits.html")]
struct Limits {
    limits: Vec<LimitRow>,
    holders: Vec<HolderRow>,
}

/// `GET /concurrency-limits`: each tag's limit, the slots in use, and the
/// task runs holding them.
pub(crate) async fn concurrency_limits(State(store): State<AnyStore>) -> Result<Response, ApiError> {
    let (listed, holders) = on_store(&store, |s| {
        Box::pin(async move { Ok((s.list_concurrency_limits().await?, s.list_slot_holders().await?)) })
    })
    .await?;
    let holders = holders
        .into_iter()
        .map(|h| HolderRow {
            href: format!("/task-runs/{}", h.holder.0),
            name: h.task_run_name.unwrap_or_else(|| h.holder.0.to_string()),
            process: format!("{} (pid {})", h.host, h.pid),
            acquired: iso(h.acquired),
            tag: h.tag,
        })
        .collect();
    let limits = listed
        .into_iter()
        .map(|l| LimitRow {
            // A limit of 0 lets nothing run: full.
            percent: (l.active_slots.min(l.limit) * 100).checked_div(l.limit).unwrap_or(100),
            tag: l.tag,
            limit: l.limit,
            active: l.active_slots,
            updated: iso(l.updated),
        })
        .collect();
    page(Limits { limits, holders })
}
