//! The attempt loop shared by task runs and flow runs: states, retries,
//! timeouts, panics, retry conditions and hooks.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use futures::FutureExt;
use tokio_util::sync::CancellationToken;

use futures::future::BoxFuture;

use super::attempts::Attempts;
use super::cache::StoredAt;
use super::outcome::{Outcome, Verdict, panic_message};
use crate::context::Scope;
use crate::futures::slot::StateObserver;
use crate::hooks::{HookContext, HookFn, Hooks, RunContext};
use crate::ids::RunId;
use crate::options::RunOptions;
use crate::record::{Event, Recorder, ResultReference, StateChange};
use crate::retry::{RetryDelay, jittered};
use crate::runtime::FlowRuntime;
use crate::state::{State, StateMeta, StateType, names};

/// Hands out strictly increasing timestamps for one run's states.
#[derive(Debug, Default)]
pub(crate) struct StateClock {
    last: Option<DateTime<Utc>>,
}

impl StateClock {
    pub(crate) fn stamp(&mut self) -> DateTime<Utc> {
        let mut now = crate::clock::now();
        if let Some(last) = self.last
            && now <= last
        {
            now = last + TimeDelta::nanoseconds(1);
        }
        self.last = Some(now);
        now
    }
}

/// Sees a Completed state before it is recorded: encodes the run's value
/// and gives the write to wait for, which says where the record went.
pub(crate) type Persist<'a, T> =
    &'a (dyn Fn(&State<T>) -> Option<BoxFuture<'static, Option<StoredAt>>> + Sync);

/// One run's state machine.
pub(crate) struct RunLoop<'a> {
    run: RunId,
    context: RunContext,
    run_count: Arc<AtomicU32>,
    opts: &'a RunOptions,
    /// The effective retries and delay (options, else settings), read once.
    retries: u32,
    retry_delay: RetryDelay,
    recorder: Arc<dyn Recorder>,
    clock: StateClock,
    last_state: StateType,
    ended: bool,
    /// Waits for each Running state to be durable before the body runs.
    durable_start: bool,
    observer: Option<Arc<dyn StateObserver>>,
    cancel: Option<CancellationToken>,
    owned: Option<Arc<FlowRuntime>>,
    /// Sync bodies still running on their threads after a timeout, awaited
    /// by tasks of their own.
    /// Boxed (a thin pointer): the run loop is in every run's future.
    #[allow(clippy::box_collection)]
    lingering: Option<Box<Vec<tokio::task::JoinHandle<()>>>>,
}

/// How one attempt ended: its outcome, and for a sync body that overran its
/// timeout, the body still running on its thread.
enum Attempted<T> {
    Done(Outcome<T>, Option<BoxFuture<'static, ()>>),
    Cancelled,
}

impl<'a> RunLoop<'a> {
    pub(crate) fn new(context: RunContext, opts: &'a RunOptions, recorder: Arc<dyn Recorder>) -> Self {
        let (run, run_count) = match &context {
            RunContext::Task(t) => (RunId::Task(t.id()), t.run_count.clone()),
            RunContext::Flow(f) => (RunId::Flow(f.id()), f.run_count.clone()),
        };
        // The settings give the defaults: read once per run.
        let (retries, retry_delay) =
            crate::env::with_settings(|settings| (opts.retries_in(settings), opts.retry_delay_in(settings)));
        RunLoop {
            run,
            context,
            run_count,
            opts,
            retries,
            retry_delay,
            recorder,
            clock: StateClock::default(),
            last_state: StateType::Pending,
            ended: false,
            durable_start: false,
            observer: None,
            cancel: None,
            owned: None,
            lingering: None,
        }
    }

    /// The sync bodies of this run still running on their threads after a
    /// timeout: the run's tag slots stay held until they return.
    #[allow(clippy::box_collection)]
    pub(crate) fn take_lingering(&mut self) -> Option<Box<Vec<tokio::task::JoinHandle<()>>>> {
        self.lingering.take()
    }

    /// Reports every state to `observer` (a future's slot).
    pub(crate) fn observed_by(mut self, observer: Option<Arc<dyn StateObserver>>) -> Self {
        self.observer = observer;
        self
    }

    /// Makes each Running state durable before the body runs: for a run a
    /// worker claimed, whose start must survive the worker's death (its
    /// retries are counted from it).
    pub(crate) fn durable_start(mut self, durable: bool) -> Self {
        self.durable_start = durable;
        self
    }

    /// Ends the run Cancelled when `token` fires.
    pub(crate) fn cancelled_by(mut self, token: Option<CancellationToken>) -> Self {
        self.cancel = token;
        self
    }

