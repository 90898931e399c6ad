//! One task run, in named steps: [`create`] it (record, context, run loop,
//! dependency edges), [`admit`] it (upstream runs, the cache, concurrency
//! slots), then drive its attempts; a root run then waits for its events to
//! be stored.

use std::sync::Arc;

use tokio::sync::OwnedSemaphorePermit;
use tracing::Instrument;

use super::attempts::Attempts;
use super::cache::{self, Lookup, Plan};
use super::key_locks::KeyGuard;
use super::names;
use super::run_loop::{Persist, RunLoop};
use crate::concurrency::{
    SharedSlots, SharedWait, TagSlots, shares, try_tag_slots, wait_shared, wait_tag_slots,
};
use crate::context::{FlowRunContext, HeldTags, Scope, TaskRunContext};
use crate::futures::slot::{StateObserver, Upstream, is_ready};
use crate::hooks::RunContext;
use crate::ids::{RunId, TaskRunId};
use crate::options::Task;
use crate::record::{DependencyEdge, DependencyKind, Event, TaskRunRecord};
use crate::results::CacheSource;
use crate::state::{State, StateMeta, StateType, names as state_names};
use crate::transaction::{Member, TxnState};

/// How a task run is set up beyond its task's options. Kept small: a call
/// carries it and is moved on every await and submit.
#[derive(Default)]
pub(crate) struct RunSetup {
    /// For a submitted run: its future's slot, which sees every state and
    /// holds the run's id, handed out before the run starts.
    pub(crate) observer: Option<Arc<dyn StateObserver>>,
    /// Runs to wait for first, and how this run depends on each.
    pub(crate) upstream: Vec<(Upstream, DependencyKind)>,
    /// The position in a map.
    pub(crate) map_index: Option<u32>,
    /// The run name, formatted from the call's parameters.
    pub(crate) run_name: Option<String>,
}

/// Runs `task` to a final state in the current scope.
pub(crate) async fn run<T: Send + 'static>(
    task: &Task,
    attempts: &mut dyn Attempts<T>,
    cache: &CacheSource<T>,
    setup: RunSetup,
) -> State<T> {
    if let Err(error) = task.opts.validate() {
        return State::failed_with(error);
    }
    let scope = Scope::current();
    // A task run outside any flow or task is a root: like a root flow run,
    // it waits at its end until its events are stored.
    let is_root = scope.flow.is_none() && scope.task.is_none();
    let recorder = scope.recorder.clone();
    let (created, child) = create(task, scope, setup);
    let span = tracing::info_span!(target: "prefect", "task_run", id = %created.context.id(), name = %created.context.name());
    let Created { run_loop, context, to_admit } = created;
    // Inside a transaction, a run that completes joins it (rarely: boxed).
    let in_txn = child.txn.is_some().then(|| Box::new(child.clone()));
    let body = admit_and_drive(task, attempts, cache, run_loop, context, to_admit);
    let state = child.enter(body).instrument(span).await;
    if let Some(scope) = in_txn {
        join_transaction(task, *scope, &state);
    }
    if is_root {
        recorder.flush().await;
    }
    state
}

/// Adds a run that ran and completed to its transaction, for its commit
/// and rollback hooks. (A Cached or Skipped run did nothing to undo.)
fn join_transaction<T>(task: &Task, scope: Scope, state: &State<T>) {
    let meta = state.meta();
    let ran = meta.state_type == StateType::Completed
        && meta.name != state_names::CACHED
        && meta.name != state_names::SKIPPED;
    let (Some(txn), Some(context), true) = (scope.txn.clone(), scope.task.clone(), ran) else { return };
    txn.enlist(Member {
        scope,
        context,
        ended: meta.clone(),
        on_commit: task.opts.hooks.on_commit.clone(),
        on_rollback: task.opts.hooks.on_rollback.clone(),
    });
}

/// A task run that exists: recorded, with its context and run loop.
struct Created<'a> {
    run_loop: RunLoop<'a>,
    context: TaskRunContext,
    /// What it must wait for before it runs; `None` for most runs.
    to_admit: Option<Box<ToAdmit>>,
}

/// What a run waits for before its attempts, boxed: most runs have none of
/// it, and every byte of a run's future is paid by every run.
struct ToAdmit {
    upstream: Vec<(Upstream, DependencyKind)>,
    /// The flow run and transaction, when the run may persist (only then
    /// are they cloned).
    for_cache: Option<(Option<FlowRunContext>, Option<Arc<TxnState>>)>,
}

