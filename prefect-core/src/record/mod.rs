//! Run events and the [`Recorder`] trait the engine emits them into.
//!
//! Events out, decisions in: the engine hands every run, state change,
//! dependency edge and log line to a recorder and never waits for it. A
//! recorder batches events to its backend: memory ([`MemoryRecorder`]), the
//! run database (`prefect-store`), a server.
//!
//! The event types and the [`Recorder`] trait live in `prefect-model`, so
//! the run database and the CLI use them without the engine.

mod memory;

use std::sync::{Arc, OnceLock};

pub use memory::{FlowRunView, MemoryRecorder, TaskRunView};
pub use prefect_model::{
    DependencyEdge, DependencyKind, Event, FlowRunRecord, FlushFuture, LogLevel, LogRecord, NoopRecorder,
    Recorder, StateChange, TaskRunRecord,
};

use crate::error::Error;

static GLOBAL: OnceLock<Arc<dyn Recorder>> = OnceLock::new();

/// Sets the recorder used by runs that are not inside a scoped recorder
/// (see [`crate::testing`]). It can be set once per process.
///
/// # Errors
/// [`Error::AlreadySet`] on a second call.
///
/// # Examples
/// ```
/// use std::sync::Arc;
/// use prefect_core::record::{set_global_recorder, MemoryRecorder};
///
/// let recorder = Arc::new(MemoryRecorder::new());
/// set_global_recorder(recorder.clone()).unwrap();
/// assert!(set_global_recorder(recorder).is_err());
/// ```
pub fn set_global_recorder(recorder: Arc<dyn Recorder>) -> Result<(), Error> {
    GLOBAL.set(recorder).map_err(|_| Error::AlreadySet { what: "the global recorder" })
}

/// The global recorder: the one set with [`set_global_recorder`], else the
/// recorder of the process's default backend (the run database, see
/// [`prefect_model::backend`]), else a [`NoopRecorder`].
pub fn global_recorder() -> Arc<dyn Recorder> {
    if let Some(recorder) = GLOBAL.get() {
        return recorder.clone();
    }
    match prefect_model::backend::default_backend() {
        Some(backend) => GLOBAL.get_or_init(|| backend.recorder.clone()).clone(),
        None => Arc::new(NoopRecorder),
    }
}

/// Waits until every event given to the global recorder so far is stored.
/// Flow runs flush when they end; call this before a program exits after
/// running tasks outside any flow.
pub async fn flush() {
    if let Some(recorder) = GLOBAL.get() {
        recorder.flush().await;
    }
}
