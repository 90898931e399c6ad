//! [`run_deployment`]: starts a run of a deployment from code (inside a
//! flow, it is that flow's subflow), and by default waits for it.

use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::sync::OnceLock;
use std::time::Duration;

use chrono::{DateTime, Utc};
use prefect_core::record::record_current;
use prefect_core::{FlowRunId, RunId, StateMeta, StateType, TaskRunId};
use prefect_model::{Event, StateChange, TaskRunRecord};
use prefect_store::{AnyStore, NewFlowRun};
use serde::Serialize;
use serde_json::{Map, Value};
use std::sync::Arc;

use crate::Error;
use crate::worker::open_settings_store;

/// How often a waiting caller reads the store's change counter.
const POLL: Duration = Duration::from_millis(20);

/// Starts a run of the deployment `name` (`flow/name`) with `parameters`
/// (an object; its fields override the deployment's), to be run by a
/// worker or `serve` of the program that has the flow. Called inside a
/// flow, the run is listed as that flow run's subflow.
///
/// `.await` waits for the run to end (see [`RunDeployment::timeout`] and
/// [`RunDeployment::no_wait`]) and gives it with its last state.
///
/// ```no_run
/// # async fn example() -> Result<(), prefect_deploy::Error> {
/// use prefect_deploy::run_deployment;
///
/// let run = run_deployment("etl/daily", serde_json::json!({ "months": [1, 2] })).await?;
/// assert!(run.state.is_some_and(|s| s.is_final()));
/// # Ok(()) }
/// ```
pub fn run_deployment(name: &str, parameters: impl Serialize) -> RunDeployment {
    let parameters = serde_json::to_value(parameters).map_err(|e| e.to_string());
    RunDeployment { name: name.to_owned(), parameters, wait: Some(None), start_at: None }
}

/// A run of a deployment to start: configure, then `.await`.
#[must_use = "run_deployment does nothing until awaited"]
#[derive(Debug)]
pub struct RunDeployment {
    name: String,
    parameters: Result<Value, String>,
    /// `None`: do not wait; `Some(None)`: wait until it ends.
    wait: Option<Option<Duration>>,
    start_at: Option<DateTime<Utc>>,
}

/// A run started by [`run_deployment`].
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct DeploymentRun {
    /// The run's id.
    pub id: FlowRunId,
    /// Its name.
    pub name: String,
    /// Its state when the call returned: final, unless it did not wait or
    /// the timeout passed first.
    pub state: Option<StateMeta>,
}

impl RunDeployment {
    /// Waits at most this long for the run to end; the run goes on after.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.wait = Some(Some(timeout));
        self
    }

    /// Returns as soon as the run is created.
    pub fn no_wait(mut self) -> Self {
        self.wait = None;
        self
    }

    /// Schedules the run for `at` instead of now.
    pub fn start_at(mut self, at: DateTime<Utc>) -> Self {
        self.start_at = Some(at);
        self
    }

    async fn run(self) -> Result<DeploymentRun, Error> {
        let invalid = |reason: String| Error::InvalidDeployment {
            deployment: self.name.clone(),
            field: "parameters",
            reason,
        };
        let given = match self.parameters.clone().map_err(invalid)? {
            Value::Object(map) => map,
            Value::Null => Map::new(),
            other => return Err(invalid(format!("expected an object of parameters, got {other}"))),
        };
        let store = shared_store()?;
        let deployment =
            store.deployment(&self.name).await?.ok_or_else(|| Error::UnknownDeployment(self.name.clone()))?;
        let mut parameters = deployment.spec.parameters.as_object().cloned().unwrap_or_default();
        parameters.extend(given);
        let now = Utc::now();
        let run = NewFlowRun {
            id: FlowRunId::new(),
            deployment: deployment.id,
            name: prefect_model::run_names::flow_run_name(),
            parameters: Value::Object(parameters),
            scheduled: self.start_at.unwrap_or(now),
            auto_scheduled: false,
            parent_flow_run_id: prefect_core::context::flow_run().ok().map(|f| f.id()),
            created: now,
        };
        store.create_flow_runs(std::slice::from_ref(&run)).await?;
        tracing::info!("started flow run {} of deployment {}", run.name, self.name);
        let placeholder = run.parent_flow_run_id.map(|parent| Placeholder::start(parent, &self.name, run.id));
        let state = match self.wait {
            None => store.inspect_flow_run(run.id, 0).await?.run.state,
            Some(timeout) => wait_for_end(store, run.id, timeout).await?,
        };
        if let Some(placeholder) = placeholder {
            placeholder.end(&run.name, state.as_ref());
        }
        Ok(DeploymentRun { id: run.id, name: run.name, state })
    }
}

