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
use super::outcome::{Outcome, Verdict, panic_message};
use crate::futures::slot::StateObserver;
use crate::hooks::{HookContext, HookFn, RunContext};
use crate::ids::RunId;
use crate::options::RunOptions;
use crate::record::{Event, Recorder, StateChange};
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
        let mut now = Utc::now();
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
/// and gives the write to wait for.
pub(crate) type Persist<'a, T> = &'a (dyn Fn(&State<T>) -> Option<BoxFuture<'static, ()>> + Sync);

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
    observer: Option<Arc<dyn StateObserver>>,
    cancel: Option<CancellationToken>,
    owned: Option<Arc<FlowRuntime>>,
}

/// How one attempt ended.
enum Attempted<T> {
    Done(Outcome<T>),
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
            observer: None,
            cancel: None,
            owned: None,
        }
    }

    /// Reports every state to `observer` (a future's slot).
    pub(crate) fn observed_by(mut self, observer: Option<Arc<dyn StateObserver>>) -> Self {
        self.observer = observer;
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

    /// Runs attempts until the run reaches a final state; `persist` sees a
    /// Completed state before it is recorded (so hooks can read the record).
    pub(crate) async fn drive<T>(
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
            self.run_hooks(&self.opts.hooks.on_running, &running, None);

            let is_last = retries_used >= self.retries;
            let Some(attempt) = attempts.next(is_last) else {
                return self.finish(State::failed("the call's arguments were already used"));
            };
            let blocking = attempts.is_blocking();
            let outcome = match self.attempt(attempt, blocking).await {
                Attempted::Done(outcome) => outcome,
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
                            Box::pin(async move {
                                write.await;
                                state
                            })
                            .await
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
    async fn attempt<T>(&self, attempt: BoxFuture<'static, Outcome<T>>, blocking: bool) -> Attempted<T> {
        let run = async {
            let guarded = AssertUnwindSafe(attempt).catch_unwind();
            let result = match self.opts.timeout {
                None => guarded.await,
                // Boxed: the timer is large and most tasks have no timeout,
                // so it should not widen every run's future.
                Some(limit) => match Box::pin(tokio::time::timeout(limit, guarded)).await {
                    Ok(result) => result,
                    Err(_) => {
                        if blocking {
                            tracing::warn!(
                                "The sync body of '{}' is still running on its thread after the timeout; its result will be discarded",
                                self.opts.name
                            );
                        }
                        return Outcome::State(self.timed_out(limit));
                    }
                },
            };
            result.unwrap_or_else(|payload| Outcome::Panic(panic_message(payload)))
        };
        match &self.cancel {
            None => Attempted::Done(run.await),
            Some(token) => tokio::select! {
                biased;
                () = token.cancelled() => Attempted::Cancelled,
                outcome = run => Attempted::Done(outcome),
            },
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
    pub(crate) fn finish<T>(&mut self, state: State<T>) -> State<T> {
        let error = state.error_arc();
        let (meta, value) = state.into_parts();
        let meta = self.set_state(meta);
        if matches!(meta.state_type, StateType::Completed) {
            tracing::info!("Finished in state {meta}");
        } else {
            tracing::error!("Finished in state {meta}");
        }
        let hooks = match meta.state_type {
            StateType::Completed => &self.opts.hooks.on_completion[..],
            StateType::Failed => &self.opts.hooks.on_failure,
            StateType::Cancelled => &self.opts.hooks.on_cancellation,
            StateType::Crashed => &self.opts.hooks.on_crashed,
            _ => &[][..],
        };
        self.run_hooks(hooks, &meta, error.clone());
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
        HookContext { run: self.context.clone(), state, error }
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
        for hook in hooks {
            match catch_unwind(AssertUnwindSafe(|| hook(&ctx))) {
                Ok(Ok(())) => {}
                Ok(Err(e)) => tracing::error!("A hook for state {} failed: {e}", state.name),
                Err(payload) => {
                    tracing::error!("A hook for state {} panicked: {}", state.name, panic_message(payload))
                }
            }
        }
    }
}

impl Drop for RunLoop<'_> {
    /// A run whose future is dropped before it finishes ends Cancelled when
    /// its flow was cancelled, and Crashed otherwise (it was interrupted);
    /// the matching hooks run.
    fn drop(&mut self) {
        if self.is_finished() || std::thread::panicking() {
            return;
        }
        if self.cancel.as_ref().is_some_and(CancellationToken::is_cancelled) {
            self.finish::<()>(State::cancelled(format!("{} was cancelled", self.kind())));
            return;
        }
        let crashed = StateMeta::unstamped(StateType::Crashed)
            .with_message("Execution was interrupted: the run's future was dropped before it finished");
        self.finish::<()>(State::from_meta(crashed));
    }
}

fn reason<T>(state: &State<T>) -> String {
    state.message().unwrap_or(state.name()).to_string()
}
