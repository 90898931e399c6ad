//! `prefect deployment ls | inspect | run | pause | resume | delete` and
//! `prefect deployment schedule ls | pause | resume`.
//!
//! Deployments are registered by the programs that serve them
//! (`prefect::serve`); the CLI reads them, starts runs of them (a worker of
//! the program takes the run), and pauses their schedules.

use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use chrono::{DateTime, Local, NaiveDateTime, TimeDelta, TimeZone, Utc};
use prefect_model::{FlowRunId, StateType};
use prefect_store::{AnyStore, Deployment, QueuedRun};
use serde_json::{Map, Value, json};

use crate::Ctx;
use crate::commands::listing_store;
use crate::db::{open_existing_for_writing, open_required, wait};
use crate::output::{Cell, Table, short_id, state_json, time};

/// How many upcoming runs `inspect` and `schedule ls` show.
const UPCOMING: usize = 5;

/// Lists deployments, by flow and name.
pub(crate) fn ls(ctx: &mut Ctx) -> Result<()> {
    let Some(store) = listing_store(ctx)? else { return Ok(()) };
    let deployments = wait(store.list_deployments())?;
    if ctx.out.json {
        return Ok(ctx.out.json(&deployments.iter().map(to_json).collect())?);
    }
    let mut table = Table::new(&["NAME", "QUEUE", "SCHEDULES", "STATUS", "NEXT RUN"]);
    for deployment in &deployments {
        let next = wait(store.queued_runs(Some(deployment.id), None, 1))?;
        table.push(vec![
            Cell::plain(deployment.full_name()),
            Cell::plain(&deployment.spec.work_queue),
            Cell::plain(schedule_count(deployment).to_string()),
            Cell::plain(if deployment.spec.paused { "paused" } else { "active" }),
            Cell::plain(next.first().map_or_else(|| "-".to_owned(), |run| time(run.scheduled))),
        ]);
    }
    Ok(ctx.out.table(&table)?)
}

fn schedule_count(deployment: &Deployment) -> usize {
    deployment.spec.schedules.as_array().map_or(0, Vec::len)
}

fn find(store: &AnyStore, name: &str) -> Result<Deployment> {
    wait(store.deployment(name))?.ok_or_else(|| {
        let known: Vec<String> = wait(store.list_deployments())
            .map(|all| all.iter().map(Deployment::full_name).collect())
            .unwrap_or_default();
        let hint = if known.is_empty() {
            "none is registered".to_owned()
        } else {
            format!("known: {}", known.join(", "))
        };
        anyhow!("no deployment `{name}` (deployments are named `flow/name`; {hint})")
    })
}

/// Shows one deployment: what was registered, and its next runs.
pub(crate) fn inspect(ctx: &mut Ctx, name: &str) -> Result<()> {
    let store = open_required(&ctx.db)?;
    let deployment = find(&store, name)?;
    let upcoming = wait(store.queued_runs(Some(deployment.id), None, UPCOMING))?;
    if ctx.out.json {
        let mut value = to_json(&deployment);
        value["upcoming_runs"] = upcoming.iter().map(queued_json).collect();
        return Ok(ctx.out.json(&value)?);
    }
    let spec = &deployment.spec;
    let fields = [
        ("Deployment", deployment.full_name()),
        ("Id", deployment.id.to_string()),
        ("Description", spec.description.clone().unwrap_or_else(|| "-".into())),
        ("Version", spec.version.clone().unwrap_or_else(|| "-".into())),
        ("Work queue", spec.work_queue.clone()),
        ("Tags", if spec.tags.is_empty() { "-".into() } else { spec.tags.join(", ") }),
        ("Labels", if spec.labels.is_empty() { "-".into() } else { spec.labels.join(", ") }),
        ("Status", if spec.paused { "paused".into() } else { "active".into() }),
        ("Catch-up", spec.catchup.clone()),
        ("Parameters", spec.parameters.to_string()),
        ("Updated", time(deployment.updated)),
    ];
    for (label, value) in fields {
        ctx.out.line(format_args!("{label:<12} {value}"))?;
    }
    ctx.out.line("Schedules")?;
    match spec.schedules.as_array() {
        Some(items) if !items.is_empty() => {
            for item in items {
                ctx.out.line(format_args!("  {item}"))?;
            }
        }
        _ => ctx.out.line("  none (runs start when asked: `prefect deployment run`)")?,
    }
    print_upcoming(ctx, &upcoming)
}

