//! Reading runs back: flows, flow runs (filtered, paged), one run with its
//! history, task runs, dependency edges, results, logs, and references.

use chrono::{DateTime, Utc};
use deadpool_postgres::Object;
use prefect_model::{DependencyEdge, FlowRunId, LogRecord, ResultReference, RunId, StateMeta, TaskRunId};
use prefect_store::codes::{
    dependency_kind, level_code, like_contains, log_level, run_tables as tables, state_code, state_name,
    state_type,
};
use prefect_store::{
    Error, FlowRunDetail, FlowRunFilter, FlowRunSummary, FlowSummary, IdPrefix, LogCursor, LogEntry,
    LogFilter, RunMatch, RunScope, ShortId, TaskRunDetail, TaskRunFilter, TaskRunScope, TaskRunSummary,
};
use tokio_postgres::Row;
use tokio_postgres::types::ToSql;
use uuid::Uuid;

use crate::pool::{DbError, DbResult};
use crate::write::micros;

/// A stored time back, or an error naming the column.
pub(crate) fn time(value: i64, column: &str) -> DbResult<DateTime<Utc>> {
    DateTime::from_timestamp_micros(value).ok_or_else(|| corrupt(format!("{column} {value} is out of range")))
}

pub(crate) fn opt_time(value: Option<i64>, column: &str) -> DbResult<Option<DateTime<Utc>>> {
    value.map(|v| time(v, column)).transpose()
}

pub(crate) fn corrupt(reason: String) -> DbError {
    DbError::Store(Error::InvalidArgument { what: "stored value", reason })
}

pub(crate) fn count(value: i64) -> u32 {
    u32::try_from(value.max(0)).unwrap_or(u32::MAX)
}

pub(crate) fn tags(text: Option<String>) -> DbResult<Vec<String>> {
    match text {
        None => Ok(Vec::new()),
        Some(text) => serde_json::from_str(&text).map_err(|e| corrupt(format!("tags: {e}"))),
    }
}

/// Five columns from `first` (type, name, message, time, scheduled) as a
/// state; `None` when the type is NULL (no state yet).
pub(crate) fn state_at(row: &Row, first: usize) -> DbResult<Option<StateMeta>> {
    let Some(code) = row.get::<_, Option<i64>>(first) else { return Ok(None) };
    let state_type = state_type(code).ok_or_else(|| corrupt(format!("unknown state type {code}")))?;
    Ok(Some(StateMeta {
        state_type,
        name: state_name(state_type, row.get(first + 1)),
        message: row.get(first + 2),
        timestamp: time(row.get(first + 3), "state time")?,
        scheduled_time: opt_time(row.get(first + 4), "scheduled time")?,
    }))
}

const FLOW_RUN_SELECT: &str = "SELECT r.id, f.name, r.name, r.flow_version, r.tags,
        r.parent_flow_run_id, r.parent_task_run_id, r.created, r.start_time, r.end_time,
        r.run_count, r.state_type, r.state_name, r.state_message, r.state_time, r.state_scheduled,
        r.deployment_id, r.work_queue, r.expected_start
    FROM flow_runs r JOIN flows f ON f.id = r.flow_id";

fn flow_run_row(row: &Row) -> DbResult<FlowRunSummary> {
    Ok(FlowRunSummary {
        id: FlowRunId(row.get(0)),
        flow_name: row.get(1),
        name: row.get(2),
        flow_version: row.get(3),
        tags: tags(row.get(4))?,
        parent_flow_run_id: row.get::<_, Option<Uuid>>(5).map(FlowRunId),
        parent_task_run_id: row.get::<_, Option<Uuid>>(6).map(TaskRunId),
        created: time(row.get(7), "created")?,
        start_time: opt_time(row.get(8), "start time")?,
        end_time: opt_time(row.get(9), "end time")?,
        run_count: count(row.get(10)),
        state: state_at(row, 11)?,
        deployment_id: row.get::<_, Option<Uuid>>(16).map(prefect_store::DeploymentId),
        work_queue: row.get(17),
        expected_start: opt_time(row.get(18), "expected start")?,
    })
}

const TASK_RUN_SELECT: &str = "SELECT id, name, task_name, flow_run_id, parent_task_run_id,
        subflow_run_id, map_index, tags, created, start_time, end_time, run_count,
        state_type, state_name, state_message, state_time, state_scheduled
    FROM task_runs";

