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
    Recorder, ResultReference, StateChange, TaskRunRecord,
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

/// Stores everything recorded so far and lets the run database go (its
/// lease released, its write-ahead log checkpointed): what a program does
/// as it exits. Runs recorded afterwards are not stored.
///
/// Programs whose first `#[task]`/`#[flow]` call is made on the main thread
/// (any `#[tokio::main]` program) get this at normal exit without asking:
/// the defaults register it to run when the main thread's locals are
/// destroyed, after `main` returns. A program that ends otherwise
/// (`std::process::exit`, a signal) keeps what was flushed: every root
/// flow run and root task run flushes when it ends.
pub fn close() {
    if let Some(recorder) = GLOBAL.get() {
        recorder.close();
    }
    prefect_model::backend::close_default();
}

/// Registers [`close`] to run when the calling thread ends, if it is the
/// main thread (its thread-locals are destroyed when `main` returns).
pub(crate) fn close_at_exit() {
    struct CloseOnExit;
    impl Drop for CloseOnExit {
        fn drop(&mut self) {
            close();
        }
    }
    thread_local! {
        static GUARD: std::cell::RefCell<Option<CloseOnExit>> = const { std::cell::RefCell::new(None) };
    }
    if std::thread::current().name() == Some("main") {
        let _ = GUARD.try_with(|guard| *guard.borrow_mut() = Some(CloseOnExit));
    }
}

/// Records `event` with the current run's recorder (outside any run: the
/// global one): for code that adds runs of its own to a flow, such as the
/// task run that stands in a flow for a deployment run it started.
pub fn record_current(event: Event) {
    crate::context::Scope::current().recorder.record(event);
}

/// Waits until every event the current run's recorder was given so far is
/// stored (outside any run: the global recorder's). For code that hands a
/// run to another process mid-flight, such as pausing it: what that
/// process reads must already hold the run's states.
pub async fn flush_current() {
    let recorder = crate::context::Scope::current().recorder;
    recorder.flush().await;
}

/// Waits until every event given to the global recorder so far is stored.
/// Flow runs flush when they end; call this before a program exits after
/// running tasks outside any flow.
pub async fn flush() {
    if let Some(recorder) = GLOBAL.get() {
        recorder.flush().await;
    }
}
