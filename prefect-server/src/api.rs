//! The JSON API under `/api`: reads of the run database, each answered
//! from the store on the blocking pool (the SQLite store queries in the
//! calling thread; a slow query must not stall the server's other requests).

use std::str::FromStr;

use axum::Json;
use axum::extract::{Path, Query, State};
use chrono::{DateTime, Utc};
use prefect_model::{FlowRunId, LogLevel, StateType, TaskRunId};
use prefect_store::{AnyStore, FlowRunCursor, FlowRunFilter, LogCursor, LogFilter, Store, TaskRunFilter};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::error::ApiError;

/// The most rows one list call returns.
pub(crate) const MAX_LIMIT: usize = 1_000;
/// Rows a list call returns when it does not say.
const DEFAULT_LIMIT: usize = 100;

type ApiResult = Result<Json<Value>, ApiError>;

/// Runs `query` on the store from the blocking pool.
pub(crate) async fn on_store<T, F>(store: &AnyStore, query: F) -> Result<T, ApiError>
where
    T: Send + 'static,
    F: FnOnce(&dyn Store) -> prefect_store::StoreFuture<'_, T> + Send + 'static,
{
    let store = store.clone();
    let handle = tokio::runtime::Handle::current();
    let result =
        tokio::task::spawn_blocking(move || handle.block_on(query(&*store))).await.map_err(|error| {
            tracing::error!(%error, "a store query panicked");
            ApiError::Internal
        })?;
    Ok(result?)
}

fn to_json(value: impl serde::Serialize) -> ApiResult {
    serde_json::to_value(value).map(Json).map_err(|error| {
        tracing::error!(%error, "a response did not serialize");
        ApiError::Internal
    })
}

/// `GET /api/health`: answers while the server runs (no key needed).
#[utoipa::path(get, path = "/api/health", tag = "server", responses((status = 200, description = "`{\"status\": \"ok\"}` while the server runs")))]
pub(crate) async fn health() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

/// `GET /api/flows`: every flow with recorded runs.
#[utoipa::path(get, path = "/api/flows", tag = "flows", responses((status = 200, description = "`{\"flows\": [...]}`: every flow with recorded runs, by name")))]
pub(crate) async fn flows(State(store): State<AnyStore>) -> ApiResult {
    let flows = on_store(&store, |s| s.list_flows()).await?;
    to_json(json!({ "flows": flows }))
}

/// The query of `GET /api/flow_runs`. Every field is text, parsed here so
/// that a bad value is answered with the field's name.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct FlowRunsQuery {
    /// State types, comma-separated: `failed,crashed`.
    state: Option<String>,
    /// A flow's name.
    flow: Option<String>,
    /// RFC 3339: runs created at or after it.
    since: Option<String>,
    /// RFC 3339: runs created before it.
    until: Option<String>,
    /// Text in the run's name (any case).
    name: Option<String>,
    /// A tag the run carries.
    tag: Option<String>,
    /// A deployment's id.
    deployment: Option<String>,
    /// The `next` of the previous page.
    after: Option<String>,
    limit: Option<String>,
}

/// `GET /api/flow_runs`: runs newest first, filtered.
#[utoipa::path(get, path = "/api/flow_runs", tag = "flow runs",
    params(
        ("state" = Option<String>, Query, description = "State types, comma-separated (`failed,crashed`)"),
        ("flow" = Option<String>, Query, description = "A flow's name"),
        ("since" = Option<String>, Query, description = "RFC 3339: runs created at or after it"),
        ("until" = Option<String>, Query, description = "RFC 3339: runs created before it"),
        ("name" = Option<String>, Query, description = "Text in the run's name (any case)"),
        ("tag" = Option<String>, Query, description = "A tag the run carries"),
        ("deployment" = Option<String>, Query, description = "A deployment's id"),
        ("after" = Option<String>, Query, description = "The `next` of the previous page"),
        ("limit" = Option<u32>, Query, description = "1 to 1000 (default 100)"),
    ),
    responses((status = 200, description = "`{\"flow_runs\": [...], \"next\": cursor | null}`, newest first; `next` is set when the page is full"), (status = 400, description = "A bad value; `field` names it")))]
