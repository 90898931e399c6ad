//! Run states: a typed [`StateType`] that drives the machine, a free-form
//! name that describes it ("Cached", "TimedOut", ...), a message, a timestamp
//! and, for [`State<T>`], the run's value or error.
//!
//! [`StateType`], [`StateMeta`] and [`names`] come from `prefect-model`,
//! which the run database and the CLI share; [`State<T>`] adds the payload.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::error::{BoxError, Error, RunFailure};
use crate::ids::RunId;
pub use prefect_model::state::{StateMeta, StateType, names};

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
/// Prefect's rule:
///
/// - an empty collection is plain data: Completed, with no group message;
/// - all Completed gives Completed "All states completed.", with every value;
/// - else any Cancelled gives Cancelled "k/n states cancelled.";
/// - else any Paused gives Paused "k/n states paused.";
/// - else any Failed or Crashed gives Failed "k/n states failed." (k counts
///   Failed and Crashed only), whose error is the first failed member's own
///   error, so callers can downcast to it;
/// - else (members that are not final: Pending, Running, Scheduled) Failed
///   "k/n states are not final.".
pub fn aggregate<T>(states: Vec<State<T>>) -> State<Vec<T>> {
    let total = states.len();
    if total == 0 {
        return State::from_meta(StateMeta::new(StateType::Completed)).with_value(Vec::new());
    }
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
    let paused = count(StateType::Paused);
    if paused > 0 {
        return State::from_meta(
            StateMeta::new(StateType::Paused).with_message(format!("{paused}/{total} states paused.")),
        );
    }
    let failed = count(StateType::Failed) + count(StateType::Crashed);
    if failed == 0 {
        return State::failed(format!("{not_completed}/{total} states are not final."));
    }
    let first_error = states
        .iter()
        .filter(|s| matches!(s.state_type(), StateType::Failed | StateType::Crashed))
        .find_map(State::error_arc);
    let state = State::failed(format!("{failed}/{total} states failed."));
    match first_error {
        Some(error) => state.with_error(error),
        None => state,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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

        let empty = aggregate(Vec::<State<i32>>::new());
        assert_eq!((empty.is_completed(), empty.message(), empty.value()), (true, None, Some(&vec![])));

        let pending = State::<i32>::from_meta(StateMeta::new(StateType::Pending));
        let not_final = aggregate(vec![State::completed(1), pending.clone()]);
        assert_eq!(not_final.message(), Some("1/2 states are not final."));

        // Crashed counts as failed; Pending does not.
        let crashed = State::<i32>::from_meta(StateMeta::new(StateType::Crashed));
        let mixed = aggregate(vec![crashed, pending, State::failed_with(std::io::Error::other("disk"))]);
        assert_eq!(mixed.message(), Some("2/3 states failed."));
        let error = mixed.error().unwrap();
        assert_eq!(error.downcast_ref::<std::io::Error>().map(ToString::to_string), Some("disk".into()));
    }
}
