//! The write path of remote recording: event batches stored exactly once,
//! the leases that tell whether a remote recorder is alive, and the tag
//! concurrency slots its runs take. `prefect-store-http` is the client.

use std::time::Duration;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use prefect_model::{Event, TaskRunId};
use prefect_store::{AnyStore, BatchId, LeaseId, LeaseOwner};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::api::{JsonBody, on_store, parse_id};
use crate::error::ApiError;

type ApiResult = Result<Json<Value>, ApiError>;

/// The largest body of `POST /api/events` (bytes): a batch of a thousand
/// events with long log lines fits well within it.
pub(crate) const MAX_BATCH_BODY: usize = 32 * 1024 * 1024;

/// The body of `POST /api/events`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct EventBatch {
    /// Chosen by the sender; a batch sent again with the same id is not
    /// stored twice.
    batch: BatchId,
    /// The sender's lease: the runs the batch creates are owned by it.
    lease: Option<LeaseId>,
    events: Vec<Event>,
}

/// `POST /api/events`: stores a batch of run events in one transaction,
/// exactly once per batch id.
#[utoipa::path(post, path = "/api/events", tag = "recording",
    request_body(content = Object, content_type = "application/json",
        description = "`{\"batch\": UUID, \"lease\": 17 | null, \"events\": [{\"kind\": \"state_changed\", \"event\": {..}}, ..]}`"),
    responses((status = 200, description = "`{\"stored\": true}`, or `false` when this batch was stored before")))]
pub(crate) async fn events(
    State(store): State<AnyStore>,
    headers: axum::http::HeaderMap,
    body: axum::body::Bytes,
) -> ApiResult {
    // Decoded here rather than by `Json`, whose error paths cost as much
    // again per event as the decoding itself; the rules are the same.
    let json = headers.get(axum::http::header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|v| {
        v.split(';').next().is_some_and(|t| t.trim().eq_ignore_ascii_case("application/json"))
    });
    if !json {
        return Err(ApiError::bad("body", "expected a request with `Content-Type: application/json`"));
    }
    let EventBatch { batch, lease, events } = serde_json::from_slice(&body)
        .map_err(|e| ApiError::bad("body", format!("not an event batch: {e}")))?;
    let stored =
        on_store(&store, move |s| Box::pin(async move { s.write_events_once(batch, lease, &events).await }))
            .await?;
    Ok(Json(json!({ "stored": stored })))
}

/// The body of the lease calls.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct LeaseBody {
    owner: LeaseOwner,
    /// How long the lease lasts without renewal, in milliseconds.
    ttl_ms: u64,
}

/// `POST /api/leases`: registers a remote recorder.
#[utoipa::path(post, path = "/api/leases", tag = "recording",
    request_body(content = Object, content_type = "application/json",
        description = "`{\"owner\": {\"pid\": 1, \"host\": \"..\", \"boot_id\": null, \"pid_start\": null}, \"ttl_ms\": 30000}`"),
    responses((status = 201, description = "`{\"lease\": {\"id\": 17, \"owner\": {..}, \"expires\": RFC3339}}`")))]
pub(crate) async fn acquire_lease(
    State(store): State<AnyStore>,
    JsonBody(body): JsonBody<LeaseBody>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let ttl = Duration::from_millis(body.ttl_ms);
    let owner = body.owner;
    let lease =
        on_store(&store, move |s| Box::pin(async move { s.acquire_lease(&owner, ttl).await })).await?;
    Ok((StatusCode::CREATED, Json(json!({ "lease": lease }))))
}

/// `PUT /api/leases/{id}`: extends a lease, taking it again under the same
/// id when it had lapsed (its runs were marked Crashed meanwhile).
#[utoipa::path(put, path = "/api/leases/{id}", tag = "recording", params(("id" = i64, Path, description = "The lease's id")),
    request_body(content = Object, content_type = "application/json", description = "As for `POST /api/leases`"),
    responses((status = 200, description = "`{\"renewed\": true}`, or `false` when it had lapsed and was taken again")))]
