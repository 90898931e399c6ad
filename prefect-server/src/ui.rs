//! The web UI: server-rendered pages (askama templates, compiled in and
//! escaping every value), a little plain JavaScript for local times and the
//! live run page. Each page is one request plus its stream.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::{Html, IntoResponse, Response};
use chrono::{DateTime, TimeDelta, Utc};
use prefect_model::{FlowRunId, StateMeta, StateType};
use prefect_store::{AnyStore, FlowRunFilter, FlowRunSummary, LogFilter};
use serde::Deserialize;

use crate::api::{on_store, parse_id};
use crate::error::ApiError;

/// Runs a page shows.
const PAGE: usize = 100;
/// Runs the dashboard counts.
const COUNTED: usize = 1_000;

/// A run as a row of a table.
struct RunRow {
    id: String,
    name: String,
    flow: String,
    state: String,
    class: &'static str,
    start: Option<String>,
    duration: String,
    /// Its duration in milliseconds (-1 before it ends), to sort by.
    duration_ms: i64,
}

impl RunRow {
    fn of(run: &FlowRunSummary) -> RunRow {
        let (state, class) = state_label(run.state.as_ref());
        RunRow {
            id: run.id.0.to_string(),
            name: run.name.clone(),
            flow: run.flow_name.clone(),
            state,
            class,
            start: run.start_time.map(iso),
            duration: duration(run.start_time, run.end_time),
            duration_ms: match (run.start_time, run.end_time) {
                (Some(start), Some(end)) => (end - start).num_milliseconds(),
                _ => -1,
            },
        }
    }
}

/// A state's name and CSS class (`s-<class>` colours it as Prefect does).
pub(crate) fn state_label(state: Option<&StateMeta>) -> (String, &'static str) {
    match state {
        Some(state) => (state.name.to_string(), state_class(state.state_type)),
        None => ("No state".to_owned(), "none"),
    }
}

pub(crate) fn state_class(state: StateType) -> &'static str {
    match state {
        StateType::Scheduled => "scheduled",
        StateType::Pending => "pending",
        StateType::Running => "running",
        StateType::Paused => "paused",
        StateType::Completed => "completed",
        StateType::Failed => "failed",
        StateType::Crashed => "crashed",
        StateType::Cancelling => "cancelling",
        StateType::Cancelled => "cancelled",
    }
}