fn task_run_row(row: &Row) -> DbResult<TaskRunSummary> {
    Ok(TaskRunSummary {
        id: TaskRunId(row.get(0)),
        name: row.get(1),
        task_name: row.get(2),
        flow_run_id: row.get::<_, Option<Uuid>>(3).map(FlowRunId),
        parent_task_run_id: row.get::<_, Option<Uuid>>(4).map(TaskRunId),
        subflow_run_id: row.get::<_, Option<Uuid>>(5).map(FlowRunId),
        map_index: row.get::<_, Option<i64>>(6).map(count),
        tags: tags(row.get(7))?,
        created: time(row.get(8), "created")?,
        start_time: opt_time(row.get(9), "start time")?,
        end_time: opt_time(row.get(10), "end time")?,
        run_count: count(row.get(11)),
        state: state_at(row, 12)?,
    })
}

/// Query text with numbered parameters, and their values.
#[derive(Default)]
struct Sql {
    text: String,
    args: Vec<Box<dyn ToSql + Sync + Send>>,
}

impl Sql {
    fn new(text: &str) -> Sql {
        Sql { text: text.to_owned(), args: Vec::new() }
    }

    /// Appends `clause`, whose `$?` is the next parameter, bound to `value`.
    fn push(&mut self, clause: &str, value: impl ToSql + Sync + Send + 'static) {
        self.args.push(Box::new(value));
        self.text.push_str(&clause.replace("$?", &format!("${}", self.args.len())));
    }

    fn text(&mut self, clause: &str) {
        self.text.push_str(clause);
    }

    fn params(&self) -> Vec<&(dyn ToSql + Sync)> {
        self.args.iter().map(|a| &**a as &(dyn ToSql + Sync)).collect()
    }

    async fn query(&self, client: &Object) -> DbResult<Vec<Row>> {
        let statement = client.prepare_cached(&self.text).await?;
        Ok(client.query(&statement, &self.params()).await?)
    }
}

fn state_codes(states: &[prefect_model::StateType]) -> Vec<i64> {
    states.iter().map(|s| state_code(*s)).collect()
}

fn limit(limit: usize) -> i64 {
    i64::try_from(limit).unwrap_or(i64::MAX)
}

/// Every flow with the creation time of its latest run.
pub(crate) async fn list_flows(client: Object) -> DbResult<Vec<FlowSummary>> {
    let rows = client
        .query(
            "SELECT f.name, f.created, (SELECT max(created) FROM flow_runs WHERE flow_id = f.id)
             FROM flows f ORDER BY f.name",
            &[],
        )
        .await?;
    rows.iter()
        .map(|row| {
            Ok(FlowSummary {
                name: row.get(0),
                created: time(row.get(1), "created")?,
                last_run: opt_time(row.get(2), "created")?,
            })
        })
        .collect()
}

/// Flow runs matching `filter`, newest first.
pub(crate) async fn list_flow_runs(client: Object, filter: FlowRunFilter) -> DbResult<Vec<FlowRunSummary>> {
    let mut sql = Sql::new(&format!("{FLOW_RUN_SELECT} WHERE TRUE"));
    if let Some(name) = filter.flow_name {
        sql.push(" AND f.name = $?", name);
    }
    if let Some(since) = filter.since {
        sql.push(" AND r.created >= $?", micros(since));
    }
    if let Some(until) = filter.until {
        sql.push(" AND r.created < $?", micros(until));
    }
    if let Some(text) = filter.name_contains {
        sql.push(" AND r.name ILIKE $?", like_contains(&text));
    }
    if let Some(tag) = filter.tag {
        sql.push(" AND r.tags IS NOT NULL AND r.tags::jsonb ? $?", tag);
    }
    if let Some(deployment) = filter.deployment {
        sql.push(" AND r.deployment_id = $?", deployment.0);
    }
    if let Some(after) = filter.after {
        sql.push(" AND (r.created, r.id) < ($?", micros(after.created));
        sql.push(", $?)", after.id.0);
    }
    if !filter.states.is_empty() {
        sql.push(" AND r.state_type = ANY($?)", state_codes(&filter.states));
    }
    sql.push(" ORDER BY r.created DESC, r.id DESC LIMIT $?", limit(filter.limit));
    sql.query(&client).await?.iter().map(flow_run_row).collect()
}

