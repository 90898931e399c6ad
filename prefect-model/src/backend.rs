//! The process's default backend: the recorder and shared tag limits that
//! a run database installs for programs that set none.
//!
//! A store crate registers a factory with [`set_default_backend`] (the
//! `prefect` facade's defaults register the run database named by the
//! settings); the engine calls [`default_backend`] at the first run that
//! has no recorder of its own, which runs the factory once. A recorder set
//! explicitly (`prefect::record::set_global_recorder`) or scoped
//! (`prefect::testing`) takes precedence, and then the factory never runs.

use std::fmt;
use std::sync::{Arc, OnceLock};

use crate::limits::SharedLimits;
use crate::recorder::{NoopRecorder, Recorder};

/// Where runs are recorded, and the tag limits shared with other processes.
#[derive(Clone)]
pub struct Backend {
    /// Receives every run event.
    pub recorder: Arc<dyn Recorder>,
    /// Tag concurrency limits kept in the backend, if it has any.
    pub limits: Option<Arc<dyn SharedLimits>>,
}

impl Backend {
    /// A backend that records nothing and shares no limits.
    pub fn none() -> Backend {
        Backend { recorder: Arc::new(NoopRecorder), limits: None }
    }
}

impl fmt::Debug for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Backend").field("limits", &self.limits.is_some()).finish_non_exhaustive()
    }
}

/// Makes the default backend; called at most once per process.
pub type BackendFactory = fn() -> Backend;

static FACTORY: OnceLock<BackendFactory> = OnceLock::new();
static BACKEND: OnceLock<Backend> = OnceLock::new();

/// Registers how to make the default backend. The first registration wins;
/// returns whether this one did.
pub fn set_default_backend(factory: BackendFactory) -> bool {
    FACTORY.set(factory).is_ok()
}

/// The default backend, made by the registered factory on first use;
/// `None` when no factory was registered.
pub fn default_backend() -> Option<&'static Backend> {
    BACKEND.get().or_else(|| FACTORY.get().map(|make| BACKEND.get_or_init(make)))
}

/// Closes the default backend's recorder if it was made ([`Recorder::close`]):
/// what a program does as it exits.
pub fn close_default() {
    if let Some(backend) = BACKEND.get() {
        backend.recorder.close();
    }
}

/// The default backend if it was already made (never runs the factory).
pub fn default_backend_if_made() -> Option<&'static Backend> {
    BACKEND.get()
}
