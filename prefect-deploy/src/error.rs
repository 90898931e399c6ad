//! The errors of prefect-deploy.

/// Why a schedule (or later, a deployment) could not be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A cron pattern that does not parse.
    #[error("invalid cron pattern `{pattern}`: {reason}")]
    InvalidCron {
        /// The pattern as given.
        pattern: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A recurrence rule (RFC 5545) that does not parse or validate.
    #[error("invalid recurrence rule `{rrule}`: {reason}")]
    InvalidRRule {
        /// The rule as given.
        rrule: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A time zone that is not an IANA name (such as `Europe/Berlin`).
    #[error("unknown time zone `{zone}`: expected an IANA name such as \"Europe/Berlin\" or \"UTC\"")]
    UnknownTimeZone {
        /// The name as given.
        zone: String,
    },
    /// A filter whose time or date does not read.
    #[error("invalid schedule filter: {reason}")]
    InvalidFilter {
        /// What is wrong with it.
        reason: String,
    },
    /// An interval that is zero, negative or too long to represent.
    #[error("invalid interval: {reason}")]
    InvalidInterval {
        /// What is wrong with it.
        reason: String,
    },
}
