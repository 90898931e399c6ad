//! Recording on by default: the first run of a program that set no
//! recorder opens the run database (`$PREFECT_HOME/prefect.db`, or
//! `PREFECT_API_DATABASE_URL`) and records every run into it.
//!
//! `PREFECT_DB_RETENTION=30d` prunes runs older than that automatically.
//! Tag limits stored in the database (`prefect concurrency-limit create`)
//! apply to every process recording into it.
//! Set `PREFECT_RECORDING_ENABLED=false` to record nothing, or install
//! another recorder first with [`prefect_core::record::set_global_recorder`].
//! Tests use [`crate::testing`], whose scoped recorder takes precedence.
//! A database that cannot be opened (not ours, corrupt, read-only) turns
//! recording off with one warning; the flows still run.

use std::path::PathBuf;
use std::sync::Arc;

use std::sync::atomic::{AtomicBool, Ordering};

use prefect_core::TaskRunId;
use prefect_core::concurrency::{SharedDecision, SharedLimits, set_shared_limits};
use prefect_core::record::{NoopRecorder, Recorder, set_default_recorder_factory};
use prefect_core::settings;
use prefect_store::{Retention, SlotDecision, SqliteRecorder, SqliteStore};

/// Registers the run database as the default recorder (idempotent, cheap).
pub(crate) fn ensure_default() {
    set_default_recorder_factory(open_default);
}

fn open_default() -> Arc<dyn Recorder> {
    let settings = settings::current();
    if !settings.recording_enabled {
        return Arc::new(NoopRecorder);
    }
    let mut builder = SqliteRecorder::builder();
    if let Some(keep) = settings.db_retention {
        builder = builder.retention(Retention::keep(keep));
    }
    match builder.open(&settings.database_path) {
        Ok(recorder) => {
            share_tag_limits(&settings.database_path);
            Arc::new(recorder)
        }
        Err(error) => {
            tracing::warn!("run recording is off for this process: {error}");
            Arc::new(NoopRecorder)
        }
    }
}

/// Makes tag limits stored in the run database (`prefect concurrency-limit
/// create TAG N`) apply across every process using it.
fn share_tag_limits(path: &std::path::Path) {
    match SqliteStore::open(path) {
        Ok(store) => {
            let _ = set_shared_limits(Arc::new(DatabaseLimits { store, warned: AtomicBool::new(false) }));
        }
        Err(error) => tracing::warn!("tag limits in the run database will not apply: {error}"),
    }
}

/// The run database's tag limits, as the engine asks for them.
struct DatabaseLimits {
    store: SqliteStore,
    warned: AtomicBool,
}

impl DatabaseLimits {
    fn warn_once(&self, error: &prefect_store::Error) {
        if !self.warned.swap(true, Ordering::Relaxed) {
            tracing::warn!(
                "tag limits in the run database could not be checked; runs go on unblocked: {error}"
            );
        }
    }
}

impl SharedLimits for DatabaseLimits {
    fn try_acquire(&self, tags: &[String], holder: TaskRunId) -> SharedDecision {
        match self.store.try_acquire_slots(tags, holder) {
            Ok(SlotDecision::Acquired) => SharedDecision::Acquired,
            Ok(SlotDecision::Busy) => SharedDecision::Busy,
            Ok(SlotDecision::Abort(tag)) => SharedDecision::Abort(tag),
            Ok(_) => SharedDecision::NoLimits,
            Err(error) => {
                self.warn_once(&error);
                SharedDecision::NoLimits
            }
        }
    }

    fn release(&self, holder: TaskRunId) {
        if let Err(error) = self.store.release_slots(holder) {
            self.warn_once(&error);
        }
    }
}

/// Where runs are recorded: `PREFECT_API_DATABASE_URL` (env, `prefect.toml`
/// or the active profile), else `$PREFECT_HOME/prefect.db`, else
/// `~/.prefect/prefect.db` (see [`prefect_core::settings`]).
pub fn database_path() -> PathBuf {
    settings::current().database_path.clone()
}