pub(crate) fn iso(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// `1.2 s`, `3 m 4 s`, `2 h 5 m`; empty before the start, `running` before the end.
pub(crate) fn duration(start: Option<DateTime<Utc>>, end: Option<DateTime<Utc>>) -> String {
    let (Some(start), Some(end)) = (start, end) else {
        return if start.is_some() { "running".into() } else { String::new() };
    };
    let delta = end.signed_duration_since(start).max(TimeDelta::zero());
    let ms = delta.num_milliseconds();
    if ms < 1_000 {
        format!("{ms} ms")
    } else if ms < 60_000 {
        format!("{:.1} s", ms as f64 / 1e3)
    } else if ms < 3_600_000 {
        format!("{} m {} s", ms / 60_000, ms % 60_000 / 1_000)
    } else {
        format!("{} h {} m", ms / 3_600_000, ms % 3_600_000 / 60_000)
    }
}

pub(crate) fn page(template: impl Template) -> Result<Response, ApiError> {
    template.render().map(|html| Html(html).into_response()).map_err(|error| {
        tracing::error!(%error, "a page did not render");
        ApiError::Internal
    })
}

/// A state type's count on the dashboard.
struct Count {
    state: &'static str,
    name: &'static str,
    class: &'static str,
    count: usize,
}

#[derive(Template)]
#[template(path = "dashboard.html")]
struct Dashboard {
    window: &'static str,
    windows: Vec<FilterLink>,
    total: usize,
    capped: bool,
    counts: Vec<Count>,
    runs: Vec<RunRow>,
    late: Vec<LateRow>,
    queues: Vec<QueueHealth>,
}

/// A late run on the dashboard.
struct LateRow {
    id: String,
    name: String,
    flow: String,
    state: String,
    due: String,
}

impl LateRow {
    fn of(run: &prefect_store::QueuedRun) -> LateRow {
        LateRow {
            id: run.id.0.to_string(),
            name: run.name.clone(),
            flow: run.flow_name.clone(),
            state: run.state.name.to_string(),
            due: iso(run.scheduled),
        }
    }
}

/// A work queue's health on the dashboard.
struct QueueHealth {
    name: String,
    /// `healthy`, `late runs`, `no worker` or `paused`.
    health: &'static str,
    /// The badge's state class for it.
    class: &'static str,
    late: usize,
    workers: usize,
}

/// The windows the dashboard counts over: query value, label, length.
const WINDOWS: [(&str, &str, i64); 4] =
    [("1h", "hour", 1), ("24h", "24 hours", 24), ("7d", "7 days", 24 * 7), ("30d", "30 days", 24 * 30)];

/// Due runs read to find the late ones.
const DUE_READ: usize = 2_000;

/// What the store keeps, or nothing when it does not keep such things (a
/// driver without the run queue): the dashboard shows the rest.
fn kept<T>(read: Result<Vec<T>, ApiError>) -> Result<Vec<T>, ApiError> {
    match read {
        Err(ApiError::NotImplemented(why)) => {
            tracing::debug!("the dashboard leaves out what the store does not keep: {why}");
            Ok(Vec::new())
        }
        other => other,
    }
}

/// The query of `GET /`.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct DashboardQuery {
    /// `1h`, `24h` (the default), `7d` or `30d`.
    window: Option<String>,
}

/// `GET /`: counts per state over a window (the last day unless chosen),
/// the latest failures, late runs and each work queue's health.
pub(crate) async fn dashboard(
    State(store): State<AnyStore>,
    Query(query): Query<DashboardQuery>,
) -> Result<Response, ApiError> {
    let chosen = query.window.as_deref().unwrap_or("24h");
    let Some(&(_, window, hours)) = WINDOWS.iter().find(|(value, ..)| *value == chosen) else {
        return Err(ApiError::bad("window", format!("`{chosen}` is not one of 1h, 24h, 7d, 30d")));
    };
    let since = Utc::now() - TimeDelta::hours(hours);
    let filter = FlowRunFilter::new().since(since).limit(COUNTED);
    let recent = on_store(&store, move |s| Box::pin(async move { s.list_flow_runs(&filter).await })).await?;
    let counts = StateType::ALL
        .into_iter()
        .map(|state| Count {
            state: state.as_str(),
            name: state.default_name(),
            class: state_class(state),
            count: recent.iter().filter(|r| r.state.as_ref().is_some_and(|s| s.state_type == state)).count(),
        })
        .filter(|c| c.count > 0)
        .collect();
    let failed =
        FlowRunFilter::new().state(StateType::Failed).state(StateType::Crashed).since(since).limit(20);
    let failures =
        on_store(&store, move |s| Box::pin(async move { s.list_flow_runs(&failed).await })).await?;
    // Late runs are due and unclaimed: read by the queue's index of due
    // runs, oldest due first (a state filter on the runs list scans).
    let now = Utc::now();
    let due = kept(on_store(&store, move |s| s.queued_runs(None, Some(now), DUE_READ)).await)?;
    let late: Vec<&prefect_store::QueuedRun> =
        due.iter().filter(|r| r.state.name == prefect_model::state::names::LATE).collect();
    let queues = kept(on_store(&store, |s| s.list_work_queues()).await)?;
    let workers = kept(on_store(&store, |s| s.list_workers()).await)?;
    let queues = queues
        .iter()
        .map(|queue| {
            let late = late.iter().filter(|r| r.work_queue == queue.name).count();
            let workers = workers
                .iter()
                .filter(|w| w.alive && w.beat.status == "online")
                .filter(|w| w.beat.queues.is_empty() || w.beat.queues.contains(&queue.name))
                .count();
            let (health, class) = match (queue.paused, workers, late) {
                (true, ..) => ("paused", "paused"),
                (false, 0, _) => ("no worker", "crashed"),
                (false, _, 1..) => ("late runs", "late"),
                (false, _, 0) => ("healthy", "completed"),
            };
            QueueHealth { name: queue.name.clone(), health, class, late, workers }
        })
        .collect();
    page(Dashboard {
        window,
        windows: WINDOWS
            .iter()
            .map(|(value, label, _)| FilterLink {
                label,
                href: format!("/?window={value}"),
                on: *value == chosen,
            })
            .collect(),
        total: recent.len(),
        capped: recent.len() == COUNTED,
        counts,
        runs: failures.iter().map(RunRow::of).collect(),
        late: late.iter().take(20).map(|r| LateRow::of(r)).collect(),
        queues,
    })
}