fn print_upcoming(ctx: &mut Ctx, upcoming: &[QueuedRun]) -> Result<()> {
    ctx.out.line("Next runs")?;
    if upcoming.is_empty() {
        return Ok(ctx.out.line("  none scheduled")?);
    }
    let mut table = Table::new(&["ID", "NAME", "DUE", "STATE", "QUEUE"]);
    for run in upcoming {
        table.push(vec![
            Cell::plain(short_id(run.id)),
            Cell::plain(&run.name),
            Cell::plain(time(run.scheduled)),
            ctx.out.state_cell(Some(&run.state)),
            Cell::plain(&run.work_queue),
        ]);
    }
    Ok(ctx.out.table(&table)?)
}

/// Lists a deployment's schedules and next runs.
pub(crate) fn schedule_ls(ctx: &mut Ctx, name: &str) -> Result<()> {
    let store = open_required(&ctx.db)?;
    let deployment = find(&store, name)?;
    let upcoming = wait(store.queued_runs(Some(deployment.id), None, UPCOMING))?;
    if ctx.out.json {
        let value = json!({
            "deployment": deployment.full_name(),
            "paused": deployment.spec.paused,
            "schedules": deployment.spec.schedules,
            "upcoming_runs": upcoming.iter().map(queued_json).collect::<Vec<_>>(),
        });
        return Ok(ctx.out.json(&value)?);
    }
    let status = if deployment.spec.paused { "paused" } else { "active" };
    ctx.out.line(format_args!("{} ({status})", deployment.full_name()))?;
    for item in deployment.spec.schedules.as_array().into_iter().flatten() {
        ctx.out.line(format_args!("  {item}"))?;
    }
    print_upcoming(ctx, &upcoming)
}

/// Pauses or resumes a deployment's schedules.
pub(crate) fn set_paused(ctx: &mut Ctx, name: &str, paused: bool) -> Result<()> {
    let Some(store) = open_existing_for_writing(&ctx.db)? else {
        bail!("no deployment `{name}`: no run database yet")
    };
    if !wait(store.set_deployment_paused(name, paused))? {
        find(&store, name)?;
    }
    let done = if paused {
        "paused: its scheduled runs are removed"
    } else {
        "resumed: its server schedules runs again"
    };
    if ctx.out.json {
        return Ok(ctx.out.json(&json!({ "deployment": name, "paused": paused }))?);
    }
    Ok(ctx.out.line(format_args!("deployment {name} {done}"))?)
}

/// Deletes a deployment and its runs still queued.
pub(crate) fn delete(ctx: &mut Ctx, name: &str) -> Result<()> {
    let Some(store) = open_existing_for_writing(&ctx.db)? else {
        bail!("no deployment `{name}`: no run database yet")
    };
    if !wait(store.delete_deployment(name))? {
        find(&store, name)?;
    }
    if ctx.out.json {
        return Ok(ctx.out.json(&json!({ "deployment": name, "deleted": true }))?);
    }
    Ok(ctx.out.line(format_args!("deployment {name} deleted (its past runs stay in the history)"))?)
}

/// When a run asked for by hand starts.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) enum Start {
    /// Now.
    #[default]
    Now,
    /// After this long.
    In(Duration),
    /// At this time.
    At(DateTime<Utc>),
}

/// What `deployment run` was given.
#[derive(Debug, Default)]
pub(crate) struct RunRequest {
    /// `-p key=value`, in order.
    pub(crate) params: Vec<(String, Value)>,
    /// `--param-json`.
    pub(crate) param_json: Option<Value>,
    /// When it starts.
    pub(crate) start: Start,
    /// Wait for it to end, printing its states.
    pub(crate) watch: bool,
}

/// `-p key=value`: the value is JSON when it reads as JSON, else a string
/// (`-p months=[1,2]` is a list, `-p name=ada` the string "ada").
pub(crate) fn parse_param(text: &str) -> Result<(String, Value), String> {
    let (key, value) = text.split_once('=').ok_or_else(|| format!("`{text}`: expected key=value"))?;
    if key.is_empty() {
        return Err(format!("`{text}`: the parameter name is empty"));
    }
    let value = serde_json::from_str(value).unwrap_or_else(|_| Value::String(value.to_owned()));
    Ok((key.to_owned(), value))
}

/// `--start-at`: RFC 3339, or `YYYY-MM-DD HH:MM[:SS]` in local time.
pub(crate) fn parse_start_at(text: &str) -> Result<DateTime<Utc>, String> {
    if let Ok(at) = DateTime::parse_from_rfc3339(text) {
        return Ok(at.with_timezone(&Utc));
    }
    for format in ["%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M"] {
        if let Ok(naive) = NaiveDateTime::parse_from_str(text, format) {
            return Local
                .from_local_datetime(&naive)
                .earliest()
                .map(|t| t.with_timezone(&Utc))
                .ok_or_else(|| format!("`{text}` does not exist in the local time zone"));
        }
    }
    Err(format!("`{text}`: expected RFC 3339 (2026-12-02T06:00:00Z) or `YYYY-MM-DD HH:MM` in local time"))
}

