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

/// Makes the recorder used when none was set (the facade registers one
/// that records to the run database).
pub type RecorderFactory = fn() -> Arc<dyn Recorder>;

static DEFAULT_FACTORY: OnceLock<RecorderFactory> = OnceLock::new();

/// Registers how to make the default recorder, used by runs outside any
/// scoped recorder when [`set_global_recorder`] was never called. The first
/// registration wins; the factory runs at most once, at the first run.
pub fn set_default_recorder_factory(factory: RecorderFactory) {
    let _ = DEFAULT_FACTORY.set(factory);
}

/// The global recorder: the one set with [`set_global_recorder`], else the
/// default from the registered factory, else a [`NoopRecorder`].
pub fn global_recorder() -> Arc<dyn Recorder> {
    if let Some(recorder) = GLOBAL.get() {
        return recorder.clone();
    }
    match DEFAULT_FACTORY.get() {
        Some(factory) => GLOBAL.get_or_init(factory).clone(),
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

impl fmt::Debug for dyn Recorder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("dyn Recorder")
    }
}