/// A filter link above the runs list.
struct FilterLink {
    label: &'static str,
    href: String,
    on: bool,
}

#[derive(Template)]
#[template(path = "runs.html")]
struct Runs {
    filters: Vec<FilterLink>,
    flow: Option<String>,
    /// The state chosen (kept by the search form).
    state: Option<&'static str>,
    /// The name searched for.
    name: Option<String>,
    /// The next page's link, when this page is full.
    older: Option<String>,
    /// This is a later page: a link back to the first.
    paged: bool,
    runs: Vec<RunRow>,
    /// The runs with a start, for the scatter: `[start ms, duration ms or
    /// null, state class]` as JSON (escaped by the template).
    points: String,
}

/// The query of `GET /runs`.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct RunsQuery {
    state: Option<String>,
    /// A flow's name: its runs only.
    flow: Option<String>,
    /// Text in the run's name.
    name: Option<String>,
    /// The page after this cursor.
    after: Option<String>,
}

/// `GET /runs?state=failed&flow=etl`: the newest runs.
pub(crate) async fn runs(
    State(store): State<AnyStore>,
    Query(query): Query<RunsQuery>,
) -> Result<Response, ApiError> {
    let chosen: Option<StateType> = match query.state.as_deref() {
        None | Some("") => None,
        Some(text) => {
            Some(text.parse().map_err(|e: prefect_model::Error| ApiError::bad("state", e.to_string()))?)
        }
    };
    let flow = query.flow.filter(|f| !f.is_empty());
    let name = query.name.filter(|n| !n.is_empty());
    let mut filter = FlowRunFilter::new().limit(PAGE);
    if let Some(state) = chosen {
        filter = filter.state(state);
    }
    if let Some(flow) = &flow {
        filter = filter.flow(flow.clone());
    }
    if let Some(name) = &name {
        filter = filter.name_contains(name.clone());
    }
    let paged = query.after.as_deref().is_some_and(|a| !a.is_empty());
    if let Some(after) = query.after.as_deref().filter(|a| !a.is_empty()) {
        let cursor: prefect_store::FlowRunCursor =
            after.parse().map_err(|e: prefect_store::Error| ApiError::bad("after", e.to_string()))?;
        filter = filter.after(cursor);
    }
    let listed = on_store(&store, move |s| Box::pin(async move { s.list_flow_runs(&filter).await })).await?;
    // The state links keep the flow and the search.
    let kept: Vec<String> = [
        flow.as_deref().map(|f| format!("flow={}", query_text(f))),
        name.as_deref().map(|n| format!("name={}", query_text(n))),
    ]
    .into_iter()
    .flatten()
    .collect();
    let link = |state: Option<&str>| {
        let parts: Vec<String> =
            state.map(|s| format!("state={s}")).into_iter().chain(kept.clone()).collect();
        if parts.is_empty() { "/runs".to_owned() } else { format!("/runs?{}", parts.join("&")) }
    };
    let older = listed.last().filter(|_| listed.len() == PAGE).map(|last| {
        let cursor = prefect_store::FlowRunCursor::after(last).to_string();
        let here = link(chosen.map(StateType::as_str));
        let join = if here.contains('?') { '&' } else { '?' };
        format!("{here}{join}after={}", query_text(&cursor))
    });
    let points: Vec<serde_json::Value> = listed
        .iter()
        .filter_map(|run| {
            let start = run.start_time?;
            let length = run.end_time.map(|end| end.signed_duration_since(start).num_milliseconds().max(0));
            let class = run.state.as_ref().map_or("none", |s| state_class(s.state_type));
            Some(serde_json::json!([start.timestamp_millis(), length, class, run.name]))
        })
        .collect();
    let mut filters = vec![FilterLink { label: "All", href: link(None), on: chosen.is_none() }];
    for state in [
        StateType::Running,
        StateType::Completed,
        StateType::Failed,
        StateType::Crashed,
        StateType::Scheduled,
    ] {
        filters.push(FilterLink {
            label: state.default_name(),
            href: link(Some(state.as_str())),
            on: chosen == Some(state),
        });
    }
    page(Runs {
        filters,
        flow,
        state: chosen.map(StateType::as_str),
        name,
        older,
        paged,
        runs: listed.iter().map(RunRow::of).collect(),
        points: serde_json::Value::Array(points).to_string(),
    })
}

