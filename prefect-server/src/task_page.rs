//! `GET /task-runs/{id}`: one task run's page: its state, flow run,
//! timing, tags, state history, the runs it waited for, where its value
//! is kept, and its log lines.

use askama::Template;
use axum::extract::{Path, State};
use axum::response::Response;
use prefect_model::{DependencyKind, RunId, TaskRunId};
use prefect_store::{AnyStore, LogFilter};

use crate::api::{on_store, parse_id};
use crate::error::ApiError;
use crate::ui::{LogRow, ResultRow, StateRow, duration, iso, page, state_label};

/// Log lines the page shows.
const LINES: usize = 500;

struct UpstreamRow {
    /// Its page.
    href: String,
    /// Its id, or the flow run's.
    label: String,
    /// How the task run used it.
    kind: String,
}

#[derive(Template)]
#[template(path = "task_run.html")]
struct TaskRunPage {
    id: String,
    name: String,
    task: String,
    state: String,
    class: &'static str,
    message: Option<String>,
    flow_run: Option<String>,
    subflow: Option<String>,
    map_index: Option<u32>,
    tags: String,
    start: Option<String>,
    duration: String,
    run_count: u32,
    states: Vec<StateRow>,
    upstream: Vec<UpstreamRow>,
    result: Option<ResultRow>,
    logs: Vec<LogRow>,
}

fn kind_label(kind: &DependencyKind) -> String {
    match kind {
        DependencyKind::Data { argument } => format!("data: {argument}"),
        DependencyKind::WaitFor => "waits for".into(),
        DependencyKind::AllowFailure => "allows its failure".into(),
    }
}

/// The handler.
pub(crate) async fn task_run(
    State(store): State<AnyStore>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = TaskRunId(parse_id(&id)?);
    let detail = on_store(&store, move |s| s.inspect_task_run(id)).await?;
    let filter = LogFilter::of(id).limit(LINES);
    let lines = on_store(&store, move |s| Box::pin(async move { s.logs(&filter).await })).await?;
    let run = &detail.run;
    let (state, class) = state_label(run.state.as_ref());
    page(TaskRunPage {
        id: run.id.0.to_string(),
        name: run.name.clone(),
        task: run.task_name.clone(),
        state,
        class,
        message: run.state.as_ref().and_then(|s| s.message.clone()),
        flow_run: run.flow_run_id.map(|f| f.0.to_string()),
        subflow: run.subflow_run_id.map(|f| f.0.to_string()),
        map_index: run.map_index,
        tags: run.tags.join(", "),
        start: run.start_time.map(iso),
        duration: duration(run.start_time, run.end_time),
        run_count: run.run_count,
        states: detail.states.iter().map(StateRow::of).collect(),
        upstream: detail
            .upstream
            .iter()
            .map(|edge| {
                let (href, label) = match edge.upstream {
                    RunId::Task(up) => (format!("/task-runs/{}", up.0), format!("task run {}", up.0)),
                    RunId::Flow(up) => (format!("/runs/{}", up.0), format!("flow run {}", up.0)),
                };
                UpstreamRow { href, label, kind: kind_label(&edge.kind) }
            })
            .collect(),
        result: detail.result.as_ref().map(|r| ResultRow::of(r, Some(&run.name))),
        logs: lines.iter().map(LogRow::of).collect(),
    })
}
