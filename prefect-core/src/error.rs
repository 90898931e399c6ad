//! The crate's error type.
//!
//! A task or flow call that does not complete returns [`Error::Run`], which
//! says which state ended the run and keeps the body's own error, so callers
//! can downcast to it. Misuse of the SDK (reading the run context outside a
//! run, invalid options) gets its own variant with a message that says what
//! to do.

use std::error::Error as StdError;
use std::fmt;
use std::sync::Arc;

use crate::ids::RunId;
use crate::state::{StateMeta, StateType, names};

/// A boxed error, the form every body error is converted into.
pub type BoxError = Box<dyn StdError + Send + Sync + 'static>;

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong when running tasks and flows.
///
/// Its `Debug` (what `main` prints when it returns `Err`) is its message
/// followed by the chain of causes, not a struct dump.
#[derive(thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A run ended in a state other than Completed-with-a-value.
    #[error(transparent)]
    Run(Box<RunFailure>),
    /// The run context was read outside a run.
    #[error("{what} is only available inside a {scope}: {hint}")]
    MissingContext {
        /// What was asked for, e.g. `"flow_run()"`.
        what: &'static str,
        /// Where it is available, e.g. `"flow run"`.
        scope: &'static str,
        /// What to do instead.
        hint: &'static str,
    },
    /// An option had a value the engine cannot use.
    #[error("invalid option `{option}`: {reason}")]
    InvalidOption {
        /// The option's name.
        option: &'static str,
        /// Why it was rejected.
        reason: String,
    },
    /// A blocking call was made where it would stall the async runtime.
    #[error("{call} cannot be used here: {hint}")]
    Blocking {
        /// The call, e.g. `".blocking()"`.
        call: &'static str,
        /// What to do instead.
        hint: &'static str,
    },
    /// A flow or task was awaited where no tokio runtime runs (for example
    /// under `futures::executor::block_on`): the engine's timers and
    /// submitted runs need one. No run was created.
    #[error(
        "{what} was awaited outside a tokio runtime; run it inside `#[tokio::main]` (tokio features \"macros\" and \"rt-multi-thread\") or `Runtime::block_on`, or call `.blocking()` from sync code"
    )]
    NoRuntime {
        /// The call, e.g. `task 'fetch'`.
        what: String,
    },
    /// Waiting on a future took longer than allowed; the run goes on.
    #[error("gave up waiting for {what} after {limit:?}; it is still running")]
    WaitTimeout {
        /// What was waited for.
        what: &'static str,
        /// The limit.
        limit: std::time::Duration,
    },
    /// The value of a run was already taken from its future.
    #[error("the result of run {run} was already taken from its future; a value can be taken once")]
    ResultTaken {
        /// The run.
        run: RunId,
    },
    /// Mapped arguments of different lengths.
    #[error("cannot map `{task}`: argument `{first}` has {first_len} items but `{other}` has {other_len}")]
    MapLengthMismatch {
        /// The task.
        task: String,
        /// The first mapped argument.
        first: &'static str,
        /// Its length.
        first_len: usize,
        /// The argument whose length differs.
        other: &'static str,
        /// Its length.
        other_len: usize,
    },
    /// A map whose every argument is `unmapped`: nothing says how many runs.
    #[error(
        "cannot map `{task}`: every argument is `unmapped`, so nothing says how many runs to make; map at least one argument over a `Vec`"
    )]
    NothingMapped {
        /// The task.
        task: String,
    },
    /// A map over an upstream run's value was submitted before that run ended.
    #[error(
        "cannot submit the map of `{task}` yet: it maps over an upstream run's value, which is not there until the run ends; await the map (it waits), or submit it once the upstream is done"
    )]
    MapNotReady {
        /// The task.
        task: String,
    },
    /// No persisted result is stored under the key asked for.
    #[error("no persisted result at {location}")]
    NoResult {
        /// Where it was looked for.
        location: String,
    },
    /// Reading or writing a persisted result failed.
    #[error(transparent)]
    Results(#[from] prefect_results::Error),
    /// JSON parameters do not fit a flow started by name; nothing ran.
    #[error("invalid parameters for flow `{flow}`: {reason}")]
    InvalidParameters {
        /// The flow.
        flow: String,
        /// The field at fault, when one is.
        field: Option<String>,
        /// What is wrong with it.
        reason: String,
    },
    /// No flow of this name is registered.
    #[error("no flow named `{name}` is registered (registered: {known})")]
    UnknownFlow {
        /// The name asked for.
        name: String,
        /// The names registered.
        known: String,
    },
    /// A global was set twice.
    #[error(
        "{what} was already set; it can be set once per process (use prefect::testing for scoped overrides)"
    )]
    AlreadySet {
        /// What was set, e.g. `"the global recorder"`.
        what: &'static str,
    },
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self}")?;
        let mut source = self.source();
        if source.is_some() {
            f.write_str("\n\nCaused by:")?;
        }
        let mut n = 0;
        while let Some(err) = source {
            write!(f, "\n    {n}: {err}")?;
            n += 1;
            source = err.source();
        }
        Ok(())
    }
}

