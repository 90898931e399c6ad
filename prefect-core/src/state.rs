//! Run states: a typed [`StateType`] that drives the machine, a free-form
//! name that describes it ("Cached", "TimedOut", ...), a message, a timestamp
//! and, for [`State<T>`], the run's value or error.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::{BoxError, Error, RunFailure};
use crate::ids::RunId;

/// The kind of a state. Types drive orchestration; names are descriptive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum StateType {
    /// Waiting for a time in the future (also `AwaitingRetry`, `Late`).
    Scheduled,
    /// Created, preconditions not yet met (also `NotReady`).
    Pending,
    /// The body is executing (also `Retrying`).
    Running,
    /// Waiting to be resumed.
    Paused,
    /// Finished successfully (also `Cached`, `Skipped`).
    Completed,
    /// Finished with an error (also `TimedOut`).
    Failed,
    /// The run was interrupted by something outside its code.
    Crashed,
    /// A cancellation was requested and is being carried out.
    Cancelling,
    /// The run was cancelled.
    Cancelled,
}

impl StateType {
    /// Every state type, in lifecycle order.
    pub const ALL: [StateType; 9] = [
        StateType::Scheduled,
        StateType::Pending,
        StateType::Running,
        StateType::Paused,
        StateType::Completed,
        StateType::Failed,
        StateType::Crashed,
        StateType::Cancelling,
        StateType::Cancelled,
    ];

    /// Whether a run in this state has ended for good.
    pub fn is_final(self) -> bool {
        matches!(self, StateType::Completed | StateType::Failed | StateType::Crashed | StateType::Cancelled)
    }

    /// The default state name for this type, e.g. `"Completed"`.
    pub fn default_name(self) -> &'static str {
        match self {
            StateType::Scheduled => "Scheduled",
            StateType::Pending => "Pending",
            StateType::Running => "Running",
            StateType::Paused => "Paused",
            StateType::Completed => "Completed",
            StateType::Failed => "Failed",
            StateType::Crashed => "Crashed",
            StateType::Cancelling => "Cancelling",
            StateType::Cancelled => "Cancelled",
        }
    }

    /// The upper-case wire form, e.g. `"COMPLETED"`.
    pub fn as_str(self) -> &'static str {
        match self {
            StateType::Scheduled => "SCHEDULED",
            StateType::Pending => "PENDING",
            StateType::Running => "RUNNING",
            StateType::Paused => "PAUSED",
            StateType::Completed => "COMPLETED",
            StateType::Failed => "FAILED",
            StateType::Crashed => "CRASHED",
            StateType::Cancelling => "CANCELLING",
            StateType::Cancelled => "CANCELLED",
        }
    }
}

impl fmt::Display for StateType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for StateType {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        StateType::ALL
            .into_iter()
            .find(|t| t.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| Error::InvalidOption {
                option: "state type",
                reason: format!(
                    "unknown state type `{s}`; expected one of scheduled, pending, running, paused, completed, failed, crashed, cancelling, cancelled"
                ),
            })
    }
}

/// Well-known state names beyond the type names.
pub mod names {
    /// A failed attempt waiting out its retry delay (type Scheduled).
    pub const AWAITING_RETRY: &str = "AwaitingRetry";
    /// A retry attempt executing (type Running).
    pub const RETRYING: &str = "Retrying";
    /// An attempt that exceeded its timeout (type Failed).
    pub const TIMED_OUT: &str = "TimedOut";
    /// An upstream dependency did not complete (type Pending).
    pub const NOT_READY: &str = "NotReady";
    /// A result served from the cache (type Completed).
    pub const CACHED: &str = "Cached";
    /// The body chose to skip itself (type Completed).
    pub const SKIPPED: &str = "Skipped";
    /// A scheduled run that did not start on time (type Scheduled).
    pub const LATE: &str = "Late";
    /// Waiting for a concurrency slot (type Pending).
    pub const AWAITING_CONCURRENCY_SLOT: &str = "AwaitingConcurrencySlot";
}