/// Records the run, its first state and its dependency edges; returns it
/// and the scope its body runs in. Inlined: the run loop it returns is
/// large, and would otherwise be copied out.
#[inline]
fn create<'a>(task: &'a Task, scope: Scope, setup: RunSetup) -> (Created<'a>, Scope) {
    let id = match setup.observer.as_ref().map(|o| o.run_id()) {
        Some(RunId::Task(id)) => id,
        _ => TaskRunId::new(),
    };
    let observer = setup.observer;
    let record = Arc::new(TaskRunRecord {
        id,
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
        created: crate::clock::now(),
    });
    scope.recorder.record(Event::TaskRunCreated(record.clone()));
    let mut context = TaskRunContext::new(record);
    context.log_prints = task.opts.log_prints.or_else(|| scope.log_prints());
    let inherited = scope.task.as_ref().and_then(|parent| parent.held_tags().cloned());
    if inherited.is_some() || !context.record.tags.is_empty() {
        context.held = Some(Arc::new(HeldTags { inherited, ..HeldTags::default() }));
    }
    let cancel = scope.flow.as_ref().map(|f| f.runtime.cancel.clone());
    let mut run_loop = RunLoop::new(RunContext::Task(context.clone()), &task.opts, scope.recorder.clone())
        .observed_by(observer)
        .cancelled_by(cancel);
    run_loop.set_state(StateMeta::unstamped(StateType::Pending));
    for (upstream, kind) in &setup.upstream {
        scope.recorder.record(Event::Dependency(DependencyEdge {
            downstream: context.id(),
            upstream: upstream.run_id(),
            kind: kind.clone(),
        }));
    }
    // Only runs that may persist pay for the clones the cache needs.
    let for_cache = cache::may_persist(task, &scope).then(|| (scope.flow.clone(), scope.txn.clone()));
    let tagged = !run_loop.tags().is_empty();
    let to_admit = (tagged || for_cache.is_some() || !setup.upstream.is_empty())
        .then(|| Box::new(ToAdmit { upstream: setup.upstream, for_cache }));
    let child = Scope { task: Some(context.clone()), depth: scope.depth + 1, ..scope };
    (Created { run_loop, context, to_admit }, child)
}

/// What an admitted run holds while its attempts run.
struct Admitted<T> {
    plan: Option<Box<Plan<T>>>,
    _key: Option<KeyGuard>,
    _slots: Vec<OwnedSemaphorePermit>,
    shared: Option<SharedSlots>,
}

/// Whether a run goes on to its attempts (holding what it was admitted
/// with, boxed), or has already ended.
enum Admission<T> {
    Go(Box<Admitted<T>>),
    Ended(State<T>),
}

