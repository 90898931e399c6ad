//! Creating and driving one task run: upstream waits (NotReady), tag
//! concurrency slots, then the attempt loop.

use std::sync::Arc;

use chrono::Utc;
use tracing::Instrument;

use super::attempts::Attempts;
use super::cache::{self, Lookup};
use super::names;
use super::run_loop::{Persist, RunLoop};
use crate::concurrency::{SharedWait, TagSlots, shares, try_tag_slots, wait_shared, wait_tag_slots};
use crate::context::{Scope, TaskRunContext};
use crate::futures::slot::{StateObserver, Upstream, is_ready};
use crate::hooks::RunContext;
use crate::ids::{RunId, TaskRunId};
use crate::logging;
use crate::options::Task;
use crate::record::{DependencyEdge, DependencyKind, Event, TaskRunRecord};
use crate::state::{State, StateMeta, StateType, names as state_names};

/// How a task run is set up beyond its task's options.
#[derive(Default)]
pub(crate) struct RunSetup {
    /// A pre-assigned id (submitted runs hand it out before they start).
    pub(crate) id: Option<TaskRunId>,
    /// Sees every state (a future's slot).
    pub(crate) observer: Option<Arc<dyn StateObserver>>,
    /// Runs to wait for first, and how this run depends on each.
    pub(crate) upstream: Vec<(Upstream, DependencyKind)>,
    /// The position in a map.
    pub(crate) map_index: Option<u32>,
    /// The run name, formatted from the call's parameters.
    pub(crate) run_name: Option<String>,
}

/// Runs `task` to a final state in the current scope.
pub(crate) async fn run<T>(task: &Task, attempts: &mut dyn Attempts<T>, setup: RunSetup) -> State<T> {
    logging::ensure_init();
    if let Err(error) = task.opts.validate() {
        return State::failed_with(error);
    }
    let scope = Scope::current();
    let record = Arc::new(TaskRunRecord {
        id: setup.id.unwrap_or_default(),
        name: setup
            .run_name
            .or_else(|| task.opts.run_name.as_ref().map(|f| f()))
            .unwrap_or_else(|| names::task_run_name(&task.opts.name)),
        task_name: task.opts.name.clone(),
        flow_run_id: scope.flow.as_ref().map(|f| f.id()),
        parent_task_run_id: scope.task.as_ref().map(|t| t.id()),
        tags: scope.merged_tags(&task.opts.tags),
        map_index: setup.map_index,
        subflow_run_id: None,
        created: Utc::now(),
    });
    scope.recorder.record(Event::TaskRunCreated(record.clone()));
    let context = TaskRunContext::new(record);
    let run_id = context.id();
    let span = tracing::info_span!(target: "prefect", "task_run", id = %context.id(), name = %context.name());
    let cancel = scope.flow.as_ref().map(|f| f.runtime.cancel.clone());
    let mut run_loop = RunLoop::new(RunContext::Task(context.clone()), &task.opts, scope.recorder.clone())
        .observed_by(setup.observer)
        .cancelled_by(cancel);
    run_loop.set_state(StateMeta::unstamped(StateType::Pending));
    for (upstream, kind) in &setup.upstream {
        scope.recorder.record(Event::Dependency(DependencyEdge {
            downstream: context.id(),
            upstream: upstream.run_id(),
            kind: kind.clone(),
        }));
    }
    // A task run outside any flow or task is a root: like a root flow run,
    // it waits at its end until its events are stored.
    let is_root = scope.flow.is_none() && scope.task.is_none();
    let recorder = scope.recorder.clone();
    // Only runs that may persist pay for the clones the cache needs.
    let for_cache = cache::may_persist(task, &scope).then(|| (scope.flow.clone(), context.clone()));
    let child = Scope { task: Some(context), ..scope };
    let body = async move {
        if let Some(state) = wait_upstream(&mut run_loop, setup.upstream).await {
            return state;
        }
        let plan = match for_cache {
            Some((flow_run, context)) => cache::plan_task(task, flow_run.as_ref(), &context, attempts),
            None => None,
        };
        // Looked up before the key is held, so hits never wait, then again
        // once it is held: a concurrent run may have just stored it.
        let mut unusable = false;
        if let Some(plan) = plan.as_deref().filter(|p| p.looks_up()) {
            match plan.read(false) {
                Lookup::Hit(value) => return run_loop.finish(cached(value)),
                Lookup::Miss => {}
                Lookup::Unusable => unusable = true,
            }
        }
        let key_guard = match &plan {
            Some(plan) => plan.hold().await,
            None => None,
        };
        if let Some(plan) = plan.as_deref().filter(|p| p.looks_up() && key_guard.is_some())
            && let Lookup::Hit(value) = plan.read(unusable)
        {
            return run_loop.finish(cached(value));
        }
        let tags = run_loop.tags();
        let _slots = match try_tag_slots(&tags) {
            TagSlots::Held(held) => held,
            TagSlots::Abort(tag) => {
                let message = format!("Concurrency limit for tag '{tag}' is 0: the run was aborted");
                return run_loop.finish(State::cancelled(message));
            }
            TagSlots::Wait(waiting, held) => {
                run_loop.set_state(
                    StateMeta::unstamped(StateType::Pending).named(state_names::AWAITING_CONCURRENCY_SLOT),
                );
                wait_tag_slots(waiting, held).await
            }
        };
        let _shared = if shares(&tags) {
            let waiting =
                StateMeta::unstamped(StateType::Pending).named(state_names::AWAITING_CONCURRENCY_SLOT);
            // Boxed: most runs have no shared limits, and the wait's timer
            // would otherwise widen every run's future.
            let shared = Box::pin(wait_shared(&tags, run_id, || {
                run_loop.set_state(waiting.clone());
            }))
            .await;
            match shared {
                SharedWait::Go(slots) => slots,
                SharedWait::Abort(tag) => {
                    let message = format!("Concurrency limit for tag '{tag}' is 0: the run was aborted");
                    return run_loop.finish(State::cancelled(message));
                }
            }
        } else {
            None
        };
        let write = |state: &State<T>| {
            if let Some(plan) = &plan {
                plan.write(state);
            }
        };
        let persist = plan.is_some().then_some(&write as Persist<'_, T>);
        run_loop.drive(attempts, persist).await
    };
    let state = child.enter(body).instrument(span).await;
    if is_root {
        recorder.flush().await;
    }
    state
}

/// A cache hit's final state.
fn cached<T>(value: T) -> State<T> {
    State::completed(value).named(state_names::CACHED)
}

/// Waits for every upstream; the first one that did not complete makes
/// this run NotReady.
async fn wait_upstream<T>(
    run_loop: &mut RunLoop<'_>,
    upstream: Vec<(Upstream, DependencyKind)>,
) -> Option<State<T>> {
    for (up, kind) in upstream {
        let id = up.run_id();
        let state = up.wait_final().await;
        if !is_ready(&state) && kind != DependencyKind::AllowFailure {
            let id = match id {
                RunId::Task(t) => t.to_string(),
                RunId::Flow(f) => f.to_string(),
            };
            return Some(
                run_loop.not_ready(format!("Upstream task run '{id}' did not reach a 'COMPLETED' state")),
            );
        }
    }
    None
}
