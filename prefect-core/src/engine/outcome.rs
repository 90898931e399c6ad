//! What one attempt of a body produced, and how the engine reads it.

use std::any::Any;
use std::sync::Arc;

use crate::error::{BoxError, Error};
use crate::signal::Signal;
use crate::state::{State, StateMeta, StateType, aggregate, names};

/// The result of one attempt of a task or flow body.
#[derive(Debug)]
pub enum Outcome<T> {
    /// The body returned a value.
    Value(T),
    /// The body returned an error (possibly a [`Signal`]).
    Error(BoxError),
    /// The body returned a state to end in.
    State(State<T>),
    /// The body panicked.
    Panic(String),
}

/// What the run loop does with an outcome.
pub(crate) enum Verdict<T> {
    /// The run ends in this state; no retry.
    Final(State<T>),
    /// The attempt failed.
    Failed {
        state: State<T>,
        /// May a retry follow?
        retryable: bool,
        /// Retry without the delay.
        retry_now: bool,
    },
}

impl<T> Outcome<T> {
    pub(crate) fn verdict(self) -> Verdict<T> {
        match self {
            Outcome::Value(v) => {
                Verdict::Final(State::from_meta(StateMeta::unstamped(StateType::Completed)).with_value(v))
            }
            Outcome::Panic(message) => Verdict::Failed {
                state: State::failed(format!("panicked: {message}")),
                retryable: true,
                retry_now: false,
            },
            Outcome::Error(error) => error_verdict(error),
            Outcome::State(state) if state.is_failed() => {
                Verdict::Failed { state, retryable: true, retry_now: false }
            }
            Outcome::State(state) => Verdict::Final(state),
        }
    }
}

fn error_verdict<T>(error: BoxError) -> Verdict<T> {
    let error: Arc<dyn std::error::Error + Send + Sync> = Arc::from(error);
    let failed = |message: String| State::failed(message).with_error(error.clone());
    match Signal::find(&*error) {
        Some(Signal::Skip(message)) => Verdict::Final(State::from_meta(
            StateMeta::unstamped(StateType::Completed).named(names::SKIPPED).with_message(message.clone()),
        )),
        Some(Signal::Fail(message)) => {
            Verdict::Failed { state: failed(message.clone()), retryable: false, retry_now: false }
        }
        Some(Signal::Retry(message)) => {
            Verdict::Failed { state: failed(message.clone()), retryable: true, retry_now: true }
        }
        None if is_elapsed(&*error) => Verdict::Failed {
            state: failed(failure_message(&*error)).named(names::TIMED_OUT),
            retryable: true,
            retry_now: false,
        },
        None => {
            Verdict::Failed { state: failed(failure_message(&*error)), retryable: true, retry_now: false }
        }
    }
}

/// Whether the body failed because a timeout of its own elapsed (tokio's
/// `Elapsed`, anywhere in the source chain): the run then ends TimedOut,
/// as when the run's own timeout fires.
fn is_elapsed(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut current = Some(error);
    while let Some(err) = current {
        if err.is::<tokio::time::error::Elapsed>() {
            return true;
        }
        current = err.source();
    }
    false
}

/// The state message for a body error. An error that is itself a failed
/// run (a task's failure propagated with `?`) contributes that run's
/// message, so a flow reads `Failed('bad row')`, not a nested description.
fn failure_message(error: &(dyn std::error::Error + 'static)) -> String {
    match error.downcast_ref::<Error>().and_then(Error::state) {
        Some(state) => state.message.clone().unwrap_or_else(|| state.to_string()),
        None => error.to_string(),
    }
}

/// Reads a panic payload as text.
pub(crate) fn panic_message(payload: Box<dyn Any + Send>) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "a panic with a non-string payload".to_string()
    }
}

/// A body that returned a plain value.
pub fn from_value<T>(value: T) -> Outcome<T> {
    Outcome::Value(value)
}

/// A body that returned a `Result`.
pub fn from_result<T, E: Into<BoxError>>(result: Result<T, E>) -> Outcome<T> {
    match result {
        Ok(v) => Outcome::Value(v),
        Err(e) => Outcome::Error(e.into()),
    }
}

/// A body that returned a `State`.
pub fn from_state<T>(state: State<T>) -> Outcome<T> {
    Outcome::State(state)
}

/// A body that returned a collection of states: the final state follows
/// [`aggregate`].
pub fn from_states<T>(states: Vec<State<T>>) -> Outcome<Vec<T>> {
    Outcome::State(aggregate(states))
}