impl Error {
    /// The run failure, if this error is one.
    pub fn as_run_failure(&self) -> Option<&RunFailure> {
        match self {
            Error::Run(failure) => Some(failure),
            _ => None,
        }
    }

    /// The state that ended the run, for [`Error::Run`].
    pub fn state(&self) -> Option<&StateMeta> {
        self.as_run_failure().map(RunFailure::state)
    }

    /// Finds an error of type `E` in the body's error and its sources, so a
    /// caller can get back the typed error its task returned.
    pub fn downcast_ref<E: StdError + 'static>(&self) -> Option<&E> {
        let mut current: Option<&(dyn StdError + 'static)> = self.source();
        while let Some(err) = current {
            if let Some(found) = err.downcast_ref::<E>() {
                return Some(found);
            }
            current = err.source();
        }
        None
    }

    /// True when a run ended because it exceeded its timeout.
    pub fn is_timeout(&self) -> bool {
        self.as_run_failure().is_some_and(RunFailure::is_timeout)
    }
}

/// The details of a run that did not complete: the final state, the run,
/// and the error from the body that caused it (if any).
pub struct RunFailure {
    state: StateMeta,
    run: Option<RunId>,
    cause: Option<Arc<dyn StdError + Send + Sync>>,
}

impl RunFailure {
    pub(crate) fn new(
        state: StateMeta,
        run: Option<RunId>,
        cause: Option<Arc<dyn StdError + Send + Sync>>,
    ) -> Self {
        RunFailure { state, run, cause }
    }

    /// The state that ended the run.
    pub fn state(&self) -> &StateMeta {
        &self.state
    }

    /// The type of that state.
    pub fn state_type(&self) -> StateType {
        self.state.state_type
    }

    /// The run that ended, when known.
    pub fn run_id(&self) -> Option<RunId> {
        self.run
    }

    /// The body's error, if the run failed because of one.
    pub fn cause(&self) -> Option<&(dyn StdError + Send + Sync + 'static)> {
        self.cause.as_deref()
    }

    /// True for a Failed state named TimedOut.
    pub fn is_timeout(&self) -> bool {
        self.state.state_type == StateType::Failed && self.state.name == names::TIMED_OUT
    }

    /// True for a Completed state named Skipped (the run produced no value).
    pub fn is_skipped(&self) -> bool {
        self.state.state_type == StateType::Completed && self.state.name == names::SKIPPED
    }

    /// True for a Pending state named NotReady (an upstream did not complete).
    pub fn is_not_ready(&self) -> bool {
        self.state.state_type == StateType::Pending && self.state.name == names::NOT_READY
    }

    /// True for Cancelled.
    pub fn is_cancelled(&self) -> bool {
        self.state.state_type == StateType::Cancelled
    }

    /// True for Crashed.
    pub fn is_crashed(&self) -> bool {
        self.state.state_type == StateType::Crashed
    }
}

impl fmt::Debug for RunFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RunFailure")
            .field("state", &self.state)
            .field("run", &self.run)
            .field("cause", &self.cause.as_ref().map(|c| c.to_string()))
            .finish()
    }
}

impl fmt::Display for RunFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.run {
            Some(RunId::Task(id)) => write!(f, "task run {id} ended in state {}", self.state),
            Some(RunId::Flow(id)) => write!(f, "flow run {id} ended in state {}", self.state),
            None => write!(f, "run ended in state {}", self.state),
        }
    }
}

impl StdError for RunFailure {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.cause.as_deref().map(|c| c as &(dyn StdError + 'static))
    }
}