pub(crate) async fn flow_runs(
    State(store): State<AnyStore>,
    Query(query): Query<FlowRunsQuery>,
) -> ApiResult {
    let mut filter = FlowRunFilter::new().limit(parse_limit(query.limit.as_deref())?);
    for state in parse_states(query.state.as_deref())? {
        filter = filter.state(state);
    }
    if let Some(flow) = query.flow {
        filter = filter.flow(flow);
    }
    if let Some(since) = query.since.as_deref() {
        filter = filter.since(parse_time("since", since)?);
    }
    if let Some(until) = query.until.as_deref() {
        filter = filter.until(parse_time("until", until)?);
    }
    if let Some(name) = query.name.filter(|n| !n.is_empty()) {
        filter = filter.name_contains(name);
    }
    if let Some(tag) = query.tag.filter(|t| !t.is_empty()) {
        filter = filter.tag(tag);
    }
    if let Some(deployment) = query.deployment.as_deref() {
        filter = filter.deployment(prefect_store::DeploymentId(parse_id_named("deployment", deployment)?));
    }
    if let Some(after) = query.after.as_deref() {
        filter = filter
            .after(after.parse().map_err(|e: prefect_store::Error| ApiError::bad("after", e.to_string()))?);
    }
    let limit = filter.limit;
    let runs = on_store(&store, move |s| Box::pin(async move { s.list_flow_runs(&filter).await })).await?;
    let next = runs.last().filter(|_| runs.len() == limit).map(|r| FlowRunCursor::after(r).to_string());
    to_json(json!({ "flow_runs": runs, "next": next }))
}

/// The query of `GET /api/flow_runs/{id}`.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct FlowRunQuery {
    /// How many of its task runs to include (default 100).
    task_runs: Option<String>,
}

/// `GET /api/flow_runs/{id}`: one run with its parameters, state history
/// and first task runs.
#[utoipa::path(get, path = "/api/flow_runs/{id}", tag = "flow runs",
    params(("id" = String, Path, description = "The run's id"), ("task_runs" = Option<u32>, Query, description = "How many task runs to include (0 to 1000, default 100)")),
    responses((status = 200, description = "The run with its parameters, state history and first task runs"), (status = 404, description = "No such run")))]
pub(crate) async fn flow_run(
    State(store): State<AnyStore>,
    Path(id): Path<String>,
    Query(query): Query<FlowRunQuery>,
) -> ApiResult {
    let id = FlowRunId(parse_id(&id)?);
    let limit = parse_count("task_runs", query.task_runs.as_deref())?;
    let detail = on_store(&store, move |s| s.inspect_flow_run(id, limit)).await?;
    to_json(detail)
}

/// The query of `GET /api/flow_runs/{id}/task_runs`.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct TaskRunsQuery {
    state: Option<String>,
    limit: Option<String>,
}

/// `GET /api/flow_runs/{id}/task_runs`: its task runs in creation order.
#[utoipa::path(get, path = "/api/flow_runs/{id}/task_runs", tag = "flow runs",
    params(("id" = String, Path, description = "The flow run's id"), ("state" = Option<String>, Query, description = "State types, comma-separated"), ("limit" = Option<u32>, Query, description = "1 to 1000 (default 100)")),
    responses((status = 200, description = "`{\"task_runs\": [...]}` in creation order")))]
pub(crate) async fn task_runs_of(
    State(store): State<AnyStore>,
    Path(id): Path<String>,
    Query(query): Query<TaskRunsQuery>,
) -> ApiResult {
    let id = FlowRunId(parse_id(&id)?);
    let mut filter = TaskRunFilter::of_flow_run(id).limit(parse_limit(query.limit.as_deref())?);
    for state in parse_states(query.state.as_deref())? {
        filter = filter.state(state);
    }
    let runs = on_store(&store, move |s| Box::pin(async move { s.list_task_runs(&filter).await })).await?;
    to_json(json!({ "task_runs": runs }))
}

