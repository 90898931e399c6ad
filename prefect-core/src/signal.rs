//! Signals: errors a body returns to end its run in a chosen state.
//!
//! Return a [`Signal`] as the body's error (directly, boxed, through
//! `anyhow`, or as the `source()` of your own error type) and the engine
//! acts on it instead of treating it as an ordinary failure.
//!
//! ```
//! use prefect_core::Signal;
//!
//! fn check(rows: usize) -> Result<usize, Signal> {
//!     if rows == 0 {
//!         return Err(Signal::skip("nothing to load"));
//!     }
//!     Ok(rows)
//! }
//! assert!(check(0).is_err());
//! ```

use std::error::Error as StdError;

/// A request from a body to end its run in a particular way.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Signal {
    /// End the run Completed, named Skipped, without a value.
    #[error("skipped: {0}")]
    Skip(String),
    /// End the run Failed now, without using the remaining retries.
    #[error("{0}")]
    Fail(String),
    /// Retry at once, without the retry delay (uses one retry; with none
    /// left the run ends Failed).
    #[error("retry requested: {0}")]
    Retry(String),
}

impl Signal {
    /// Ends the run Completed, named Skipped.
    pub fn skip(message: impl Into<String>) -> Self {
        Signal::Skip(message.into())
    }

    /// Ends the run Failed without retrying.
    pub fn fail(message: impl Into<String>) -> Self {
        Signal::Fail(message.into())
    }

    /// Retries at once, skipping the retry delay.
    pub fn retry(message: impl Into<String>) -> Self {
        Signal::Retry(message.into())
    }

    /// Finds a signal in `error` or its chain of sources.
    pub(crate) fn find<'a>(error: &'a (dyn StdError + 'static)) -> Option<&'a Signal> {
        let mut current = Some(error);
        while let Some(err) = current {
            if let Some(signal) = err.downcast_ref::<Signal>() {
                return Some(signal);
            }
            current = err.source();
        }
        None
    }
}
