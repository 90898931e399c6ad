//! The errors of prefect-deploy.

/// Why a schedule or deployment could not be made, or serving failed.
#[derive(Debug, thiserror::Error)]
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
    /// A deployment that cannot be registered: a schedule that does not
    /// parse, parameters the flow does not take.
    #[error("deployment `{deployment}`: invalid {field}: {reason}")]
    InvalidDeployment {
        /// `flow/name`.
        deployment: String,
        /// The field at fault (`cron`, `parameters`, ...).
        field: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// Two deployments of one `serve` have the same `flow/name`.
    #[error("deployment `{0}` is given twice")]
    DuplicateDeployment(String),
    /// No deployment of this `flow/name` is registered.
    #[error(
        "no deployment `{0}` is registered (deployments are named `flow/name`; `prefect deployment ls` lists them)"
    )]
    UnknownDeployment(String),
    /// Pausing was asked for outside a flow run.
    #[error("pause_flow_run is called inside a flow run")]
    NotInFlow,
    /// The run is not running (it ended, or was cancelled), so it cannot pause.
    #[error("flow run {run} is {state}: only a running flow run pauses")]
    CannotPause {
        /// The run.
        run: prefect_core::FlowRunId,
        /// Its state.
        state: String,
    },
    /// Nobody resumed a paused run in time.
    #[error("flow run {run} was paused for {} without being resumed: it timed out", humantime::format_duration(*timeout))]
    PauseTimedOut {
        /// The run.
        run: prefect_core::FlowRunId,
        /// How long it waited.
        timeout: std::time::Duration,
    },
    /// `PREFECT_WORKER_RUN` does not hold a run id.
    #[error(
        "PREFECT_WORKER_RUN is `{0}`, not a flow run id (it is set by a worker for the process it starts)"
    )]
    InvalidRunAssignment(String),
    /// A worker with no flows to run.
    #[error("the worker has no flows: give it the entries of the flows it runs (`Worker::flows`)")]
    NoFlows,
    /// The run database failed.
    #[error(transparent)]
    Store(#[from] prefect_store::Error),
    /// Waiting for SIGINT/SIGTERM could not be set up.
    #[error("cannot listen for shutdown signals: {0}")]
    Signals(#[source] std::io::Error),
}