/// The query of `GET /api/task_runs`.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct AllTaskRunsQuery {
    /// A flow run's id: its task runs, in creation order.
    flow_run: Option<String>,
    /// `true`: task runs called outside any flow, in creation order.
    standalone: Option<String>,
    state: Option<String>,
    flow: Option<String>,
    deployment: Option<String>,
    name: Option<String>,
    tag: Option<String>,
    since: Option<String>,
    until: Option<String>,
    after: Option<String>,
    limit: Option<String>,
}

/// `GET /api/task_runs`: task runs, newest first across flow runs (or in
/// creation order within one flow run, or outside flows), filtered.
#[utoipa::path(get, path = "/api/task_runs", tag = "task runs",
    params(
        ("flow_run" = Option<String>, Query, description = "A flow run's id: its task runs, in creation order"),
        ("standalone" = Option<bool>, Query, description = "`true`: task runs called outside any flow"),
        ("state" = Option<String>, Query, description = "State types, comma-separated (`failed,crashed`)"),
        ("flow" = Option<String>, Query, description = "Inside runs of this flow"),
        ("deployment" = Option<String>, Query, description = "Inside runs of this deployment (its id)"),
        ("name" = Option<String>, Query, description = "Text in the task run's name (any case)"),
        ("tag" = Option<String>, Query, description = "A tag the task run carries"),
        ("since" = Option<String>, Query, description = "RFC 3339: runs created at or after it"),
        ("until" = Option<String>, Query, description = "RFC 3339: runs created before it"),
        ("after" = Option<String>, Query, description = "The `next` of the previous page (a task run id)"),
        ("limit" = Option<u32>, Query, description = "1 to 1000 (default 100)"),
    ),
    responses((status = 200, description = "`{\"task_runs\": [...], \"next\": id | null}`; `next` is set when the page is full"), (status = 400, description = "A bad value; `field` names it")))]
pub(crate) async fn task_runs(
    State(store): State<AnyStore>,
    Query(query): Query<AllTaskRunsQuery>,
) -> ApiResult {
    let standalone = match query.standalone.as_deref() {
        None | Some("false") => false,
        Some("true") => true,
        Some(other) => return Err(ApiError::bad("standalone", format!("`{other}` is not true or false"))),
    };
    let mut filter = match (query.flow_run.as_deref(), standalone) {
        (Some(_), true) => {
            return Err(ApiError::bad("standalone", "a flow run's task runs are not standalone"));
        }
        (Some(id), false) => TaskRunFilter::of_flow_run(FlowRunId(parse_id_named("flow_run", id)?)),
        (None, true) => TaskRunFilter::standalone(),
        (None, false) => TaskRunFilter::any(),
    };
    filter = filter.limit(parse_limit(query.limit.as_deref())?);
    for state in parse_states(query.state.as_deref())? {
        filter = filter.state(state);
    }
    if let Some(flow) = query.flow.filter(|f| !f.is_empty()) {
        filter = filter.flow(flow);
    }
    if let Some(deployment) = query.deployment.as_deref() {
        filter = filter.deployment(prefect_store::DeploymentId(parse_id_named("deployment", deployment)?));
    }
    if let Some(name) = query.name.filter(|n| !n.is_empty()) {
        filter = filter.name_contains(name);
    }
    if let Some(tag) = query.tag.filter(|t| !t.is_empty()) {
        filter = filter.tag(tag);
    }
    if let Some(since) = query.since.as_deref() {
        filter = filter.since(parse_time("since", since)?);
    }
    if let Some(until) = query.until.as_deref() {
        filter = filter.until(parse_time("until", until)?);
    }
    if let Some(after) = query.after.as_deref() {
        filter = filter.after(TaskRunId(parse_id_named("after", after)?));
    }
    let limit = filter.limit;
    let runs = on_store(&store, move |s| Box::pin(async move { s.list_task_runs(&filter).await })).await?;
    let next = runs.last().filter(|_| runs.len() == limit).map(|r| r.id.0.to_string());
    to_json(json!({ "task_runs": runs, "next": next }))
}

/// `GET /api/task_runs/{id}`: one task run with its history and upstream
/// edges.
#[utoipa::path(get, path = "/api/task_runs/{id}", tag = "task runs",
    params(("id" = String, Path, description = "The task run's id")),
    responses((status = 200, description = "The task run with its state history and upstream edges"), (status = 404, description = "No such run")))]