/// The state history of a run in `table`, oldest first.
async fn states_of(client: &Object, table: &str, run: Uuid) -> DbResult<Vec<StateMeta>> {
    let statement = client.prepare_cached(&format!("SELECT history FROM {table} WHERE id = $1")).await?;
    let Some(row) = client.query_opt(&statement, &[&run]).await? else { return Ok(Vec::new()) };
    let Some(bytes) = row.get::<_, Option<Vec<u8>>>(0) else { return Ok(Vec::new()) };
    let states = prefect_store::history::decode(&bytes).map_err(|e| corrupt(e.to_string()))?;
    Ok(states.into_iter().map(|(state, _)| state).collect())
}

/// One flow run with parameters, history, its first task runs and counts.
pub(crate) async fn inspect_flow_run(
    client: Object,
    id: FlowRunId,
    task_run_limit: usize,
) -> DbResult<FlowRunDetail> {
    let statement = client.prepare_cached(&format!("{FLOW_RUN_SELECT} WHERE r.id = $1")).await?;
    let row = client
        .query_opt(&statement, &[&id.0])
        .await?
        .ok_or_else(|| Error::NotFound { what: "flow run", id: id.to_string() })?;
    let run = flow_run_row(&row)?;
    let parameters: String =
        client.query_one("SELECT parameters FROM flow_runs WHERE id = $1", &[&id.0]).await?.get(0);
    let parameters = serde_json::from_str(&parameters).map_err(|e| corrupt(format!("parameters: {e}")))?;
    let counts = client
        .query(
            "SELECT state_type, count(*) FROM task_runs WHERE flow_run_id = $1 AND state_type IS NOT NULL
             GROUP BY state_type ORDER BY state_type",
            &[&id.0],
        )
        .await?;
    let mut task_run_states = Vec::new();
    for row in counts {
        let code: i64 = row.get(0);
        let state = state_type(code).ok_or_else(|| corrupt(format!("unknown state type {code}")))?;
        task_run_states.push((state, u64::try_from(row.get::<_, i64>(1)).unwrap_or(0)));
    }
    let task_run_count: i64 =
        client.query_one("SELECT count(*) FROM task_runs WHERE flow_run_id = $1", &[&id.0]).await?.get(0);
    let task_runs = list_task_runs_on(&client, TaskRunFilter::of_flow_run(id).limit(task_run_limit)).await?;
    Ok(FlowRunDetail {
        run,
        parameters,
        states: states_of(&client, "flow_runs", id.0).await?,
        task_runs,
        task_run_count: u64::try_from(task_run_count).unwrap_or(0),
        task_run_states,
        results: results_of_flow_run(&client, id, task_run_limit.saturating_add(1)).await?,
    })
}

/// Task runs matching `filter`.
pub(crate) async fn list_task_runs(client: Object, filter: TaskRunFilter) -> DbResult<Vec<TaskRunSummary>> {
    list_task_runs_on(&client, filter).await
}

async fn list_task_runs_on(client: &Object, filter: TaskRunFilter) -> DbResult<Vec<TaskRunSummary>> {
    let mut sql = Sql::new(&format!("{TASK_RUN_SELECT} WHERE TRUE"));
    let any = filter.scope == TaskRunScope::Any;
    match filter.scope {
        TaskRunScope::FlowRun(id) => sql.push(" AND flow_run_id = $?", id.0),
        TaskRunScope::Standalone => sql.text(" AND flow_run_id IS NULL"),
        TaskRunScope::Any => {}
    }
    if !filter.states.is_empty() {
        sql.push(" AND state_type = ANY($?)", state_codes(&filter.states));
    }
    if let Some(name) = filter.flow_name {
        sql.push(
            " AND EXISTS (SELECT 1 FROM flow_runs r JOIN flows f ON f.id = r.flow_id
                          WHERE r.id = task_runs.flow_run_id AND f.name = $?)",
            name,
        );
    }
    if let Some(deployment) = filter.deployment {
        sql.push(
            " AND EXISTS (SELECT 1 FROM flow_runs r WHERE r.id = task_runs.flow_run_id AND r.deployment_id = $?)",
            deployment.0,
        );
    }
    if let Some(text) = filter.name_contains {
        sql.push(" AND name ILIKE $?", like_contains(&text));
    }
    if let Some(tag) = filter.tag {
        sql.push(" AND tags IS NOT NULL AND tags::jsonb ? $?", tag);
    }
    if let Some(since) = filter.since {
        sql.push(" AND created >= $?", micros(since));
    }
    if let Some(until) = filter.until {
        sql.push(" AND created < $?", micros(until));
    }
    if let Some(after) = filter.after {
        if any {
            sql.push(" AND id < $?", after.0);
        } else {
            sql.push(" AND (created, id) > (SELECT created, id FROM task_runs WHERE id = $?)", after.0);
        }
    }
    let order =
        if any { " ORDER BY id DESC LIMIT $?" } else { " ORDER BY flow_run_id, created, id LIMIT $?" };
    sql.push(order, limit(filter.limit));
    sql.query(client).await?.iter().map(task_run_row).collect()
}