impl IntoFuture for RunDeployment {
    type Output = Result<DeploymentRun, Error>;
    type IntoFuture = Pin<Box<dyn Future<Output = Result<DeploymentRun, Error>> + Send>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.run())
    }
}

/// The task run that stands in the calling flow for the deployment run it
/// started, as a subflow's does: Running while it is waited for, then the
/// run's final state (Completed, saying so, when it was not waited for).
struct Placeholder {
    id: TaskRunId,
}

impl Placeholder {
    fn start(parent: FlowRunId, deployment: &str, run: FlowRunId) -> Placeholder {
        let id = TaskRunId::new();
        let record = TaskRunRecord {
            id,
            name: format!("run_deployment-{}", &id.0.simple().to_string()[29..]),
            task_name: format!("run_deployment {deployment}").into(),
            flow_run_id: Some(parent),
            parent_task_run_id: prefect_core::context::task_run().ok().map(|t| t.id()),
            tags: Arc::from(Vec::new()),
            map_index: None,
            subflow_run_id: Some(run),
            created: Utc::now(),
        };
        record_current(Event::TaskRunCreated(Arc::new(record)));
        let placeholder = Placeholder { id };
        placeholder.enter(StateMeta::new(StateType::Pending), 0);
        placeholder.enter(StateMeta::new(StateType::Running), 1);
        placeholder
    }

    fn enter(&self, state: StateMeta, run_count: u32) {
        record_current(Event::StateChanged(StateChange { run: RunId::Task(self.id), state, run_count }));
    }

    fn end(self, run_name: &str, state: Option<&StateMeta>) {
        let end = match state {
            Some(state) if state.is_final() => StateMeta { timestamp: Utc::now(), ..state.clone() },
            _ => StateMeta::new(StateType::Completed)
                .with_message(format!("started flow run {run_name}; not waited for to the end")),
        };
        self.enter(end, 1);
    }
}

/// The process's handle on the run database of the settings.
pub(crate) fn shared_store() -> Result<&'static AnyStore, Error> {
    static STORE: OnceLock<AnyStore> = OnceLock::new();
    if let Some(store) = STORE.get() {
        return Ok(store);
    }
    let store = open_settings_store()?;
    Ok(STORE.get_or_init(|| store))
}

/// The run's state once it is final, or when `timeout` passes.
async fn wait_for_end(
    store: &AnyStore,
    run: FlowRunId,
    timeout: Option<Duration>,
) -> Result<Option<StateMeta>, Error> {
    let deadline = timeout.map(|t| tokio::time::Instant::now() + t);
    let mut counter = None;
    loop {
        let changed = match store.change_counter().await? {
            Some(now) => counter.replace(now) != Some(now),
            None => true,
        };
        if changed {
            let state = store.inspect_flow_run(run, 0).await?.run.state;
            if state.as_ref().is_some_and(StateMeta::is_final) {
                return Ok(state);
            }
        }
        if deadline.is_some_and(|d| tokio::time::Instant::now() >= d) {
            return Ok(store.inspect_flow_run(run, 0).await?.run.state);
        }
        crate::wake::nap(store, counter, POLL, deadline).await;
    }
}
