//! The embedded SQLite driver of the prefect-rs run database: one file in
//! WAL mode, with versioned migrations, implementing every capability of
//! [`prefect_store::Store`].
//!
//! - [`SqliteStore`]: the database. Files that are not run databases, are
//!   corrupt, or come from a newer version are refused and left untouched.
//! - [`SqliteRecorder`]: the batching recorder on a file.
//! - [`register`] makes `sqlite:` URLs openable with
//!   [`prefect_store::AnyStore::connect`]; [`install_default`] also makes
//!   the settings' database the process's default backend.
//!
//! ```
//! # futures::executor::block_on(async {
//! use std::sync::Arc;
//! use prefect_model::{Event, FlowRunId, FlowRunRecord, Recorder, StateChange, StateMeta, StateType};
//! use prefect_store::{AnyStore, FlowRunFilter};
//! use prefect_store_sqlite::SqliteRecorder;
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
//! // The CLI side: any store by URL, questions out.
//! prefect_store_sqlite::register();
//! let store = AnyStore::connect(&format!("sqlite://{}", path.display())).unwrap();
//! let failed = store.list_flow_runs(&FlowRunFilter::new().state(StateType::Failed)).await.unwrap();
//! assert!(failed.is_empty());
//! let run = store.inspect_flow_run(id, 100).await.unwrap();
//! assert_eq!(run.run.state.unwrap().state_type, StateType::Completed);
//! assert_eq!(run.states.len(), 3);
//! assert_eq!(run.parameters["day"], "2024-06-01");
//! # });
//! ```

mod codec;
mod crash;
mod driver;
mod history;
mod limits;
mod logs;
mod open;
mod prune;
mod queue;
mod recorder;
mod results;
mod runs;
mod schema;
mod slots;
mod state;
mod store;
mod store_impl;
mod tasks;
mod write;

pub use driver::{DRIVER, SqliteDriver, install_default, register};
pub use open::SqliteOptions;
pub use recorder::{SqliteRecorder, SqliteRecorderBuilder};
pub use store::SqliteStore;

pub(crate) use store::{Conn, Location, QueryResult};

#[cfg(test)]
mod tests {
    fn send_sync<T: Send + Sync>() {}

    #[test]
    fn public_types_are_send_and_sync() {
        send_sync::<crate::SqliteStore>();
        send_sync::<crate::SqliteRecorder>();
    }
}