/// A state without its payload: what the run history records.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StateMeta {
    /// The state's type.
    #[serde(rename = "type")]
    pub state_type: StateType,
    /// The state's name, e.g. `"Retrying"`.
    pub name: Cow<'static, str>,
    /// A human-readable message.
    pub message: Option<String>,
    /// When the run entered the state (strictly increasing within a run).
    pub timestamp: DateTime<Utc>,
    /// For Scheduled states: when the run is due.
    pub scheduled_time: Option<DateTime<Utc>>,
}

impl StateMeta {
    /// A state of `state_type` with its default name, stamped now.
    pub fn new(state_type: StateType) -> Self {
        StateMeta {
            state_type,
            name: Cow::Borrowed(state_type.default_name()),
            message: None,
            timestamp: Utc::now(),
            scheduled_time: None,
        }
    }

    /// A state the engine is about to record: the run's clock stamps it
    /// then, so reading the wall clock here would be wasted.
    pub(crate) fn unstamped(state_type: StateType) -> Self {
        StateMeta {
            state_type,
            name: Cow::Borrowed(state_type.default_name()),
            message: None,
            timestamp: DateTime::UNIX_EPOCH,
            scheduled_time: None,
        }
    }

    /// Sets the name.
    pub fn named(mut self, name: impl Into<Cow<'static, str>>) -> Self {
        self.name = name.into();
        self
    }

    /// Sets the message.
    pub fn with_message(mut self, message: impl Into<String>) -> Self {
        self.message = Some(message.into());
        self
    }

    /// Whether the run has ended for good in this state.
    pub fn is_final(&self) -> bool {
        self.state_type.is_final()
    }
}

impl fmt::Display for StateMeta {
    /// Prefect's short form: `Completed()`, `Failed('boom')`,
    /// `Cached(type=COMPLETED)`, `TimedOut('...', type=FAILED)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)?;
        f.write_str("(")?;
        if let Some(message) = &self.message {
            write!(f, "'{message}'")?;
        }
        if self.name != self.state_type.default_name() {
            if self.message.is_some() {
                f.write_str(", ")?;
            }
            write!(f, "type={}", self.state_type)?;
        }
        f.write_str(")")
    }
}

/// The typed final (or current) state of a run: the [`StateMeta`] plus the
/// value of a completed run or the error of a failed one.
pub struct State<T> {
    meta: StateMeta,
    run: Option<RunId>,
    payload: Payload<T>,
}

enum Payload<T> {
    None,
    Value(T),
    Error(Arc<dyn std::error::Error + Send + Sync>),
}

impl<T> State<T> {
    /// A Completed state holding `value`.
    pub fn completed(value: T) -> Self {
        State::from_meta(StateMeta::new(StateType::Completed)).with_payload(Payload::Value(value))
    }

    /// A Failed state with `message`.
    pub fn failed(message: impl Into<String>) -> Self {
        State::from_meta(StateMeta::new(StateType::Failed).with_message(message))
    }

    /// A Failed state caused by `error` (its text becomes the message).
    pub fn failed_with(error: impl Into<BoxError>) -> Self {
        let error: BoxError = error.into();
        State::from_meta(StateMeta::new(StateType::Failed).with_message(error.to_string()))
            .with_payload(Payload::Error(Arc::from(error)))
    }

    /// A Cancelled state with `message`.
    pub fn cancelled(message: impl Into<String>) -> Self {
        State::from_meta(StateMeta::new(StateType::Cancelled).with_message(message))
    }

    /// A state of any type with no payload.
    pub fn from_meta(meta: StateMeta) -> Self {
        State { meta, run: None, payload: Payload::None }
    }

    fn with_payload(mut self, payload: Payload<T>) -> Self {
        self.payload = payload;
        self
    }

