//! The crate's error type: text that does not name a model value.

/// A value of the run model could not be read from text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Not the name of a [`crate::StateType`].
    #[error(
        "unknown state type `{0}`; expected one of scheduled, pending, running, paused, completed, \
         failed, crashed, cancelling, cancelled"
    )]
    UnknownStateType(String),
    /// Not the name of a [`crate::LogLevel`].
    #[error("invalid log level {0:?}: expected {names}", names = crate::level::LEVEL_NAMES)]
    UnknownLogLevel(String),
    /// A registry was given a second value where it takes one per process.
    #[error("{what} was already set; it can be set once per process")]
    AlreadySet {
        /// What was set, e.g. `"the default backend"`.
        what: &'static str,
    },
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