/// One task run with its history, upstream edges and result.
pub(crate) async fn inspect_task_run(client: Object, id: TaskRunId) -> DbResult<TaskRunDetail> {
    let statement = client.prepare_cached(&format!("{TASK_RUN_SELECT} WHERE id = $1")).await?;
    let row = client
        .query_opt(&statement, &[&id.0])
        .await?
        .ok_or_else(|| Error::NotFound { what: "task run", id: id.to_string() })?;
    let run = task_run_row(&row)?;
    let edges = client
        .query(
            "SELECT downstream, upstream, upstream_kind, kind, argument FROM task_run_dependencies
             WHERE downstream = $1 ORDER BY seq",
            &[&id.0],
        )
        .await?;
    let result = client
        .query_opt(&format!("{RESULT_SELECT} WHERE run_id = $1"), &[&id.0])
        .await?
        .map(|row| result_row(&row))
        .transpose()?;
    Ok(TaskRunDetail {
        run,
        states: states_of(&client, "task_runs", id.0).await?,
        upstream: edges.iter().map(edge_row).collect::<DbResult<_>>()?,
        result,
    })
}

fn edge_row(row: &Row) -> DbResult<DependencyEdge> {
    let upstream: Uuid = row.get(1);
    let upstream = match row.get::<_, i64>(2) {
        1 => RunId::Flow(FlowRunId(upstream)),
        _ => RunId::Task(TaskRunId(upstream)),
    };
    let code: i64 = row.get(3);
    let kind = dependency_kind(code, row.get(4))
        .ok_or_else(|| corrupt(format!("unknown dependency kind {code}")))?;
    Ok(DependencyEdge { downstream: TaskRunId(row.get(0)), upstream, kind })
}

/// The edges into the task runs of `flow_run`.
pub(crate) async fn dependency_edges(
    client: Object,
    flow_run: FlowRunId,
    max: usize,
) -> DbResult<Vec<DependencyEdge>> {
    let rows = client
        .query(
            "SELECT d.downstream, d.upstream, d.upstream_kind, d.kind, d.argument
             FROM task_runs t JOIN task_run_dependencies d ON d.downstream = t.id
             WHERE t.flow_run_id = $1 ORDER BY d.seq LIMIT $2",
            &[&flow_run.0, &limit(max)],
        )
        .await?;
    rows.iter().map(edge_row).collect()
}

const RESULT_SELECT: &str =
    "SELECT run_id, run_kind, flow_run_id, location, cache_key, from_cache, created FROM run_results";

fn result_row(row: &Row) -> DbResult<ResultReference> {
    let id: Uuid = row.get(0);
    let run = match row.get::<_, i64>(1) {
        1 => RunId::Flow(FlowRunId(id)),
        _ => RunId::Task(TaskRunId(id)),
    };
    Ok(ResultReference {
        run,
        flow_run_id: row.get::<_, Option<Uuid>>(2).map(FlowRunId),
        location: row.get(3),
        cache_key: row.get(4),
        from_cache: row.get(5),
        timestamp: time(row.get(6), "created")?,
    })
}

async fn results_of_flow_run(
    client: &Object,
    flow_run: FlowRunId,
    max: usize,
) -> DbResult<Vec<ResultReference>> {
    let rows = client
        .query(
            &format!("{RESULT_SELECT} WHERE flow_run_id = $1 ORDER BY created LIMIT $2"),
            &[&flow_run.0, &limit(max)],
        )
        .await?;
    rows.iter().map(result_row).collect()
}