pub(crate) async fn task_run(State(store): State<AnyStore>, Path(id): Path<String>) -> ApiResult {
    let id = TaskRunId(parse_id(&id)?);
    let detail = on_store(&store, move |s| s.inspect_task_run(id)).await?;
    to_json(detail)
}

/// The query of `GET /api/flow_runs/{id}/dependencies`.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct DependenciesQuery {
    limit: Option<String>,
}

/// The most edges `GET /api/flow_runs/{id}/dependencies` returns at once.
pub(crate) const MAX_EDGES: usize = 100_000;

/// `GET /api/flow_runs/{id}/dependencies`: the edges into its task runs,
/// in recording order.
#[utoipa::path(get, path = "/api/flow_runs/{id}/dependencies", tag = "flow runs",
    params(("id" = String, Path, description = "The flow run's id"), ("limit" = Option<u32>, Query, description = "1 to 100000 (default 1000)")),
    responses((status = 200, description = "`{\"dependencies\": [{\"downstream\", \"upstream\", \"kind\"}]}`: the edges into its task runs")))]
pub(crate) async fn dependencies(
    State(store): State<AnyStore>,
    Path(id): Path<String>,
    Query(query): Query<DependenciesQuery>,
) -> ApiResult {
    let id = FlowRunId(parse_id(&id)?);
    let limit = match query.limit.as_deref() {
        None => MAX_LIMIT,
        Some(text) => match text.parse::<usize>() {
            Ok(n) if (1..=MAX_EDGES).contains(&n) => n,
            _ => {
                return Err(ApiError::bad(
                    "limit",
                    format!("must be a whole number from 1 to {MAX_EDGES}, not `{text}`"),
                ));
            }
        },
    };
    let edges = on_store(&store, move |s| s.dependency_edges(id, limit)).await?;
    to_json(json!({ "dependencies": edges }))
}

/// The query of `GET /api/flow_runs/{id}/logs`.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct LogsQuery {
    /// The `next` of the previous page: lines recorded after it.
    after: Option<String>,
    /// The lowest level shown: `debug`, `info`, `warning`, `error`...
    level: Option<String>,
    limit: Option<String>,
}

/// `GET /api/flow_runs/{id}/logs`: the run's log lines (its task runs'
/// too) in recording order, a page at a time; `next` continues.
#[utoipa::path(get, path = "/api/flow_runs/{id}/logs", tag = "flow runs",
    params(("id" = String, Path, description = "The flow run's id"), ("after" = Option<i64>, Query, description = "The `next` of the previous page"), ("level" = Option<String>, Query, description = "The lowest level shown"), ("limit" = Option<u32>, Query, description = "1 to 1000 (default 100)")),
    responses((status = 200, description = "`{\"logs\": [...], \"next\": cursor}`: its lines and its task runs', in recording order")))]
pub(crate) async fn logs(
    State(store): State<AnyStore>,
    Path(id): Path<String>,
    Query(query): Query<LogsQuery>,
) -> ApiResult {
    let id = FlowRunId(parse_id(&id)?);
    let mut filter = LogFilter::of(id).limit(parse_limit(query.limit.as_deref())?);
    if let Some(after) = query.after.as_deref() {
        let cursor =
            after.parse().map_err(|_| ApiError::bad("after", format!("not a log cursor: `{after}`")))?;
        filter = filter.after(LogCursor(cursor));
    }
    if let Some(level) = query.level.as_deref() {
        let level = LogLevel::from_str(level).map_err(|error| ApiError::bad("level", error.to_string()))?;
        filter = filter.min_level(level);
    }
    let lines = on_store(&store, move |s| Box::pin(async move { s.logs(&filter).await })).await?;
    let next = lines.last().map(|line| line.cursor);
    to_json(json!({ "logs": lines, "next": next }))
}

/// `GET /api/deployments`.
#[utoipa::path(get, path = "/api/deployments", tag = "deployments", responses((status = 200, description = "`{\"deployments\": [...]}`")))]
pub(crate) async fn deployments(State(store): State<AnyStore>) -> ApiResult {
    let deployments = on_store(&store, |s| s.list_deployments()).await?;
    to_json(json!({ "deployments": deployments }))
}

