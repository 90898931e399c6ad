//! The [`Recorder`] trait the engine emits run events into.
//!
//! Events out, decisions in: the engine hands every run, state change,
//! dependency edge and log line to a recorder and never waits for it. A
//! recorder batches events to its backend: memory, a run database, a
//! server.

use std::fmt;
use std::future::Future;
use std::pin::Pin;

use crate::event::Event;

/// A boxed, sendable future borrowing the recorder.
pub type FlushFuture<'a> = Pin<Box<dyn Future<Output = ()> + Send + 'a>>;

/// Receives run events from the engine.
///
/// `record` is called on the hot path, inside the run, and must not block
/// for long: queue the event and return.
pub trait Recorder: Send + Sync + 'static {
    /// Takes one event.
    fn record(&self, event: Event);

    /// Waits until every event recorded so far is stored. The engine calls
    /// this when a top-level run ends.
    fn flush(&self) -> FlushFuture<'_> {
        Box::pin(std::future::ready(()))
    }

    /// Stores everything recorded so far and lets go of the backend (a run
    /// database's lease, its write-ahead log): called once, as the process
    /// exits. Events recorded after it are dropped. Blocks until done.
    fn close(&self) {}
}

/// A recorder that drops every event.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoopRecorder;

impl Recorder for NoopRecorder {
    fn record(&self, _event: Event) {}
}

impl fmt::Debug for dyn Recorder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("dyn Recorder")
    }
}