/// `text` percent-encoded for a query string (the template escapes the
/// link as HTML on top).
pub(crate) fn query_text(text: &str) -> String {
    percent_encoding::utf8_percent_encode(text, percent_encoding::NON_ALPHANUMERIC).to_string()
}

/// A state of a run's history, as a table row.
pub(crate) struct StateRow {
    pub(crate) name: String,
    pub(crate) class: &'static str,
    pub(crate) time: String,
    pub(crate) message: String,
}

impl StateRow {
    pub(crate) fn of(state: &StateMeta) -> StateRow {
        StateRow {
            name: state.name.to_string(),
            class: state_class(state.state_type),
            time: iso(state.timestamp),
            message: state.message.clone().unwrap_or_default(),
        }
    }
}

struct TaskRow {
    id: String,
    name: String,
    task: String,
    state: String,
    class: &'static str,
    start: Option<String>,
    duration: String,
    /// For a subflow's placeholder: the subflow's run.
    subflow: Option<String>,
}

/// Where a run's value is kept, as a row of the run page's Results tab and
/// of the task run page.
pub(crate) struct ResultRow {
    /// The run's page.
    pub(crate) href: String,
    /// The run's name when the page knows it, else its id.
    pub(crate) run: String,
    pub(crate) location: String,
    pub(crate) cache_key: String,
    /// "written" or "cache hit".
    pub(crate) source: &'static str,
    pub(crate) time: String,
}

impl ResultRow {
    /// `name` names the run when the page has its row.
    pub(crate) fn of(result: &prefect_model::ResultReference, name: Option<&str>) -> ResultRow {
        let href = match result.run {
            prefect_model::RunId::Task(id) => format!("/task-runs/{}", id.0),
            prefect_model::RunId::Flow(id) => format!("/runs/{}", id.0),
        };
        ResultRow {
            href,
            run: name.map_or_else(|| result.run.uuid().to_string(), str::to_owned),
            location: result.location.clone(),
            cache_key: result.cache_key.clone().unwrap_or_default(),
            source: if result.from_cache { "cache hit" } else { "written" },
            time: iso(result.timestamp),
        }
    }
}

/// A log line, as a table row.
pub(crate) struct LogRow {
    pub(crate) time: String,
    pub(crate) level: String,
    pub(crate) message: String,
}

impl LogRow {
    pub(crate) fn of(line: &prefect_store::LogEntry) -> LogRow {
        LogRow {
            time: iso(line.record.timestamp),
            level: line.record.level.to_string(),
            message: line.record.message.clone(),
        }
    }
}