/// `GET /api/work_queues`.
#[utoipa::path(get, path = "/api/work_queues", tag = "work queues", responses((status = 200, description = "`{\"work_queues\": [...]}`")))]
pub(crate) async fn work_queues(State(store): State<AnyStore>) -> ApiResult {
    let queues = on_store(&store, |s| s.list_work_queues()).await?;
    to_json(json!({ "work_queues": queues }))
}

/// `GET /api/workers`.
#[utoipa::path(get, path = "/api/workers", tag = "work queues", responses((status = 200, description = "`{\"workers\": [...]}` with their last heartbeat")))]
pub(crate) async fn workers(State(store): State<AnyStore>) -> ApiResult {
    let workers = on_store(&store, |s| s.list_workers()).await?;
    to_json(json!({ "workers": workers }))
}

/// `GET /api/concurrency_limits`.
#[utoipa::path(get, path = "/api/concurrency_limits", tag = "concurrency limits", responses((status = 200, description = "`{\"concurrency_limits\": [...]}`")))]
pub(crate) async fn concurrency_limits(State(store): State<AnyStore>) -> ApiResult {
    let limits = on_store(&store, |s| s.list_concurrency_limits()).await?;
    to_json(json!({ "concurrency_limits": limits }))
}

/// `GET /api/concurrency_limits/holders`.
#[utoipa::path(get, path = "/api/concurrency_limits/holders", tag = "concurrency limits", responses((status = 200, description = "`{\"holders\": [{\"tag\", \"holder\", \"task_run_name\", \"flow_run_id\", \"pid\", \"host\", \"acquired\"}]}`: the task runs holding slots now, by tag, oldest first")))]
pub(crate) async fn slot_holders(State(store): State<AnyStore>) -> ApiResult {
    let holders = on_store(&store, |s| s.list_slot_holders()).await?;
    to_json(json!({ "holders": holders }))
}

pub(crate) fn parse_id(text: &str) -> Result<uuid::Uuid, ApiError> {
    parse_id_named("id", text)
}

/// An id in query field `field`.
fn parse_id_named(field: &'static str, text: &str) -> Result<uuid::Uuid, ApiError> {
    uuid::Uuid::parse_str(text).map_err(|_| ApiError::bad(field, format!("not an id: `{text}`")))
}

fn parse_states(text: Option<&str>) -> Result<Vec<StateType>, ApiError> {
    let Some(text) = text else { return Ok(Vec::new()) };
    text.split(',')
        .filter(|part| !part.trim().is_empty())
        .map(|part| StateType::from_str(part).map_err(|error| ApiError::bad("state", error.to_string())))
        .collect()
}

fn parse_time(field: &'static str, text: &str) -> Result<DateTime<Utc>, ApiError> {
    DateTime::parse_from_rfc3339(text)
        .map(|time| time.with_timezone(&Utc))
        .map_err(|error| ApiError::bad(field, format!("not an RFC 3339 time (`{text}`): {error}")))
}

/// A page size: 1 to [`MAX_LIMIT`], [`DEFAULT_LIMIT`] when absent.
fn parse_limit(text: Option<&str>) -> Result<usize, ApiError> {
    match text {
        None => Ok(DEFAULT_LIMIT),
        Some(text) => match text.parse::<usize>() {
            Ok(n) if (1..=MAX_LIMIT).contains(&n) => Ok(n),
            _ => Err(ApiError::bad(
                "limit",
                format!("must be a whole number from 1 to {MAX_LIMIT}, not `{text}`"),
            )),
        },
    }
}

/// A count from 0 to [`MAX_LIMIT`], [`DEFAULT_LIMIT`] when absent.
fn parse_count(field: &'static str, text: Option<&str>) -> Result<usize, ApiError> {
    match text {
        None => Ok(DEFAULT_LIMIT),
        Some(text) => match text.parse::<usize>() {
            Ok(n) if n <= MAX_LIMIT => Ok(n),
            _ => Err(ApiError::bad(
                field,
                format!("must be a whole number from 0 to {MAX_LIMIT}, not `{text}`"),
            )),
        },
    }
}