/// Admits the run, then drives its attempts. The parts of the created run
/// come as separate arguments, used in place: an async fn keeps its
/// arguments for its whole life, so moving them apart into locals would
/// take the space twice in every run's future.
async fn admit_and_drive<T: Send + 'static>(
    task: &Task,
    attempts: &mut dyn Attempts<T>,
    cache: &CacheSource<T>,
    mut run_loop: RunLoop<'_>,
    context: TaskRunContext,
    to_admit: Option<Box<ToAdmit>>,
) -> State<T> {
    // Most runs have nothing to wait for: no upstream, no cache, no tags.
    // They skip admission; the others admit in a boxed future, so its waits
    // do not widen every run's future.
    let admitted = match to_admit {
        None => None,
        Some(to_admit) => {
            // Cancelling the flow reaches a run still waiting for its
            // upstream, its key or its slots at once.
            let token = run_loop.cancel_token();
            let admitting = Box::pin(admit(&mut run_loop, task, attempts, cache, &context, *to_admit));
            let admission = match token {
                Some(token) => tokio::select! {
                    biased;
                    () = token.cancelled() => None,
                    admission = admitting => Some(admission),
                },
                None => Some(admitting.await),
            };
            match admission {
                Some(Admission::Go(admitted)) => Some(admitted),
                Some(Admission::Ended(state)) => return state,
                None => return run_loop.cancelled_before_start(),
            }
        }
    };
    let plan = admitted.as_ref().and_then(|a| a.plan.as_deref());
    let write = |state: &State<T>| plan.and_then(|plan| plan.write(state));
    let persist = plan.is_some().then_some(&write as Persist<'_, T>);
    let state = run_loop.drive(attempts, persist).await;
    if let Some(bodies) = run_loop.take_lingering() {
        // A sync body that overran its timeout still runs: the run's slots
        // stay held until its thread returns (the run is TimedOut already).
        tokio::spawn(async move {
            futures::future::join_all(*bodies).await;
            if let Some(shared) = admitted.and_then(|admitted| admitted.shared) {
                shared.release().await;
            }
        });
        return state;
    }
    match admitted.and_then(|admitted| admitted.shared) {
        // As in `drive`: the state waits inside the box.
        Some(shared) => {
            Box::pin(async move {
                shared.release().await;
                state
            })
            .await
        }
        None => state,
    }
}

/// Waits for the upstream runs, looks the value up in the cache, then takes
/// the tag concurrency slots.
async fn admit<T>(
    run_loop: &mut RunLoop<'_>,
    task: &Task,
    attempts: &mut dyn Attempts<T>,
    cache: &CacheSource<T>,
    context: &TaskRunContext,
    to_admit: ToAdmit,
) -> Admission<T> {
    let ToAdmit { upstream, for_cache } = to_admit;
    if let Some(state) = wait_upstream(run_loop, upstream, task.opts.skip_on_upstream_skip).await {
        return Admission::Ended(state);
    }
    let plan = for_cache
        .and_then(|(flow_run, txn)| cache::plan_task(task, flow_run.as_ref(), txn, context, attempts, cache));
    let key = match look_up(run_loop, plan.as_deref()).await {
        Ok(key) => key,
        Err(state) => return Admission::Ended(state),
    };
    let tags = tags_to_take(run_loop, context);
    let slots = match try_tag_slots(&tags) {
        TagSlots::Held(held) => held,
        TagSlots::Abort(tag) => return Admission::Ended(aborted(run_loop, &tag)),
        TagSlots::Wait(waiting, held) => {
            run_loop.set_state(awaiting_slot());
            wait_tag_slots(waiting, held).await
        }
    };
    let shared = if shares(&tags) {
        // Boxed: the wait's timer is large, and few runs have shared limits.
        match Box::pin(shared_slots(run_loop, &tags, context.id())).await {
            Ok(shared) => shared,
            Err(tag) => return Admission::Ended(aborted(run_loop, &tag)),
        }
    } else {
        None
    };
    if let Some(held) = &context.held {
        let mut all: Vec<String> = held.inherited.as_deref().unwrap_or_default().to_vec();
        all.extend(tags.iter().cloned());
        let _ = held.own.set(all.into());
    }
    Admission::Go(Box::new(Admitted { plan, _key: key, _slots: slots, shared }))
}

/// The run's tags, less those whose slot a run it was called from holds:
/// the nested run goes under that slot (taking another of a limit of 1
/// would wait for the caller, which waits for it).
fn tags_to_take(run_loop: &RunLoop<'_>, context: &TaskRunContext) -> Arc<[String]> {
    let tags = run_loop.tags();
    match context.held.as_ref().and_then(|h| h.inherited.as_ref()) {
        Some(held) if tags.iter().any(|t| held.contains(t)) => {
            tags.iter().filter(|t| !held.contains(t)).cloned().collect::<Vec<_>>().into()
        }
        _ => tags,
    }
}

/// Serves the run from a stored record when there is one. Looked up before
/// the key is held, so hits never wait, then again once it is held: a
/// concurrent run may have just stored it. `Ok` holds the key (if caching).
async fn look_up<T>(
    run_loop: &mut RunLoop<'_>,
    plan: Option<&Plan<T>>,
) -> Result<Option<KeyGuard>, State<T>> {
    let Some(plan) = plan else { return Ok(None) };
    let mut unusable = false;
    if plan.looks_up() {
        match plan.read(false).await {
            Lookup::Hit(value, stored) => {
                run_loop.record_result(stored, true);
                return Err(run_loop.finish(cached(value)));
            }
            Lookup::Miss => {}
            Lookup::Unusable => unusable = true,
        }
    }
    let key = plan.hold().await;
    if plan.looks_up()
        && key.is_some()
        && let Lookup::Hit(value, stored) = plan.read(unusable).await
    {
        run_loop.record_result(stored, true);
        return Err(run_loop.finish(cached(value)));
    }
    Ok(key)
}

/// Takes a slot of every tag limited in the run database; `Err(tag)` for
/// a limit of 0.
async fn shared_slots(
    run_loop: &mut RunLoop<'_>,
    tags: &[String],
    run_id: TaskRunId,
) -> Result<Option<SharedSlots>, String> {
    let waiting = wait_shared(tags, run_id, || {
        run_loop.set_state(awaiting_slot());
    });
    match waiting.await {
        SharedWait::Go(slots) => Ok(slots),
        SharedWait::Abort(tag) => Err(tag),
    }
}

fn awaiting_slot() -> StateMeta {
    StateMeta::unstamped(StateType::Pending).named(state_names::AWAITING_CONCURRENCY_SLOT)
}

fn aborted<T>(run_loop: &mut RunLoop<'_>, tag: &str) -> State<T> {
    run_loop.finish(State::cancelled(format!("Concurrency limit for tag '{tag}' is 0: the run was aborted")))
}

/// A cache hit's final state.
fn cached<T>(value: T) -> State<T> {
    State::completed(value).named(state_names::CACHED)
}

/// Waits for every upstream; the first one that did not complete makes
/// this run NotReady, and one that was skipped makes it Skipped (unless
/// `skip_on_upstream_skip` is off).
async fn wait_upstream<T>(
    run_loop: &mut RunLoop<'_>,
    upstream: Vec<(Upstream, DependencyKind)>,
    skip_on_upstream_skip: bool,
) -> Option<State<T>> {
    for (up, kind) in upstream {
        let id = match up.run_id() {
            RunId::Task(t) => t.to_string(),
            RunId::Flow(f) => f.to_string(),
        };
        let state = up.wait_final().await;
        if kind == DependencyKind::AllowFailure {
            continue;
        }
        if !is_ready(&state) {
            return Some(
                run_loop.not_ready(format!("Upstream task run '{id}' did not reach a 'COMPLETED' state")),
            );
        }
        if skip_on_upstream_skip && state.name == state_names::SKIPPED {
            let skipped = StateMeta::unstamped(StateType::Completed)
                .named(state_names::SKIPPED)
                .with_message(format!("Upstream task run '{id}' was skipped"));
            return Some(run_loop.finish(State::from_meta(skipped)));
        }
    }
    None
}