struct TaskCount {
    name: &'static str,
    count: u64,
}

#[derive(Template)]
#[template(path = "run.html")]
struct RunPage {
    id: String,
    name: String,
    flow: String,
    state: String,
    class: &'static str,
    message: Option<String>,
    start: Option<String>,
    duration: String,
    run_count: u32,
    parameters: String,
    states: Vec<StateRow>,
    task_run_count: u64,
    task_counts: Vec<TaskCount>,
    task_runs: Vec<TaskRow>,
    /// How many of the task runs shown stand for subflows.
    subflow_count: usize,
    results: Vec<ResultRow>,
    logs: Vec<LogRow>,
    /// The run has not ended: the page follows its stream.
    live: bool,
    can_cancel: bool,
    can_retry: bool,
    can_resume: bool,
    can_delete: bool,
    /// The cursor of the last line shown (the stream's older lines are skipped).
    last_cursor: i64,
}

/// `GET /runs/{id}`: one run, its states, task runs and first log lines;
/// live while it runs.
pub(crate) async fn run(State(store): State<AnyStore>, Path(id): Path<String>) -> Result<Response, ApiError> {
    let id = FlowRunId(parse_id(&id)?);
    let detail = on_store(&store, move |s| s.inspect_flow_run(id, PAGE)).await?;
    let filter = LogFilter::of(id).limit(500);
    let lines = on_store(&store, move |s| Box::pin(async move { s.logs(&filter).await })).await?;
    let run = &detail.run;
    let (state, class) = state_label(run.state.as_ref());
    page(RunPage {
        id: run.id.0.to_string(),
        name: run.name.clone(),
        flow: run.flow_name.clone(),
        state,
        class,
        message: run.state.as_ref().and_then(|s| s.message.clone()),
        start: run.start_time.map(iso),
        duration: duration(run.start_time, run.end_time),
        run_count: run.run_count,
        parameters: serde_json::to_string_pretty(&detail.parameters).unwrap_or_default(),
        states: detail.states.iter().map(StateRow::of).collect(),
        task_run_count: detail.task_run_count,
        task_counts: detail
            .task_run_states
            .iter()
            .map(|(state, count)| TaskCount { name: state.default_name(), count: *count })
            .collect(),
        task_runs: detail
            .task_runs
            .iter()
            .map(|t| {
                let (state, class) = state_label(t.state.as_ref());
                TaskRow {
                    id: t.id.0.to_string(),
                    name: t.name.clone(),
                    task: t.task_name.clone(),
                    state,
                    class,
                    start: t.start_time.map(iso),
                    duration: duration(t.start_time, t.end_time),
                    subflow: t.subflow_run_id.map(|f| f.0.to_string()),
                }
            })
            .collect(),
        subflow_count: detail.task_runs.iter().filter(|t| t.subflow_run_id.is_some()).count(),
        results: detail
            .results
            .iter()
            .map(|r| {
                let name = match r.run {
                    prefect_model::RunId::Flow(f) if f == run.id => Some(run.name.as_str()),
                    prefect_model::RunId::Flow(_) => None,
                    prefect_model::RunId::Task(t) => {
                        detail.task_runs.iter().find(|row| row.id == t).map(|row| row.name.as_str())
                    }
                };
                ResultRow::of(r, name)
            })
            .collect(),
        live: !run.state.as_ref().is_some_and(StateMeta::is_final),
        can_cancel: run.state.as_ref().is_some_and(|s| {
            matches!(
                s.state_type,
                StateType::Scheduled | StateType::Pending | StateType::Running | StateType::Paused
            )
        }),
        can_retry: run.deployment_id.is_some()
            && run.state.as_ref().is_some_and(|s| {
                matches!(s.state_type, StateType::Failed | StateType::Crashed | StateType::Cancelled)
            }),
        can_resume: run.state.as_ref().is_some_and(|s| s.state_type == StateType::Paused),
        can_delete: !run.state.as_ref().is_some_and(|s| {
            matches!(
                s.state_type,
                StateType::Pending | StateType::Running | StateType::Paused | StateType::Cancelling
            )
        }),
        last_cursor: lines.last().map_or(0, |l| l.cursor.0),
        logs: lines.iter().map(LogRow::of).collect(),
    })
}