/// Who the states' messages say asked.
const BY: &str = "the API";

/// A JSON request body; a missing content type, malformed JSON or a wrong
/// field is a 400 in the API's error shape.
pub(crate) struct JsonBody<T>(pub(crate) T);

impl<S: Send + Sync, T: serde::de::DeserializeOwned> axum::extract::FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(request: axum::extract::Request, state: &S) -> Result<Self, ApiError> {
        match Json::<T>::from_request(request, state).await {
            Ok(Json(value)) => Ok(JsonBody(value)),
            Err(rejection) => Err(ApiError::bad("body", rejection.body_text())),
        }
    }
}

/// The body of a write call: a JSON object (`{}` when it carries nothing).
/// Requiring `application/json` keeps a page on another site from posting
/// to a loopback server: a browser sends such a request only after a
/// preflight this server does not answer.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ActionBody {
    /// A resume input.
    input: Option<Value>,
}

/// `POST /api/flow_runs/{id}/cancel`: a queued run ends Cancelled at once;
/// a running one goes Cancelling and its worker stops it.
#[utoipa::path(post, path = "/api/flow_runs/{id}/cancel", tag = "flow runs", params(("id" = String, Path, description = "The run's id")),
    request_body(content = Object, content_type = "application/json", description = "`{}`"),
    responses((status = 200, description = "`{\"state\": \"Cancelled\" | \"Cancelling\"}`"), (status = 409, description = "It has ended: nothing to cancel")))]
pub(crate) async fn cancel(
    State(store): State<AnyStore>,
    Path(id): Path<String>,
    _: JsonBody<ActionBody>,
) -> ApiResult {
    let id = FlowRunId(parse_id(&id)?);
    let outcome = on_store(&store, move |s| {
        Box::pin(async move { prefect_store::control::cancel_flow_run(s, id, BY).await })
    })
    .await?;
    let state = match outcome {
        prefect_store::control::Cancelled::BeforeStart => "Cancelled",
        prefect_store::control::Cancelled::Asked => "Cancelling",
    };
    to_json(json!({ "id": id, "state": state }))
}

/// `DELETE /api/flow_runs/{id}`: the run with its task runs, states, logs
/// and edges, once it is not going.
#[utoipa::path(delete, path = "/api/flow_runs/{id}", tag = "flow runs", params(("id" = String, Path, description = "The run's id")),
    request_body(content = Object, content_type = "application/json", description = "`{}`"),
    responses((status = 200, description = "`{\"id\", \"deleted\": {\"flow_runs\", \"task_runs\", \"states\", \"logs\", \"dependencies\"}}`"),
        (status = 404, description = "No such run"), (status = 409, description = "Still going: cancel it first")))]
pub(crate) async fn delete_flow_run(
    State(store): State<AnyStore>,
    Path(id): Path<String>,
    _: JsonBody<ActionBody>,
) -> ApiResult {
    let id = FlowRunId(parse_id(&id)?);
    let report = on_store(&store, move |s| {
        Box::pin(async move { prefect_store::control::delete_flow_run(s, id).await })
    })
    .await?;
    to_json(json!({ "id": id, "deleted": report, "state": "deleted" }))
}

/// `POST /api/flow_runs/{id}/retry`: a failed run of a deployment goes back
/// to its queue.
#[utoipa::path(post, path = "/api/flow_runs/{id}/retry", tag = "flow runs", params(("id" = String, Path, description = "The run's id")),
    request_body(content = Object, content_type = "application/json", description = "`{}`"),
    responses((status = 200, description = "Back in its queue (AwaitingRetry)"), (status = 409, description = "Not a failed run of a deployment")))]
pub(crate) async fn retry(
    State(store): State<AnyStore>,
    Path(id): Path<String>,
    _: JsonBody<ActionBody>,
) -> ApiResult {
    let id = FlowRunId(parse_id(&id)?);
    on_store(&store, move |s| {
        Box::pin(async move { prefect_store::control::retry_flow_run(s, id, BY).await })
    })
    .await?;
    to_json(json!({ "id": id, "state": "AwaitingRetry" }))
}

