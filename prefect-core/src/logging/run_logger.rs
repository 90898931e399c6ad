//! [`get_run_logger()`]: Prefect's run logger, for code that prefers a
//! logger value to `tracing`'s macros.

use std::fmt;

use crate::context::Scope;
use crate::error::Error;

/// Logs lines of one run, like Prefect's `get_run_logger()`. It keeps the
/// run it was made in, so lines it logs belong to that run even from code
/// the run spawned (a `tokio::spawn`ed future, another thread).
///
/// Inside a run, `tracing`'s macros (re-exported as `prefect::info!` and
/// the others) do the same with fields; this is for code that wants a value
/// to pass around.
#[derive(Clone)]
pub struct RunLogger {
    scope: Scope,
}

/// The logger of the current flow or task run.
///
/// # Errors
/// [`Error::MissingContext`] outside a flow or task run.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// assert!(prefect_core::get_run_logger().is_err(), "no run here");
/// # }
/// ```
pub fn get_run_logger() -> Result<RunLogger, Error> {
    let scope = Scope::with_current(|scope| scope.filter(|s| s.flow.is_some() || s.task.is_some()).cloned());
    scope.map(|scope| RunLogger { scope }).ok_or(Error::MissingContext {
        what: "get_run_logger()",
        scope: "flow or task run",
        hint: "call it from the body of a #[task] or #[flow]; outside runs use tracing's macros",
    })
}

macro_rules! levels {
    ($($(#[$doc:meta])* $method:ident => $level:ident;)*) => {
        impl RunLogger {
            $(
                $(#[$doc])*
                pub fn $method(&self, message: impl fmt::Display) {
                    self.scope.clone().enter_sync(|| tracing::event!(target: "prefect", tracing::Level::$level, "{message}"));
                }
            )*
        }
    };
}

levels! {
    /// Logs `message` at DEBUG.
    debug => DEBUG;
    /// Logs `message` at INFO.
    info => INFO;
    /// Logs `message` at WARNING.
    warning => WARN;
    /// Logs `message` at ERROR (Prefect's CRITICAL too: `tracing` has no
    /// higher level).
    error => ERROR;
}

impl fmt::Debug for RunLogger {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("RunLogger");
        if let Some(flow) = &self.scope.flow {
            d.field("flow_run", &flow.name());
        }
        if let Some(task) = &self.scope.task {
            d.field("task_run", &task.name());
        }
        d.finish()
    }
}
