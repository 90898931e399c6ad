//! Run events and the [`Recorder`] trait the engine emits them into.
//!
//! Events out, decisions in: the engine hands every run, state change,
//! dependency edge and log line to a recorder and never waits for it. A
//! recorder batches events to its backend: memory ([`MemoryRecorder`]) now,
//! a run database later.

mod memory;
mod records;

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};

pub use memory::{FlowRunView, MemoryRecorder, TaskRunView};
pub use records::{
    DependencyEdge, DependencyKind, Event, FlowRunRecord, LogLevel, LogRecord, StateChange, TaskRunRecord,
};

use crate::error::Error;

/// Receives run events from the engine.
///
/// `record` is called on the hot path, inside the run, and must not block:
/// queue the event and return.
pub trait Recorder: Send + Sync + 'static {
    /// Takes one event.
    fn record(&self, event: Event);

    /// Waits until every event recorded so far is stored. The engine calls
    /// this when a top-level flow run ends.
    fn flush(&self) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        Box::pin(std::future::ready(()))
    }
}

/// A recorder that drops every event.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoopRecorder;

impl Recorder for NoopRecorder {
    fn record(&self, _event: Event) {}
}

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

/// The global recorder, or a [`NoopRecorder`] when none was set.
pub fn global_recorder() -> Arc<dyn Recorder> {
    GLOBAL.get().cloned().unwrap_or_else(|| Arc::new(NoopRecorder))
}

impl fmt::Debug for dyn Recorder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("dyn Recorder")
    }
}