/// `POST /api/flow_runs/{id}/resume` with `{"input": ...}` for a run paused
/// for one: waits up to 2 s for the flow to take the input; a refused input
/// is a 400 naming `input`.
#[utoipa::path(post, path = "/api/flow_runs/{id}/resume", tag = "flow runs", params(("id" = String, Path, description = "The run's id")),
    request_body(content = Object, content_type = "application/json", description = "`{}`, or `{\"input\": ...}` for a run paused for one"),
    responses((status = 200, description = "Resumed"), (status = 400, description = "The flow refused the input (`field`: `input`)"), (status = 409, description = "Not paused")))]
pub(crate) async fn resume(
    State(store): State<AnyStore>,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<ActionBody>,
) -> ApiResult {
    let id = FlowRunId(parse_id(&id)?);
    let input = body.input;
    let resumed = on_store(&store, move |s| {
        Box::pin(async move {
            let sleep = |delay| async move { std::thread::sleep(delay) };
            let patience = std::time::Duration::from_secs(2);
            prefect_store::control::resume_flow_run(s, id, input.as_ref(), patience, sleep).await
        })
    })
    .await?;
    to_json(json!({ "id": id, "state": "Running", "outcome": resumed }))
}

/// `POST /api/deployments/{flow}/{name}/pause` and `.../resume`: its
/// schedules stop or start making runs.
#[utoipa::path(post, path = "/api/deployments/{flow}/{name}/pause", tag = "deployments",
    params(("flow" = String, Path, description = "The flow's name"), ("name" = String, Path, description = "The deployment's name")),
    request_body(content = Object, content_type = "application/json", description = "`{}`"),
    responses((status = 200, description = "Its schedules make no runs"), (status = 404, description = "No such deployment")))]
pub(crate) async fn pause_deployment(
    State(store): State<AnyStore>,
    Path((flow, name)): Path<(String, String)>,
    _: JsonBody<ActionBody>,
) -> ApiResult {
    set_paused(store, flow, name, true).await
}

/// See [`pause_deployment`].
#[utoipa::path(post, path = "/api/deployments/{flow}/{name}/resume", tag = "deployments",
    params(("flow" = String, Path, description = "The flow's name"), ("name" = String, Path, description = "The deployment's name")),
    request_body(content = Object, content_type = "application/json", description = "`{}`"),
    responses((status = 200, description = "Its schedules make runs again"), (status = 404, description = "No such deployment")))]
pub(crate) async fn resume_deployment(
    State(store): State<AnyStore>,
    Path((flow, name)): Path<(String, String)>,
    _: JsonBody<ActionBody>,
) -> ApiResult {
    set_paused(store, flow, name, false).await
}

async fn set_paused(store: AnyStore, flow: String, name: String, paused: bool) -> ApiResult {
    let full = format!("{flow}/{name}");
    let key = full.clone();
    let found =
        on_store(&store, move |s| Box::pin(async move { s.set_deployment_paused(&key, paused).await }))
            .await?;
    if !found {
        return Err(ApiError::NotFound(format!("no deployment `{full}`")));
    }
    to_json(json!({ "deployment": full, "paused": paused }))
}

/// The body of `POST /api/deployments/{flow}/{name}/runs`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RunBody {
    /// Overrides of the deployment's parameters.
    #[serde(default)]
    parameters: serde_json::Map<String, Value>,
    /// RFC 3339; now when absent.
    start_at: Option<String>,
}

/// `POST /api/deployments/{flow}/{name}/runs`: a run of the deployment,
/// queued for its workers; answers its id and name (201).
#[utoipa::path(post, path = "/api/deployments/{flow}/{name}/runs", tag = "deployments",
    params(("flow" = String, Path, description = "The flow's name"), ("name" = String, Path, description = "The deployment's name")),
    request_body(content = Object, content_type = "application/json", description = "`{\"parameters\": {...}, \"start_at\": RFC 3339}`, both optional"),
    responses((status = 201, description = "`{\"id\", \"name\", \"scheduled\", \"parameters\"}` of the run created"), (status = 400, description = "An unknown parameter or a bad time; `field` names it"), (status = 404, description = "No such deployment")))]