    /// For a flow run: waits for the runs it submitted after each attempt.
    pub(crate) fn owning(mut self, runtime: Arc<FlowRuntime>) -> Self {
        self.owned = Some(runtime);
        self
    }

    /// The token that cancels the run, if it has one.
    pub(crate) fn cancel_token(&self) -> Option<CancellationToken> {
        self.cancel.clone()
    }

    /// Ends a run cancelled before its first attempt.
    pub(crate) fn cancelled_before_start<T>(&mut self) -> State<T> {
        self.finish(State::cancelled(format!("{} was cancelled", self.kind())))
    }

    /// The run's tags.
    pub(crate) fn tags(&self) -> Arc<[String]> {
        match &self.context {
            RunContext::Task(t) => t.record.tags.clone(),
            RunContext::Flow(f) => f.record.tags.clone(),
        }
    }

    /// Ends the run Pending, named NotReady: an upstream did not complete.
    pub(crate) fn not_ready<T>(&mut self, message: String) -> State<T> {
        let meta = self.set_state(
            StateMeta::unstamped(StateType::Pending).named(names::NOT_READY).with_message(message),
        );
        self.ended = true;
        tracing::info!("Finished in state {meta}");
        State::from_meta(meta).for_run(self.run)
    }

    /// Stamps `meta`, records it and returns it.
    pub(crate) fn set_state(&mut self, mut meta: StateMeta) -> StateMeta {
        meta.timestamp = self.clock.stamp();
        self.last_state = meta.state_type;
        if let Some(observer) = &self.observer {
            observer.observe(&meta);
        }
        self.recorder.record(Event::StateChanged(StateChange {
            run: self.run,
            state: meta.clone(),
            run_count: self.run_count.load(Ordering::Relaxed),
        }));
        meta
    }

    /// Records where the run's value is kept: written by it, or read from
    /// there by a cache hit (`from_cache`).
    pub(crate) fn record_result(&self, stored: StoredAt, from_cache: bool) {
        let flow_run_id = match &self.context {
            RunContext::Task(task) => task.flow_run_id(),
            RunContext::Flow(flow) => Some(flow.id()),
        };
        self.recorder.record(Event::ResultStored(Arc::new(ResultReference {
            run: self.run,
            flow_run_id,
            location: stored.location,
            cache_key: stored.cache_key.map(|key| key.to_string()),
            from_cache,
            timestamp: crate::clock::now(),
        })));
    }

    /// Runs attempts until the run reaches a final state; `persist` sees a
    /// Completed state before it is recorded (so hooks can read the record).
    pub(crate) async fn drive<T: Send + 'static>(
        &mut self,
        attempts: &mut dyn Attempts<T>,
        persist: Option<Persist<'_, T>>,
    ) -> State<T> {
        let mut retries_used = 0u32;
        loop {
            let count = self.run_count.fetch_add(1, Ordering::Relaxed) + 1;
            let running = StateMeta::unstamped(StateType::Running);
            let running = if count > 1 { running.named(names::RETRYING) } else { running };
            let running = self.set_state(running);
            if self.durable_start {
                self.recorder.flush().await;
            }
            self.run_hooks(&self.opts.hooks.on_running, &running, None);

            let is_last = retries_used >= self.retries;
            let Some(attempt) = attempts.next(is_last) else {
                return self.finish(State::failed("the call's arguments were already used"));
            };
            let blocking = attempts.is_blocking();
            let outcome = match self.attempt(attempt, blocking).await {
                Attempted::Done(outcome, lingering) => {
                    if let Some(body) = lingering {
                        self.lingering.get_or_insert_with(Box::default).push(tokio::spawn(body));
                    }
                    outcome
                }
                Attempted::Cancelled => return self.cancelled().await,
            };
            if let Some(runtime) = &self.owned {
                runtime.wait_idle().await;
            }
            let (state, retryable, retry_now) = match outcome.verdict() {
                Verdict::Final(state) => {
                    // The state waits for the write inside the box: held
                    // across an await here, it would widen every run's future.
                    let state = match persist.and_then(|persist| persist(&state)) {
                        Some(write) => {
                            let (state, stored) = Box::pin(async move {
                                let stored = write.await;
                                (state, stored)
                            })
                            .await;
                            if let Some(stored) = stored {
                                self.record_result(stored, false);
                            }
                            state
                        }
                        None => state,
                    };
                    return self.finish(state);
                }
                Verdict::Failed { state, retryable, retry_now } => (state, retryable, retry_now),
            };
            if !retryable || retries_used >= self.retries || !self.retry_allowed(&state) {
                if retryable && self.retries > 0 && retries_used >= self.retries {
                    tracing::error!("{} failed: {} - Retries are exhausted", self.kind(), reason(&state));
                }
                return self.finish(state);
            }
            if !attempts.can_retry() {
                let message = format!(
                    "{} - cannot retry: the arguments of `{}` are not Clone",
                    reason(&state),
                    self.opts.name
                );
                return self.finish(State::failed(message));
            }
            retries_used += 1;
            let message = state.message().map(str::to_string);
            let token = self.cancel.clone().unwrap_or_default();
            tokio::select! {
                biased;
                () = token.cancelled() => return self.cancelled().await,
                () = Box::pin(self.await_retry(message, reason(&state), retries_used, retry_now)) => {}
            }
        }
    }

