//! The run database of prefect-rs.
//!
//! The engine emits run events (runs created, states entered, dependency
//! edges, log lines) into a [`prefect_core::record::Recorder`]. This crate
//! stores them and answers the questions the CLI and UI ask:
//!
//! - [`Store`]: the backend-independent trait. Listing flows and flow runs
//!   (by state, flow, time), inspecting a run with its states, parameters
//!   and task runs, following logs with a cursor, resolving an id prefix,
//!   tag concurrency limits, retention ([`Store::prune`]) and crash
//!   detection ([`Store::mark_crashed_stale_runs`], see [`lease`]).
//! - [`SqliteStore`]: the embedded default, one SQLite file in WAL mode
//!   with versioned migrations. Files that are not run databases, are
//!   corrupt, or come from a newer version are refused and left untouched.
//! - [`SqliteRecorder`]: the recorder for it. `record` never blocks; a
//!   writer thread batches events into transactions.
//!
//! ```
//! # futures::executor::block_on(async {
//! use std::sync::Arc;
//! use prefect_core::record::{Event, FlowRunRecord, Recorder, StateChange};
//! use prefect_core::{FlowRunId, StateMeta, StateType};
//! use prefect_store::{FlowRunFilter, SqliteRecorder, SqliteStore, Store};
//!
//! let dir = tempfile::tempdir().unwrap();
//! let path = dir.path().join("prefect.db");
//!
//! // The engine side: events in.
//! let recorder = SqliteRecorder::open(&path).unwrap();
//! let id = FlowRunId::new();
//! recorder.record(Event::FlowRunCreated(Arc::new(FlowRunRecord {
//!     id,
//!     name: "brave-otter".into(),
//!     flow_name: "etl".into(),
//!     flow_version: None,
//!     parameters: serde_json::json!({ "day": "2024-06-01" }),
//!     tags: Arc::from([]),
//!     parent_flow_run_id: None,
//!     parent_task_run_id: None,
//!     created: chrono::Utc::now(),
//! })));
//! for state_type in [StateType::Pending, StateType::Running, StateType::Completed] {
//!     let state = StateMeta::new(state_type);
//!     recorder.record(Event::StateChanged(StateChange { run: id.into(), state, run_count: 1 }));
//! }
//! recorder.flush().await;
//!
//! // The CLI side: questions out.
//! let store = SqliteStore::open(&path).unwrap();
//! let failed = store.list_flow_runs(&FlowRunFilter::new().state(StateType::Failed)).await.unwrap();
//! assert!(failed.is_empty());
//! let run = store.inspect_flow_run(id, 100).await.unwrap();
//! assert_eq!(run.run.state.unwrap().state_type, StateType::Completed);
//! assert_eq!(run.states.len(), 3);
//! assert_eq!(run.parameters["day"], "2024-06-01");
//! # });
//! ```
//!
//! # Feature flags
//!
//! - `sqlite` (default): [`SqliteStore`] and [`SqliteRecorder`], with SQLite
//!   compiled in (rusqlite, `bundled`).
//! - `conformance`: `prefect_store::conformance`, the test suite every
//!   [`Store`] backend must pass.

mod error;
mod filter;
pub mod lease;
mod model;
mod prefix;
mod store;

#[cfg(feature = "conformance")]
pub mod conformance;

#[cfg(feature = "sqlite")]
mod recorder;
#[cfg(feature = "sqlite")]
mod sqlite;

pub use error::{BoxError, Error, Result};
pub use filter::{DEFAULT_LIMIT, FlowRunFilter, LogFilter, TaskRunFilter};
pub use model::{
    ConcurrencyLimit, FlowRunDetail, FlowRunSummary, FlowSummary, LogCursor, LogEntry, PruneReport,
    Retention, SlotDecision, TaskRunDetail, TaskRunSummary,
};
pub use prefix::IdPrefix;
pub use store::Store;

#[cfg(feature = "sqlite")]
pub use recorder::{SqliteRecorder, SqliteRecorderBuilder};
#[cfg(feature = "sqlite")]
pub use sqlite::{SqliteOptions, SqliteStore};

#[cfg(test)]
mod tests {
    fn send_sync<T: Send + Sync>() {}

    #[test]
    fn public_types_are_send_and_sync() {
        send_sync::<crate::Error>();
        send_sync::<crate::FlowRunFilter>();
        send_sync::<crate::FlowRunDetail>();
        #[cfg(feature = "sqlite")]
        {
            send_sync::<crate::SqliteStore>();
            send_sync::<crate::SqliteRecorder>();
        }
    }
}