/// Creates a run of a deployment with its parameters and the ones given
/// (checked by name against the flow's parameters; their values are
/// checked by the worker before the flow starts), optionally waiting for it.
pub(crate) fn run(ctx: &mut Ctx, name: &str, request: RunRequest) -> Result<()> {
    let store = open_required(&ctx.db)?;
    // An unknown name gets the list of known ones.
    let deployment = find(&store, name)?;
    let mut overrides = Map::new();
    if let Some(json) = &request.param_json {
        let Value::Object(given) = json else { bail!("--param-json must be a JSON object, got {json}") };
        overrides.extend(given.clone());
    }
    overrides.extend(request.params.iter().cloned());
    let now = Utc::now();
    let scheduled = match request.start {
        Start::Now => now,
        Start::In(after) => now + TimeDelta::from_std(after).context("--start-in is too long")?,
        Start::At(at) => at,
    };
    let run =
        wait(prefect_store::control::create_deployment_run(&*store, &deployment, overrides, scheduled))?;
    if ctx.out.json && !request.watch {
        return Ok(ctx.out.json(&json!({ "id": run.id.to_string(), "name": run.name, "deployment": name, "scheduled": scheduled }))?);
    }
    if !ctx.out.json {
        ctx.out.line(format_args!(
            "created flow run {} ({}) of {name}, due {}",
            run.name,
            short_id(run.id),
            time(scheduled)
        ))?;
    }
    if request.watch { watch(ctx, &store, run.id) } else { Ok(()) }
}

/// Prints the run's states as it moves, until it ends; fails unless it
/// completed.
fn watch(ctx: &mut Ctx, store: &AnyStore, id: FlowRunId) -> Result<()> {
    let mut seen = 0;
    loop {
        let detail = wait(store.inspect_flow_run(id, 0))?;
        for state in &detail.states[seen..] {
            if ctx.out.json {
                ctx.out.json_line(&state_json(Some(state)))?;
            } else {
                let message = state.message.as_deref().map(|m| format!(": {m}")).unwrap_or_default();
                ctx.out.line(format_args!("{}  {}{message}", time(state.timestamp), state.name))?;
            }
            ctx.out.flush()?;
        }
        seen = detail.states.len();
        if let Some(state) = detail.run.state.as_ref().filter(|s| s.is_final()) {
            if state.state_type == StateType::Completed {
                return Ok(());
            }
            bail!("flow run {} ended {}", detail.run.name, state.name);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn to_json(deployment: &Deployment) -> Value {
    let spec = &deployment.spec;
    json!({
        "id": deployment.id.to_string(),
        "name": deployment.full_name(),
        "flow": spec.flow_name,
        "description": spec.description,
        "version": spec.version,
        "tags": spec.tags,
        "work_queue": spec.work_queue,
        "labels": spec.labels,
        "parameters": spec.parameters,
        "parameter_schema": spec.parameter_schema,
        "schedules": spec.schedules,
        "catchup": spec.catchup,
        "paused": spec.paused,
        "created": deployment.created,
        "updated": deployment.updated,
    })
}

fn queued_json(run: &QueuedRun) -> Value {
    json!({
        "id": run.id.to_string(),
        "name": run.name,
        "scheduled": run.scheduled,
        "state": state_json(Some(&run.state)),
        "work_queue": run.work_queue,
        "parameters": run.parameters,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_read_as_json_else_as_text() {
        assert_eq!(parse_param("months=[1,2]").unwrap(), ("months".into(), json!([1, 2])));
        assert_eq!(parse_param("name=ada").unwrap(), ("name".into(), json!("ada")));
        assert_eq!(parse_param("n=3").unwrap(), ("n".into(), json!(3)));
        assert_eq!(parse_param("s=\"3\"").unwrap(), ("s".into(), json!("3")));
        assert_eq!(parse_param("eq=a=b").unwrap(), ("eq".into(), json!("a=b")));
        assert!(parse_param("novalue").is_err());
        assert!(parse_param("=1").is_err());
    }

    #[test]
    fn start_times_read_as_rfc3339_or_local() {
        let at = parse_start_at("2026-12-02T06:00:00Z").unwrap();
        assert_eq!(at.to_rfc3339(), "2026-12-02T06:00:00+00:00");
        assert!(parse_start_at("2026-12-02 06:00").is_ok());
        assert!(parse_start_at("tomorrow").unwrap_err().contains("RFC 3339"));
    }
}