    /// Records Cancelling (flows: and waits for their submitted runs to
    /// end Cancelled), then Cancelled.
    async fn cancelled<T>(&mut self) -> State<T> {
        if let Some(runtime) = self.owned.clone() {
            self.set_state(StateMeta::unstamped(StateType::Cancelling));
            runtime.wait_idle().await;
        }
        self.finish(State::cancelled(format!("{} was cancelled", self.kind())))
    }

    fn kind(&self) -> &'static str {
        match self.run {
            RunId::Task(_) => "Task run",
            RunId::Flow(_) => "Flow run",
        }
    }

    /// Runs one attempt under the timeout and the cancellation token,
    /// catching panics.
    async fn attempt<T: Send + 'static>(
        &self,
        attempt: BoxFuture<'static, Outcome<T>>,
        blocking: bool,
    ) -> Attempted<T> {
        let run = async {
            match self.opts.timeout {
                None => (caught(AssertUnwindSafe(attempt).catch_unwind().await), None),
                // Boxed: the timer is large and most tasks have no timeout,
                // so it should not widen every run's future.
                Some(limit) => Box::pin(self.timed(attempt, limit, blocking)).await,
            }
        };
        match &self.cancel {
            None => {
                let (outcome, lingering) = run.await;
                Attempted::Done(outcome, lingering)
            }
            Some(token) => tokio::select! {
                biased;
                () = token.cancelled() => Attempted::Cancelled,
                (outcome, lingering) = run => Attempted::Done(outcome, lingering),
            },
        }
    }

    /// An attempt under `limit`. An async body is watched for polls that
    /// block its thread longer than the limit (a timeout cannot stop them);
    /// a sync body that overruns goes on on its thread, and is handed back to
    /// be waited for.
    async fn timed<T: Send + 'static>(
        &self,
        attempt: BoxFuture<'static, Outcome<T>>,
        limit: Duration,
        blocking: bool,
    ) -> (Outcome<T>, Option<BoxFuture<'static, ()>>) {
        let attempt = if blocking {
            attempt
        } else {
            Box::pin(WatchPolls::new(attempt, limit, self.opts.name.clone(), self.kind()))
        };
        let mut guarded = AssertUnwindSafe(attempt).catch_unwind();
        tokio::select! {
            biased;
            result = &mut guarded => (caught(result), None),
            () = tokio::time::sleep(limit) => {
                let lingering = blocking.then(|| {
                    tracing::warn!(
                        "The sync body of '{}' is still running on its thread after the timeout; its result will be discarded, and its tag concurrency slots stay held until it returns",
                        self.opts.name
                    );
                    let body: BoxFuture<'static, ()> = Box::pin(async move {
                        let _ = guarded.await;
                    });
                    body
                });
                (Outcome::State(self.timed_out(limit)), lingering)
            }
        }
    }

    fn timed_out<T>(&self, limit: Duration) -> State<T> {
        State::failed(format!("{} exceeded timeout of {}", self.kind(), humantime::format_duration(limit)))
            .named(names::TIMED_OUT)
    }

    /// Logs the failure, records AwaitingRetry and sleeps out the delay.
    async fn await_retry(&mut self, message: Option<String>, reason: String, retry: u32, now: bool) {
        let base = if now { Duration::ZERO } else { self.retry_delay.delay_for(retry - 1) };
        let delay = jittered(base, self.opts.retry_jitter);
        tracing::info!(
            "{} failed: {} - Retry {retry}/{} will start {} from now",
            self.kind(),
            reason,
            self.retries,
            humantime::format_duration(Duration::from_millis(delay.as_millis() as u64))
        );
        if delay.is_zero() {
            return;
        }
        let mut awaiting = StateMeta::unstamped(StateType::Scheduled).named(names::AWAITING_RETRY);
        awaiting.message = message;
        awaiting.scheduled_time = TimeDelta::from_std(delay).ok().map(|d| Utc::now() + d);
        self.set_state(awaiting);
        tokio::time::sleep(delay).await;
    }

    fn retry_allowed<T>(&self, failed: &State<T>) -> bool {
        let Some(condition) = self.opts.retry_condition.clone() else {
            return true;
        };
        let ctx = self.hook_context(failed.meta().clone(), failed.error_arc());
        match catch_unwind(AssertUnwindSafe(|| condition(&ctx))) {
            Ok(allowed) => allowed,
            Err(payload) => {
                tracing::error!("retry condition panicked ({}); not retrying", panic_message(payload));
                false
            }
        }
    }

    /// Records the final state, logs it and runs the matching hooks.
    ///
    /// The state the body ended in is the run's last state, even one that is
    /// not final (a returned Paused, Cancelling or Pending): nothing is
    /// appended after it.
    pub(crate) fn finish<T>(&mut self, state: State<T>) -> State<T> {
        let error = state.error_arc();
        let (meta, value) = state.into_parts();
        let meta = self.set_state(meta);
        self.ended = true;
        match meta.state_type {
            StateType::Completed => {
                tracing::info!(name: crate::logging::progress::FINISHED_EVENT, "Finished in state {meta}")
            }
            StateType::Paused | StateType::Pending | StateType::Scheduled => {
                tracing::info!("Ended in state {meta}")
            }
            _ => tracing::error!("Finished in state {meta}"),
        }
        self.run_hooks(hooks_for(&self.opts.hooks, meta.state_type), &meta, error.clone());
        let state = State::from_meta(meta).for_run(self.run);
        match (value, error) {
            (Some(v), _) => state.with_value(v),
            (None, Some(e)) => state.with_error(e),
            (None, None) => state,
        }
    }

    /// True once a final state (or NotReady) has been recorded.
    pub(crate) fn is_finished(&self) -> bool {
        self.ended || self.last_state.is_final()
    }

    fn hook_context(
        &self,
        state: StateMeta,
        error: Option<Arc<dyn std::error::Error + Send + Sync>>,
    ) -> HookContext {
        HookContext {
            run: self.context.clone(),
            state,
            error,
            transaction: crate::transaction::current_key(),
        }
    }

    fn run_hooks(
        &self,
        hooks: &[HookFn],
        state: &StateMeta,
        error: Option<Arc<dyn std::error::Error + Send + Sync>>,
    ) {
        if hooks.is_empty() {
            return;
        }
        let ctx = self.hook_context(state.clone(), error);
        run_hooks(hooks, &ctx);
    }
}

