//! The process globals, in one place, and [`Env`]: explicit handles that
//! override them for the runs inside a scope (a test, an in-process server,
//! a worker serving several pools).
//!
//! | global | what it holds | set it with | override it for a scope |
//! |---|---|---|---|
//! | settings | [`crate::settings::Settings`], loaded on first use | [`crate::settings::set_current`] (before first use) | [`Env::settings`] |
//! | recorder | where run events go | [`crate::record::set_global_recorder`] | [`Env::recorder`], [`crate::testing::with_recorder`] |
//! | default backend | the recorder and shared limits a store installs | `prefect_model::backend::set_default_backend` (`prefect::store::install_default`) | [`Env::recorder`], [`Env::shared_limits`] |
//! | shared tag limits | limits kept in a run database | [`crate::concurrency::set_shared_limits`] | [`Env::shared_limits`] |
//! | in-process limits | named limits and rate limits | [`crate::concurrency::set_limit`], [`crate::concurrency::set_rate_limit`] | [`Env::concurrency_limits`] |
//! | default result storage | where persisted values go when a task names none | [`crate::results::set_default_storage`] | [`Env::result_storage`] |
//! | serializer names | custom result formats by name, to read records back | [`crate::results::Serializer::custom`] | none needed: names are unique, registering one changes nothing else |
//! | cache key locks | keys being computed in this process, by storage location | internal | none needed: distinct storages have distinct locations |
//! | logging | `tracing`'s global subscriber | the program's own, with [`crate::logging::layer()`]; else the facade's defaults | `tracing::subscriber::with_default` |
//! | blocking runtime | the runtime `.blocking()` starts in a program without one | started on first use | run inside your own runtime |
//! | store drivers | which URL schemes open which stores | `prefect_store::register_driver` | none needed: additive by scheme |
//! | defaults | the facade's console output and run database, installed once at the first `#[task]`/`#[flow]` | the setters above, before the first run | [`Env`] |
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! use std::sync::Arc;
//! use prefect_core::env::Env;
//! use prefect_core::record::MemoryRecorder;
//! use prefect_core::settings::Settings;
//! use prefect_core::{Task, task_call};
//!
//! let recorder = Arc::new(MemoryRecorder::new());
//! let mut settings = Settings::defaults("/tmp/prefect-home");
//! settings.tasks_default_retries = 2;
//! let env = Env::new().recorder(recorder.clone()).settings(settings);
//! let attempts = Arc::new(std::sync::atomic::AtomicU32::new(0));
//! let seen = attempts.clone();
//! let call = task_call(Task::new("flaky"), move || {
//!     let n = seen.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
//!     async move { if n < 2 { Err("not yet") } else { Ok(n) } }
//! });
//! // The scoped settings give the task two retries; the scoped recorder sees the run.
//! assert_eq!(env.run(call).await.unwrap(), 2);
//! assert_eq!(recorder.task_runs()[0].run_count, 3);
//! # }
//! ```

use std::fmt;
use std::future::IntoFuture;
use std::sync::Arc;

use prefect_model::{Recorder, SharedLimits};
use prefect_results::ResultStorage;

use crate::concurrency::ConcurrencyLimits;
use crate::context::Scope;
use crate::settings::Settings;

/// Handles that override the process globals for the runs inside
/// [`Env::run`] (and the runs they start). What is not set is inherited
/// from the enclosing scope, else the process.
#[derive(Clone, Default)]
pub struct Env {
    recorder: Option<Arc<dyn Recorder>>,
    pub(crate) overrides: Overrides,
}

/// The overrides a scope carries besides its recorder.
#[derive(Clone, Default)]
pub(crate) struct Overrides {
    settings: Option<Arc<Settings>>,
    shared_limits: Option<Arc<dyn SharedLimits>>,
    concurrency_limits: Option<ConcurrencyLimits>,
    result_storage: Option<Arc<dyn ResultStorage>>,
}

