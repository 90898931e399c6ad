//! The run engine of prefect-rs.
//!
//! Most programs use the `prefect` facade (package `prefect-rs`) and its
//! `#[task]`/`#[flow]` attributes; this crate holds everything those expand
//! to, usable by hand as well:
//!
//! - [`State`] / [`StateType`]: typed run states ([`state`]).
//! - [`Task`] / [`Flow`]: descriptors with retries, delays, timeouts, hooks.
//! - [`TaskCall`] / [`FlowCall`]: calls that run when awaited.
//! - [`context`]: the current flow run and task run.
//! - [`record`]: the events every run emits and the [`record::Recorder`] trait.
//! - [`logging`]: `tracing` events inside runs become run logs.
//! - [`results`]: persisted values and caching (cache keys, storages, records).
//! - [`testing`]: an isolated in-memory recorder with queries.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! use std::time::Duration;
//! use prefect_core::{testing, Task, task_call, StateType};
//!
//! let harness = testing::harness();
//! let attempts = std::sync::Arc::new(std::sync::atomic::AtomicU32::new(0));
//! let counter = attempts.clone();
//! let task = Task::new("flaky").retries(2);
//! let value = harness
//!     .run(task_call(task, move || {
//!         let n = counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
//!         async move { if n < 2 { Err("not yet") } else { Ok(n) } }
//!     }))
//!     .await
//!     .unwrap();
//! assert_eq!(value, 2);
//! let run = &harness.task_runs()[0];
//! assert_eq!(run.run_count, 3);
//! assert_eq!(run.state().unwrap().state_type, StateType::Completed);
//! # }
//! ```

mod call;
mod clock;
pub mod concurrency;
pub mod context;
mod engine;
pub mod entry;
pub mod env;
mod error;
pub mod futures;
pub mod hooks;
/// Run ids, from `prefect-model`.
mod ids {
    pub use prefect_model::{FlowRunId, RunId, TaskRunId};
}
pub mod logging;
mod options;
pub mod record;
pub mod results;
pub mod retry;
pub mod runner;
mod runtime;
pub use prefect_settings as settings;
pub use prefect_settings::config;
mod signal;
pub mod state;
pub mod testing;
pub mod transaction;

#[doc(hidden)]
pub mod __private_v1;

pub use call::{FlowCall, ReturnState, TaskCall, flow_call, run_task, task_call};
pub use context::tags;
pub use entry::{FlowEntry, FlowRegistry};
pub use error::{BoxError, Error, Result, RunFailure};
pub use futures::{FlowFuture, TaskFuture, allow_failure};
pub use hooks::HookContext;
pub use ids::{FlowRunId, RunId, TaskRunId};
pub use logging::{RunLogger, get_run_logger};
pub use options::{Flow, RunOptions, Task};
pub use retry::RetryDelay;
pub use signal::Signal;
pub use state::{State, StateMeta, StateType};
/// `tracing`'s event macros, so a program logs without depending on
/// `tracing` itself; inside a run each event is a line of its logs.
pub use tracing::{debug, error, info, trace, warn};
pub use transaction::transaction;