/// The hooks a state triggers.
fn hooks_for(hooks: &Hooks, state_type: StateType) -> &[HookFn] {
    match state_type {
        StateType::Completed => &hooks.on_completion,
        StateType::Failed => &hooks.on_failure,
        StateType::Cancelled | StateType::Cancelling => &hooks.on_cancellation,
        StateType::Crashed => &hooks.on_crashed,
        _ => &[],
    }
}

/// Runs `hooks` in order, each logged by name; one that fails or panics is
/// logged and changes nothing.
pub(crate) fn run_hooks(hooks: &[HookFn], ctx: &HookContext) {
    for hook in hooks {
        let state = &ctx.state().name;
        tracing::info!("Running hook '{}' in response to entering state '{state}'", hook.name());
        match catch_unwind(AssertUnwindSafe(|| hook.call(ctx))) {
            Ok(Ok(())) => tracing::info!("Hook '{}' finished running successfully", hook.name()),
            Ok(Err(e)) => tracing::error!("Hook '{}' for state {state} failed: {e}", hook.name()),
            Err(payload) => {
                tracing::error!(
                    "Hook '{}' for state {state} panicked: {}",
                    hook.name(),
                    panic_message(payload)
                )
            }
        }
    }
}

impl Drop for RunLoop<'_> {
    /// A run whose future is dropped before it finishes ends Cancelled when
    /// its flow was cancelled, and Crashed otherwise (it was interrupted);
    /// the matching hooks run.
    ///
    /// A flow run also stops the runs it started: they are cancelled, and
    /// its own final state is recorded once they have ended, so that no run
    /// of a flow finishes after the flow.
    fn drop(&mut self) {
        if self.is_finished() || std::thread::panicking() {
            return;
        }
        let state: State<()> =
            if self.cancel.as_ref().is_some_and(CancellationToken::is_cancelled) {
                State::cancelled(format!("{} was cancelled", self.kind()))
            } else {
                State::from_meta(StateMeta::unstamped(StateType::Crashed).with_message(
                    "Execution was interrupted: the run's future was dropped before it finished",
                ))
            };
        if let Some(runtime) = self.owned.clone() {
            runtime.cancel.cancel();
            if runtime.in_flight() > 0
                && let Ok(handle) = tokio::runtime::Handle::try_current()
            {
                let ending = self.ending();
                self.ended = true;
                handle.spawn(async move {
                    runtime.wait_idle().await;
                    ending.finish(state);
                });
                return;
            }
        }
        self.finish(state);
    }
}