impl Overrides {
    /// `self`, with what `outer` sets where `self` sets nothing.
    fn over(self, outer: Option<&Overrides>) -> Overrides {
        let Some(outer) = outer else { return self };
        Overrides {
            settings: self.settings.or_else(|| outer.settings.clone()),
            shared_limits: self.shared_limits.or_else(|| outer.shared_limits.clone()),
            concurrency_limits: self.concurrency_limits.or_else(|| outer.concurrency_limits.clone()),
            result_storage: self.result_storage.or_else(|| outer.result_storage.clone()),
        }
    }

    /// The settings override, if there is one.
    pub(crate) fn settings(&self) -> Option<&Settings> {
        self.settings.as_deref()
    }

    fn is_empty(&self) -> bool {
        self.settings.is_none()
            && self.shared_limits.is_none()
            && self.concurrency_limits.is_none()
            && self.result_storage.is_none()
    }
}

impl Env {
    /// No overrides.
    pub fn new() -> Self {
        Self::default()
    }

    /// Runs inside record to `recorder`.
    pub fn recorder(mut self, recorder: Arc<dyn Recorder>) -> Self {
        self.recorder = Some(recorder);
        self
    }

    /// Runs inside read `settings` (default retries, persistence, storage
    /// path...).
    pub fn settings(mut self, settings: Settings) -> Self {
        self.overrides.settings = Some(Arc::new(settings));
        self
    }

    /// Runs inside take tag slots from `limits` (a run database's).
    pub fn shared_limits(mut self, limits: Arc<dyn SharedLimits>) -> Self {
        self.overrides.shared_limits = Some(limits);
        self
    }

    /// Runs inside use these named limits instead of the process's.
    pub fn concurrency_limits(mut self, limits: ConcurrencyLimits) -> Self {
        self.overrides.concurrency_limits = Some(limits);
        self
    }

    /// Runs inside persist to `storage` when their task names none.
    pub fn result_storage(mut self, storage: Arc<dyn ResultStorage>) -> Self {
        self.overrides.result_storage = Some(storage);
        self
    }

    /// Runs `fut` with these handles.
    pub async fn run<F: IntoFuture>(&self, fut: F) -> F::Output {
        self.scope().enter(fut.into_future()).await
    }

    /// Runs the sync `f` with these handles (for code that calls
    /// `.blocking()` outside any runtime).
    pub fn run_sync<R>(&self, f: impl FnOnce() -> R) -> R {
        self.scope().enter_sync(f)
    }

    fn scope(&self) -> Scope {
        let mut scope = match &self.recorder {
            Some(recorder) => Scope::current_with(recorder.clone()),
            None => Scope::current(),
        };
        let merged = self.overrides.clone().over(scope.overrides.as_deref());
        scope.overrides = (!merged.is_empty()).then(|| Arc::new(merged));
        scope
    }
}

impl fmt::Debug for Env {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Env")
            .field("recorder", &self.recorder.is_some())
            .field("settings", &self.overrides.settings.is_some())
            .field("shared_limits", &self.overrides.shared_limits.is_some())
            .field("concurrency_limits", &self.overrides.concurrency_limits.is_some())
            .field("result_storage", &self.overrides.result_storage.is_some())
            .finish()
    }
}

/// Reads the scope's overrides, if there are any.
fn with_overrides<R>(f: impl FnOnce(&Overrides) -> Option<R>) -> Option<R> {
    Scope::with_current(|scope| scope.and_then(|s| s.overrides.as_deref()).and_then(f))
}

/// The settings runs in the current scope read: the scope's, else the
/// process's ([`crate::settings::current`]).
pub(crate) fn with_settings<R>(f: impl FnOnce(&Settings) -> R) -> R {
    match with_overrides(|o| o.settings.clone()) {
        Some(settings) => f(&settings),
        None => f(crate::settings::current()),
    }
}

/// The scope's shared tag limits, if it overrides them.
pub(crate) fn shared_limits() -> Option<Arc<dyn SharedLimits>> {
    with_overrides(|o| o.shared_limits.clone())
}

/// The scope's named limits, if it overrides them.
pub(crate) fn concurrency_limits() -> Option<ConcurrencyLimits> {
    with_overrides(|o| o.concurrency_limits.clone())
}

/// The scope's default result storage, if it overrides it.
pub(crate) fn result_storage() -> Option<Arc<dyn ResultStorage>> {
    with_overrides(|o| o.result_storage.clone())
}