pub(crate) async fn renew_lease(
    State(store): State<AnyStore>,
    Path(id): Path<i64>,
    JsonBody(body): JsonBody<LeaseBody>,
) -> ApiResult {
    let ttl = Duration::from_millis(body.ttl_ms);
    let lease = prefect_store::Lease { id: LeaseId(id), owner: body.owner, expires: chrono::Utc::now() };
    let renewed =
        on_store(&store, move |s| Box::pin(async move { s.renew_lease(&lease, ttl).await })).await?;
    Ok(Json(json!({ "renewed": renewed })))
}

/// `DELETE /api/leases/{id}`: a recorder closing; its runs that have not
/// ended are marked Crashed.
#[utoipa::path(delete, path = "/api/leases/{id}", tag = "recording", params(("id" = i64, Path, description = "The lease's id")),
    responses((status = 200, description = "`{\"crashed\": [run ids]}`")))]
pub(crate) async fn release_lease(State(store): State<AnyStore>, Path(id): Path<i64>) -> ApiResult {
    let crashed = on_store(&store, move |s| s.release_lease(LeaseId(id))).await?;
    Ok(Json(json!({ "crashed": crashed })))
}

/// The body of `POST /api/concurrency_limits/slots`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SlotsBody {
    tags: Vec<String>,
    holder: TaskRunId,
}

/// `POST /api/concurrency_limits/slots`: takes a slot of every limited tag
/// for a task run, or none.
#[utoipa::path(post, path = "/api/concurrency_limits/slots", tag = "concurrency limits",
    request_body(content = Object, content_type = "application/json", description = "`{\"tags\": [\"db\"], \"holder\": TASK_RUN_ID}`"),
    responses((status = 200, description = "`{\"decision\": \"acquired\" | \"busy\" | \"no_limits\" | {\"abort\": \"..\"}}`")))]
pub(crate) async fn take_slots(
    State(store): State<AnyStore>,
    JsonBody(body): JsonBody<SlotsBody>,
) -> ApiResult {
    let SlotsBody { tags, holder } = body;
    let decision =
        on_store(&store, move |s| Box::pin(async move { s.try_acquire_slots(&tags, holder).await })).await?;
    Ok(Json(json!({ "decision": decision })))
}

/// `DELETE /api/concurrency_limits/slots/{holder}`: frees the slots a task
/// run took.
#[utoipa::path(delete, path = "/api/concurrency_limits/slots/{holder}", tag = "concurrency limits",
    params(("holder" = String, Path, description = "The task run's id")),
    responses((status = 200, description = "`{}`")))]
pub(crate) async fn release_slots(State(store): State<AnyStore>, Path(holder): Path<String>) -> ApiResult {
    let holder = TaskRunId(parse_id(&holder)?);
    on_store(&store, move |s| s.release_slots(holder)).await?;
    Ok(Json(json!({})))
}

/// `POST /api/queue`: a run-queue call of a remote worker or `serve`
/// (`prefect_store::wire::QueueCall`: claims, heartbeats, deployments,
/// scheduled runs, state changes).
#[utoipa::path(post, path = "/api/queue", tag = "recording",
    request_body(content = Object, content_type = "application/json",
        description = "`{\"call\": \"claim_flow_runs\", \"queues\": [..], \"flows\": [..], \"labels\": [], \"now\": RFC3339, \"limit\": 1, \"lease\": 17}`, one of prefect_store::wire::QueueCall"),
    responses((status = 200, description = "`{\"result\": ..}`: what the store method returns")))]
pub(crate) async fn queue(
    State(store): State<AnyStore>,
    JsonBody(call): JsonBody<prefect_store::wire::QueueCall>,
) -> ApiResult {
    let result = on_store(&store, move |s| Box::pin(call.apply(s))).await?;
    Ok(Json(json!({ "result": result })))
}