/// Log lines matching `filter`, in recording order.
pub(crate) async fn logs(client: Object, filter: LogFilter) -> DbResult<Vec<LogEntry>> {
    let mut sql = Sql::new(
        "SELECT id, timestamp, level, message, target, fields, flow_run_id, task_run_id FROM logs WHERE ",
    );
    let run = filter.run.uuid();
    match filter.run {
        RunId::Task(_) => sql.push("task_run_id = $?", run),
        RunId::Flow(_) if filter.include_task_runs => sql.push("flow_run_id = $?", run),
        RunId::Flow(_) => sql.push("flow_run_id = $? AND task_run_id IS NULL", run),
    }
    if let Some(after) = filter.after {
        sql.push(" AND id > $?", after.0);
    }
    if let Some(since) = filter.since {
        sql.push(" AND timestamp >= $?", micros(since));
    }
    if let Some(level) = filter.min_level {
        sql.push(" AND level >= $?", level_code(level));
    }
    sql.push(" ORDER BY id LIMIT $?", limit(filter.limit));
    let rows = sql.query(&client).await?;
    rows.iter()
        .map(|row| {
            let fields = match row.get::<_, Option<String>>(5) {
                None => serde_json::Map::new(),
                Some(text) => serde_json::from_str(&text).map_err(|e| corrupt(format!("log fields: {e}")))?,
            };
            let code: i64 = row.get(2);
            Ok(LogEntry {
                cursor: LogCursor(row.get(0)),
                record: LogRecord {
                    timestamp: time(row.get(1), "timestamp")?,
                    level: log_level(code).ok_or_else(|| corrupt(format!("unknown log level {code}")))?,
                    message: row.get(3),
                    target: row.get(4),
                    fields,
                    flow_run_id: row.get::<_, Option<Uuid>>(6).map(FlowRunId),
                    task_run_id: row.get::<_, Option<Uuid>>(7).map(TaskRunId),
                },
            })
        })
        .collect()
}

/// Ids matched per table and form; more than one is all an error needs.
const ID_MATCHES: i64 = 3;
/// Runs named in an ambiguity error.
const NAME_CANDIDATES: usize = 5;

/// The run of `scope` that `reference` names: an id, an id prefix, a short
/// id, else a name.
pub(crate) async fn resolve_run(client: Object, reference: String, scope: RunScope) -> DbResult<RunId> {
    let text = reference.trim();
    if text.is_empty() {
        let reason = "is empty; give a run's id, short id or name".to_owned();
        return Err(Error::InvalidArgument { what: "run reference", reason }.into());
    }
    let mut found = Vec::new();
    if let Ok(range) = IdPrefix::parse(text) {
        for (table, run) in tables(scope) {
            let sql =
                format!("SELECT id FROM {table} WHERE id BETWEEN $1 AND $2 ORDER BY id LIMIT {ID_MATCHES}");
            for row in client.query(&sql, &[&range.low, &range.high]).await? {
                found.push(run(row.get(0)));
            }
        }
    }
    if let Some(short) = ShortId::parse(text) {
        for (table, run) in tables(scope) {
            let sql = format!(
                "SELECT id FROM {table} WHERE substring(uuid_send(id) from 11 for 6) = $1 LIMIT {ID_MATCHES}"
            );
            for row in client.query(&sql, &[&&short.bytes()[..]]).await? {
                found.push(run(row.get(0)));
            }
        }
    }
    found.sort_unstable_by_key(|run| run.uuid());
    found.dedup();
    match found.as_slice() {
        [] => by_name(&client, text, scope).await,
        [one] => Ok(*one),
        many => Err(Error::AmbiguousPrefix {
            prefix: text.to_owned(),
            matches: many.iter().map(ToString::to_string).collect(),
        }
        .into()),
    }
}

async fn by_name(client: &Object, name: &str, scope: RunScope) -> DbResult<RunId> {
    let mut total = 0u64;
    let mut candidates = Vec::new();
    for (table, run) in tables(scope) {
        let sql = format!(
            "SELECT id, created, count(*) OVER () FROM {table} WHERE name = $1
             ORDER BY created DESC, id DESC LIMIT {NAME_CANDIDATES}"
        );
        let mut in_table = 0;
        for row in client.query(&sql, &[&name]).await? {
            in_table = u64::try_from(row.get::<_, i64>(2)).unwrap_or(0);
            candidates.push(RunMatch {
                id: run(row.get(0)),
                name: name.to_owned(),
                created: time(row.get(1), "created")?,
            });
        }
        total += in_table;
    }
    candidates.sort_by_key(|c| std::cmp::Reverse(c.created));
    candidates.truncate(NAME_CANDIDATES);
    match (total, candidates.first()) {
        (1, Some(only)) => Ok(only.id),
        (0, _) | (_, None) => Err(Error::NotFound { what: scope.noun(), id: name.to_owned() }.into()),
        _ => Err(Error::AmbiguousName { name: name.to_owned(), count: total, candidates }.into()),
    }
}