pub(crate) async fn create_run(
    State(store): State<AnyStore>,
    Path((flow, name)): Path<(String, String)>,
    JsonBody(body): JsonBody<RunBody>,
) -> Result<(axum::http::StatusCode, Json<Value>), ApiError> {
    let due = match body.start_at.as_deref() {
        Some(text) => parse_time("start_at", text)?,
        None => Utc::now(),
    };
    let full = format!("{flow}/{name}");
    let key = full.clone();
    let found = on_store(&store, move |s| Box::pin(async move { s.deployment(&key).await })).await?;
    let Some(deployment) = found else {
        return Err(ApiError::NotFound(format!("no deployment `{full}`")));
    };
    check_values(&deployment, &body.parameters)?;
    let parameters = body.parameters;
    let run = on_store(&store, move |s| {
        Box::pin(async move {
            prefect_store::control::create_deployment_run(s, &deployment, parameters, due).await
        })
    })
    .await?;
    let created =
        json!({ "id": run.id, "name": run.name, "scheduled": run.scheduled, "parameters": run.parameters });
    Ok((axum::http::StatusCode::CREATED, Json(created)))
}

/// Checks the values a run of `deployment` would get against the JSON
/// Schema of its flow's parameters; the first wrong one is a 400 whose field
/// is `parameters.<name>`. (Unknown names are the store's to refuse.)
fn check_values(
    deployment: &prefect_store::Deployment,
    overrides: &serde_json::Map<String, Value>,
) -> Result<(), ApiError> {
    let Some(schema) = &deployment.spec.parameter_schema else { return Ok(()) };
    let Ok(validator) = jsonschema::validator_for(schema) else {
        // A schema this checker does not read: the worker still checks the
        // values before the flow starts.
        tracing::warn!(deployment = %deployment.full_name(), "its parameter schema does not compile; values not checked");
        return Ok(());
    };
    let parameters = Value::Object(prefect_store::control::merged_parameters(deployment, overrides.clone()));
    let Some(error) = validator.iter_errors(&parameters).next() else { return Ok(()) };
    let path = error.instance_path().as_str().trim_start_matches('/').to_owned();
    let name = path.split('/').next().unwrap_or_default();
    let field = if name.is_empty() { "parameters".to_owned() } else { format!("parameters.{name}") };
    Err(ApiError::bad(field, error.to_string()))
}

/// The query of `GET /api/runs/resolve`.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct ResolveQuery {
    /// An id, a unique prefix of one, a short id or a run's name.
    reference: Option<String>,
    /// `flow_runs`, `task_runs` or `any` (default).
    scope: Option<String>,
}

/// `GET /api/runs/resolve`: the run a person's reference names, as the
/// CLI takes it (id, prefix, short id or name).
#[utoipa::path(get, path = "/api/runs/resolve", tag = "flow runs",
    params(("reference" = String, Query, description = "An id, a unique id prefix, a short id or a run's name"),
        ("scope" = Option<String>, Query, description = "`flow_runs`, `task_runs` or `any` (default)")),
    responses((status = 200, description = "`{\"run\": {\"kind\": \"flow\" | \"task\", \"id\": UUID}}`"),
        (status = 400, description = "Ambiguous (the error lists candidates)"), (status = 404, description = "Nothing matches")))]
pub(crate) async fn resolve(State(store): State<AnyStore>, Query(query): Query<ResolveQuery>) -> ApiResult {
    let reference = query
        .reference
        .ok_or_else(|| ApiError::bad("reference", "give the run's id, prefix, short id or name"))?;
    let scope = match query.scope.as_deref() {
        None | Some("any") => prefect_store::RunScope::Any,
        Some("flow_runs") => prefect_store::RunScope::FlowRuns,
        Some("task_runs") => prefect_store::RunScope::TaskRuns,
        Some(other) => {
            return Err(ApiError::bad("scope", format!("`{other}` is not flow_runs, task_runs or any")));
        }
    };
    let run =
        on_store(&store, move |s| Box::pin(async move { s.resolve_run(&reference, scope).await })).await?;
    to_json(json!({ "run": run }))
}