impl RunLoop<'_> {
    /// What finishing this run needs once its future is gone.
    fn ending(&mut self) -> Ending {
        Ending {
            run: self.run,
            context: self.context.clone(),
            run_count: self.run_count.clone(),
            recorder: self.recorder.clone(),
            clock: std::mem::take(&mut self.clock),
            observer: self.observer.take(),
            hooks: self.opts.hooks.clone(),
        }
    }
}

/// A flow run whose future was dropped, finishing after its runs ended.
struct Ending {
    run: RunId,
    context: RunContext,
    run_count: Arc<AtomicU32>,
    recorder: Arc<dyn Recorder>,
    clock: StateClock,
    observer: Option<Arc<dyn StateObserver>>,
    hooks: Hooks,
}

impl Ending {
    /// Records `state` as the run's last, logs it in the run's scope and
    /// runs its hooks.
    fn finish(mut self, state: State<()>) {
        let mut meta = state.meta().clone();
        meta.timestamp = self.clock.stamp();
        if let Some(observer) = &self.observer {
            observer.observe(&meta);
        }
        self.recorder.record(Event::StateChanged(StateChange {
            run: self.run,
            state: meta.clone(),
            run_count: self.run_count.load(Ordering::Relaxed),
        }));
        let scope = match &self.context {
            RunContext::Flow(flow) => Some(Scope::for_flow(flow.clone(), self.recorder.clone())),
            RunContext::Task(_) => None,
        };
        let hooks = hooks_for(&self.hooks, meta.state_type);
        let ctx = HookContext {
            run: self.context.clone(),
            state: meta.clone(),
            error: None,
            transaction: crate::transaction::current_key(),
        };
        let report = || {
            tracing::error!("Finished in state {meta}");
            run_hooks(hooks, &ctx);
        };
        match scope {
            Some(scope) => scope.enter_sync(report),
            None => report(),
        }
    }
}

/// A caught attempt: its outcome, or its panic as a failure.
fn caught<T>(result: std::thread::Result<Outcome<T>>) -> Outcome<T> {
    result.unwrap_or_else(|payload| Outcome::Panic(panic_message(payload)))
}

/// An async body's attempt, watched for single polls that block the thread
/// longer than the run's timeout (`std::thread::sleep`, blocking I/O): the
/// timeout cannot interrupt them, so the first one is a warning that names
/// the task, and a body that finishes in such a poll still ends TimedOut
/// (its time ran out before it was done).
struct WatchPolls<T> {
    inner: BoxFuture<'static, Outcome<T>>,
    limit: Duration,
    name: std::borrow::Cow<'static, str>,
    kind: &'static str,
    warned: bool,
}

impl<T> WatchPolls<T> {
    fn new(
        inner: BoxFuture<'static, Outcome<T>>,
        limit: Duration,
        name: std::borrow::Cow<'static, str>,
        kind: &'static str,
    ) -> Self {
        WatchPolls { inner, limit, name, kind, warned: false }
    }
}

impl<T> std::future::Future for WatchPolls<T> {
    type Output = Outcome<T>;

    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Outcome<T>> {
        let start = std::time::Instant::now();
        let polled = self.inner.as_mut().poll(cx);
        let took = start.elapsed();
        if took <= self.limit {
            return polled;
        }
        if !self.warned {
            self.warned = true;
            tracing::warn!(
                "The async body of '{}' blocked its thread for {} in one poll, longer than its timeout of {}: a timeout cannot stop blocking code in an async body; make it a sync #[task] (a plain `fn`), which runs on the blocking pool",
                self.name,
                humantime::format_duration(Duration::from_millis(took.as_millis() as u64)),
                humantime::format_duration(self.limit)
            );
        }
        match polled {
            std::task::Poll::Ready(_) => std::task::Poll::Ready(Outcome::State(
                State::failed(format!(
                    "{} exceeded timeout of {} while blocking its thread",
                    self.kind,
                    humantime::format_duration(self.limit)
                ))
                .named(names::TIMED_OUT),
            )),
            pending => pending,
        }
    }
}

fn reason<T>(state: &State<T>) -> String {
    state.message().unwrap_or(state.name()).to_string()
}