/// A parameter field of a deployment's run form.
struct ParameterField {
    name: String,
    /// Its default, as typed: a string as is, anything else as JSON.
    value: String,
}

struct DeploymentCard {
    full_name: String,
    flow: String,
    name: String,
    queue: String,
    description: Option<String>,
    paused: bool,
    parameters: Vec<ParameterField>,
    /// Each schedule as stored (compact JSON), and whether it is active.
    schedules: Vec<(String, bool)>,
    /// Its next scheduled runs: id, name, due time.
    next_runs: Vec<(String, String, String)>,
}

/// Scheduled runs shown per deployment.
const NEXT_RUNS: usize = 5;

#[derive(Template)]
#[template(path = "deployments.html")]
struct Deployments {
    deployments: Vec<DeploymentCard>,
}

/// `GET /deployments`: each deployment with its schedules, its next runs
/// and a form that starts a run; the form's fields are the flow's
/// parameters (from their JSON Schema), filled with the deployment's values.
pub(crate) async fn deployments(State(store): State<AnyStore>) -> Result<Response, ApiError> {
    let listed = on_store(&store, |s| s.list_deployments()).await?;
    let mut upcoming = Vec::with_capacity(listed.len());
    for d in &listed {
        let id = d.id;
        upcoming.push(on_store(&store, move |s| s.queued_runs(Some(id), None, NEXT_RUNS)).await?);
    }
    let cards = listed
        .into_iter()
        .zip(upcoming)
        .map(|(d, upcoming)| {
            let defaults = d.spec.parameters.as_object().cloned().unwrap_or_default();
            let mut names: Vec<String> = d
                .spec
                .parameter_schema
                .as_ref()
                .and_then(|schema| schema.get("properties"))
                .and_then(serde_json::Value::as_object)
                .map(|properties| properties.keys().cloned().collect())
                .unwrap_or_else(|| defaults.keys().cloned().collect());
            names.sort();
            let parameters = names
                .into_iter()
                .map(|name| {
                    let value = match defaults.get(&name) {
                        Some(serde_json::Value::String(text)) => text.clone(),
                        Some(other) => other.to_string(),
                        None => String::new(),
                    };
                    ParameterField { name, value }
                })
                .collect();
            DeploymentCard {
                full_name: d.full_name(),
                flow: d.spec.flow_name,
                name: d.spec.name,
                queue: d.spec.work_queue,
                description: d.spec.description,
                paused: d.spec.paused,
                parameters,
                schedules: d
                    .spec
                    .schedules
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|entry| {
                        let active = entry.get("active").and_then(serde_json::Value::as_bool).unwrap_or(true);
                        let shown = entry.get("schedule").unwrap_or(entry);
                        (shown.to_string(), active)
                    })
                    .collect(),
                next_runs: upcoming
                    .into_iter()
                    .map(|run| (run.id.0.to_string(), run.name, iso(run.scheduled)))
                    .collect(),
            }
        })
        .collect();
    page(Deployments { deployments: cards })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_as_people_write_them() {
        let at = |ms: i64| Some(DateTime::from_timestamp_millis(ms).unwrap());
        assert_eq!(duration(at(0), at(250)), "250 ms");
        assert_eq!(duration(at(0), at(1_234)), "1.2 s");
        assert_eq!(duration(at(0), at(184_000)), "3 m 4 s");
        assert_eq!(duration(at(0), at(7_500_000)), "2 h 5 m");
        assert_eq!(duration(at(0), None), "running");
        assert_eq!(duration(None, None), "");
    }
}