    pub(crate) fn with_error(self, error: Arc<dyn std::error::Error + Send + Sync>) -> Self {
        self.with_payload(Payload::Error(error))
    }

    pub(crate) fn with_value(self, value: T) -> Self {
        self.with_payload(Payload::Value(value))
    }

    pub(crate) fn for_run(mut self, run: RunId) -> Self {
        self.run = Some(run);
        self
    }

    /// Sets the state's name (e.g. `"Skipped"`).
    pub fn named(mut self, name: impl Into<Cow<'static, str>>) -> Self {
        self.meta.name = name.into();
        self
    }

    /// Sets the state's message.
    pub fn with_message(mut self, message: impl Into<String>) -> Self {
        self.meta.message = Some(message.into());
        self
    }

    /// The state without its payload.
    pub fn meta(&self) -> &StateMeta {
        &self.meta
    }

    /// The run this state belongs to, once the engine has set it.
    pub fn run_id(&self) -> Option<RunId> {
        self.run
    }

    /// The state's type.
    pub fn state_type(&self) -> StateType {
        self.meta.state_type
    }

    /// The state's name.
    pub fn name(&self) -> &str {
        &self.meta.name
    }

    /// The state's message, if any.
    pub fn message(&self) -> Option<&str> {
        self.meta.message.as_deref()
    }

    /// When the run entered this state.
    pub fn timestamp(&self) -> DateTime<Utc> {
        self.meta.timestamp
    }

    /// True for Completed states (including Cached and Skipped).
    pub fn is_completed(&self) -> bool {
        self.meta.state_type == StateType::Completed
    }

    /// True for Failed states (including TimedOut).
    pub fn is_failed(&self) -> bool {
        self.meta.state_type == StateType::Failed
    }

    /// True for Crashed states.
    pub fn is_crashed(&self) -> bool {
        self.meta.state_type == StateType::Crashed
    }

    /// True for Cancelled states.
    pub fn is_cancelled(&self) -> bool {
        self.meta.state_type == StateType::Cancelled
    }

    /// True for Pending states (including NotReady).
    pub fn is_pending(&self) -> bool {
        self.meta.state_type == StateType::Pending
    }

    /// True for Paused states.
    pub fn is_paused(&self) -> bool {
        self.meta.state_type == StateType::Paused
    }

    /// True once the run has ended for good.
    pub fn is_final(&self) -> bool {
        self.meta.is_final()
    }

    /// The value of a Completed state.
    pub fn value(&self) -> Option<&T> {
        match &self.payload {
            Payload::Value(v) => Some(v),
            _ => None,
        }
    }

    /// The error that caused a Failed (or Crashed) state, if there was one.
    pub fn error(&self) -> Option<&(dyn std::error::Error + Send + Sync + 'static)> {
        match &self.payload {
            Payload::Error(e) => Some(&**e),
            _ => None,
        }
    }

    pub(crate) fn error_arc(&self) -> Option<Arc<dyn std::error::Error + Send + Sync>> {
        match &self.payload {
            Payload::Error(e) => Some(Arc::clone(e)),
            _ => None,
        }
    }

    /// The value of a Completed state, or an [`Error::Run`] that says which
    /// state ended the run and keeps the body's error.
    ///
    /// # Errors
    /// Every state other than Completed-with-a-value is an error, Skipped
    /// included (a skipped run produced no value).
    pub fn into_result(self) -> Result<T, Error> {
        match self.payload {
            Payload::Value(v) if self.meta.state_type == StateType::Completed => Ok(v),
            payload => {
                let cause = match payload {
                    Payload::Error(e) => Some(e),
                    _ => None,
                };
                Err(Error::Run(Box::new(RunFailure::new(self.meta, self.run, cause))))
            }
        }
    }

    /// Maps the value of a Completed state, keeping everything else.
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> State<U> {
        let payload = match self.payload {
            Payload::None => Payload::None,
            Payload::Value(v) => Payload::Value(f(v)),
            Payload::Error(e) => Payload::Error(e),
        };
        State { meta: self.meta, run: self.run, payload }
    }

