//! The run model every prefect-rs crate shares.
//!
//! The engine (`prefect-core`), the run database (`prefect-store` and its
//! drivers), the CLI and the server all speak in these types, and none of
//! them needs the engine to do so:
//!
//! - [`FlowRunId`], [`TaskRunId`], [`RunId`]: time-ordered UUIDs (v7).
//! - [`StateType`], [`StateMeta`] and the well-known [`state::names`].
//! - [`Event`]: what happens to a run ([`FlowRunRecord`], [`TaskRunRecord`],
//!   [`StateChange`], [`DependencyEdge`], [`LogRecord`]), and the
//!   [`Recorder`] trait that receives events.
//! - [`LogLevel`], in Prefect's names.
//! - [`SharedLimits`]: tag concurrency limits shared across processes.
//! - [`backend`]: the process's default recorder and limits.
//!
//! ```
//! use prefect_model::{FlowRunId, StateMeta, StateType, Event, StateChange};
//!
//! let run = FlowRunId::new();
//! let state = StateMeta::new(StateType::Failed).with_message("boom");
//! assert_eq!(state.to_string(), "Failed('boom')");
//! let event = Event::StateChanged(StateChange { run: run.into(), state, run_count: 1 });
//! assert!(matches!(event, Event::StateChanged(ref c) if c.state.is_final()));
//! ```

pub mod backend;
mod error;
mod event;
mod ids;
mod level;
mod limits;
mod recorder;
pub mod run_names;
pub mod state;
pub mod text;

pub use backend::{Backend, BackendFactory};
pub use error::{Error, Result};
pub use event::{
    DependencyEdge, DependencyKind, Event, FlowRunRecord, LogRecord, ResultReference, StateChange,
    TaskRunRecord,
};
pub use ids::{FlowRunId, RunId, TaskRunId};
pub use level::{LEVEL_NAMES, LogLevel};
pub use limits::{SharedDecision, SharedLimits};
pub use recorder::{FlushFuture, NoopRecorder, Recorder};
pub use state::{StateMeta, StateType};
