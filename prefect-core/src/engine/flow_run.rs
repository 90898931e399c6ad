//! Creating and driving one flow run, and the placeholder task run that
//! stands for a subflow in its parent.

use std::sync::Arc;

use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use super::attempts::Attempts;
use super::cache;
use super::names;
use super::run_loop::{Persist, RunLoop, StateClock};
use crate::context::{FlowRunContext, Scope};
use crate::futures::slot::StateObserver;
use crate::hooks::RunContext;
use crate::ids::{FlowRunId, RunId, TaskRunId};
use crate::options::Flow;
use crate::record::{Event, FlowRunRecord, Recorder, StateChange, TaskRunRecord};
use crate::results::CacheSource;
use crate::runtime::FlowRuntime;
use crate::state::{State, StateMeta, StateType};

/// How a flow run is set up beyond its flow's options.
#[derive(Default)]
pub(crate) struct FlowSetup {
    /// For a submitted run: its future's slot (holding its id) ...
    pub(crate) observer: Option<Arc<dyn StateObserver>>,
    /// ... and the token that cancels it.
    pub(crate) cancel: Option<CancellationToken>,
    pub(crate) run_name: Option<String>,
    /// For a run created beforehand in the store (a deployment's run a
    /// worker claimed): its id and how many times it ran before.
    pub(crate) existing: Option<(FlowRunId, u32)>,
}

/// Runs `flow` to a final state in the current scope.
pub(crate) async fn run<T: Send + 'static>(
    flow: &Flow,
    parameters: serde_json::Value,
    attempts: &mut dyn Attempts<T>,
    cache: &CacheSource<T>,
    setup: FlowSetup,
) -> State<T> {
    if let Err(error) = flow.opts.validate() {
        return State::failed_with(error);
    }
    let scope = Scope::current();
    let id = match (setup.existing, setup.observer.as_ref().map(|o| o.run_id())) {
        (Some((id, _)), _) | (None, Some(RunId::Flow(id))) => id,
        _ => FlowRunId::new(),
    };
    let (observer, token) = (setup.observer, setup.cancel);
    let tags = scope.merged_tags(&flow.opts.tags);
    let mut placeholder =
        scope.flow.as_ref().map(|parent| Placeholder::create(&scope, parent.id(), flow, id, &tags));
    let record = Arc::new(FlowRunRecord {
        id,
        name: setup
            .run_name
            .or_else(|| flow.opts.run_name.as_ref().map(|f| f()))
            .unwrap_or_else(names::flow_run_name),
        flow_name: flow.opts.name.clone(),
        flow_version: flow.opts.version.clone(),
        parameters,
        tags,
        parent_flow_run_id: scope.flow.as_ref().map(|f| f.id()),
        parent_task_run_id: placeholder.as_ref().map(|p| p.id),
        created: crate::clock::now(),
    });
    // A run that exists in the store (claimed, so already Pending) is
    // recorded from its next state on.
    if setup.existing.is_none() {
        scope.recorder.record(Event::FlowRunCreated(record.clone()));
    }
    // A subflow is cancelled with its parent; a top-level run by its future.
    let cancel = match (&scope.flow, token) {
        (_, Some(token)) => token,
        (Some(parent), None) => parent.runtime.cancel.child_token(),
        (None, None) => CancellationToken::new(),
    };
    let runtime = FlowRuntime::new(flow.make_runner(), cancel.clone());
    let mut context = FlowRunContext::new(record, runtime.clone(), flow.opts.results.clone());
    if let Some((_, runs_before)) = setup.existing {
        context.run_count.store(runs_before, std::sync::atomic::Ordering::Relaxed);
    }
    context.log_prints = flow.opts.log_prints.or_else(|| scope.log_prints());
    let span = tracing::info_span!(target: "prefect", "flow_run", id = %context.id(), name = %context.name());
    let recorder = scope.recorder.clone();
    let mut run_loop = RunLoop::new(RunContext::Flow(context.clone()), &flow.opts, recorder.clone())
        .observed_by(observer)
        .cancelled_by(Some(cancel))
        .durable_start(setup.existing.is_some())
        .owning(runtime);
    if setup.existing.is_none() {
        run_loop.set_state(StateMeta::unstamped(StateType::Pending));
    }
    if let Some(p) = placeholder.as_mut() {
        p.set_state(StateMeta::unstamped(StateType::Running), 1);
    }
    let is_root = scope.flow.is_none();
    let child = Scope { flow: Some(context.clone()), task: None, depth: scope.depth + 1, ..scope };
    let body = async move {
        tracing::info!("Beginning flow run '{}' for flow '{}'", context.name(), context.flow_name());
        let plan = cache::plan_flow(flow, &context, cache);
        let write = |state: &State<T>| plan.as_ref().and_then(|plan| plan.write(state));
        let persist = plan.is_some().then_some(&write as Persist<'_, T>);
        run_loop.drive(attempts, persist).await
    };
    let state = child.enter(body).instrument(span).await;
    if let Some(p) = placeholder.as_mut() {
        p.set_state(state.meta().clone(), 1);
    }
    if is_root {
        recorder.flush().await;
    }
    state
}

/// The task run a subflow gets in its parent flow, mirroring its states.
struct Placeholder {
    id: TaskRunId,
    recorder: Arc<dyn Recorder>,
    clock: StateClock,
}

impl Placeholder {
    fn create(scope: &Scope, parent: FlowRunId, flow: &Flow, child: FlowRunId, tags: &Arc<[String]>) -> Self {
        let record = TaskRunRecord {
            id: TaskRunId::new(),
            name: names::task_run_name(&flow.opts.name),
            task_name: flow.opts.name.clone(),
            flow_run_id: Some(parent),
            parent_task_run_id: scope.task.as_ref().map(|t| t.id()),
            tags: tags.clone(),
            map_index: None,
            subflow_run_id: Some(child),
            created: crate::clock::now(),
        };
        let mut placeholder =
            Placeholder { id: record.id, recorder: scope.recorder.clone(), clock: StateClock::default() };
        placeholder.recorder.record(Event::TaskRunCreated(Arc::new(record)));
        placeholder.set_state(StateMeta::unstamped(StateType::Pending), 0);
        placeholder
    }

    fn set_state(&mut self, mut state: StateMeta, run_count: u32) {
        state.timestamp = self.clock.stamp();
        self.recorder.record(Event::StateChanged(StateChange {
            run: RunId::Task(self.id),
            state,
            run_count,
        }));
    }
}