    /// Splits the state into its meta and its value, dropping any error.
    pub fn into_parts(self) -> (StateMeta, Option<T>) {
        match self.payload {
            Payload::Value(v) => (self.meta, Some(v)),
            _ => (self.meta, None),
        }
    }
}

impl<T: Clone> Clone for State<T> {
    fn clone(&self) -> Self {
        let payload = match &self.payload {
            Payload::None => Payload::None,
            Payload::Value(v) => Payload::Value(v.clone()),
            Payload::Error(e) => Payload::Error(Arc::clone(e)),
        };
        State { meta: self.meta.clone(), run: self.run, payload }
    }
}

impl<T> fmt::Display for State<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.meta.fmt(f)
    }
}

impl<T> fmt::Debug for State<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("State")
            .field("type", &self.meta.state_type)
            .field("name", &self.meta.name)
            .field("message", &self.meta.message)
            .field("timestamp", &self.meta.timestamp)
            .field("has_value", &matches!(self.payload, Payload::Value(_)))
            .finish()
    }
}

/// The final state of a flow that returned a collection of states, by
/// Prefect's rule: all Completed gives Completed; else any Cancelled gives
/// Cancelled "k/n states cancelled."; else any Paused gives Paused; else
/// Failed "k/n states failed.".
pub fn aggregate<T>(states: Vec<State<T>>) -> State<Vec<T>> {
    let total = states.len();
    let count = |t: StateType| states.iter().filter(|s| s.state_type() == t).count();
    let not_completed = states.iter().filter(|s| !s.is_completed()).count();
    if not_completed == 0 {
        let values: Vec<T> = states.into_iter().filter_map(|s| s.into_parts().1).collect();
        let all_valued = values.len() == total;
        let state =
            State::from_meta(StateMeta::new(StateType::Completed).with_message("All states completed."));
        return if all_valued { state.with_value(values) } else { state };
    }
    let cancelled = count(StateType::Cancelled);
    if cancelled > 0 {
        return State::cancelled(format!("{cancelled}/{total} states cancelled."));
    }
    if count(StateType::Paused) > 0 {
        return State::from_meta(
            StateMeta::new(StateType::Paused)
                .with_message(format!("{}/{total} states paused.", count(StateType::Paused))),
        );
    }
    State::failed(format!("{not_completed}/{total} states failed."))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_follows_prefect() {
        assert_eq!(StateMeta::new(StateType::Completed).to_string(), "Completed()");
        assert_eq!(StateMeta::new(StateType::Failed).with_message("boom").to_string(), "Failed('boom')");
        assert_eq!(
            StateMeta::new(StateType::Completed).named("Cached").to_string(),
            "Cached(type=COMPLETED)"
        );
        assert_eq!(
            StateMeta::new(StateType::Failed).named("TimedOut").with_message("late").to_string(),
            "TimedOut('late', type=FAILED)"
        );
    }

    #[test]
    fn aggregate_rule() {
        let all = aggregate(vec![State::completed(1), State::completed(2)]);
        assert!(all.is_completed());
        assert_eq!(all.value(), Some(&vec![1, 2]));

        let some_failed = aggregate(vec![State::completed(1), State::failed("x"), State::failed("y")]);
        assert!(some_failed.is_failed());
        assert_eq!(some_failed.message(), Some("2/3 states failed."));

        let cancelled = aggregate(vec![State::failed("x"), State::<i32>::cancelled("c")]);
        assert!(cancelled.is_cancelled());
        assert_eq!(cancelled.message(), Some("1/2 states cancelled."));
    }

    #[test]
    fn state_type_round_trips() {
        for t in StateType::ALL {
            assert_eq!(t.as_str().parse::<StateType>().unwrap(), t);
        }
        assert!("bogus".parse::<StateType>().is_err());
    }
}
