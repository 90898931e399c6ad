//! Run states without their payload: a typed [`StateType`] that drives the
//! machine, a free-form name that describes it ("Cached", "TimedOut", ...),
//! a message and a timestamp ([`StateMeta`]). The engine's `State<T>` adds
//! the run's value or error on top.

use std::borrow::Cow;
use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::Error;

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
            .find(|t| t.as_str().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| Error::UnknownStateType(s.to_owned()))
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
    /// A completed run whose transaction was rolled back (type Completed).
    pub const ROLLED_BACK: &str = "RolledBack";
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

    /// A state whose timestamp is set later, when it is recorded (the
    /// engine's per-run clock stamps it then, so reading the wall clock here
    /// would be wasted). Its timestamp is the Unix epoch until then.
    pub fn unstamped(state_type: StateType) -> Self {
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
    fn state_type_round_trips() {
        for t in StateType::ALL {
            assert_eq!(t.as_str().parse::<StateType>().unwrap(), t);
        }
        assert_eq!(
            "bogus".parse::<StateType>().unwrap_err().to_string(),
            "unknown state type `bogus`; expected one of scheduled, pending, running, paused, \
             completed, failed, crashed, cancelling, cancelled"
        );
    }
}
