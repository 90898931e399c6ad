//! Recording on by default: the first run of a program that set no
//! recorder opens the run database (`$PREFECT_HOME/prefect.db`, or
//! `PREFECT_API_DATABASE_URL`) and records every run into it.
//!
//! `PREFECT_DB_RETENTION=30d` prunes runs older than that automatically.
//! Set `PREFECT_RECORDING_ENABLED=false` to record nothing, or install
//! another recorder first with [`prefect_core::record::set_global_recorder`].
//! Tests use [`crate::testing`], whose scoped recorder takes precedence.
//! A database that cannot be opened (not ours, corrupt, read-only) turns
//! recording off with one warning; the flows still run.

use std::path::PathBuf;
use std::sync::Arc;

use prefect_core::record::{NoopRecorder, Recorder, set_default_recorder_factory};
use prefect_core::settings;
use prefect_store::{Retention, SqliteRecorder};

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
        Ok(recorder) => Arc::new(recorder),
        Err(error) => {
            tracing::warn!("run recording is off for this process: {error}");
            Arc::new(NoopRecorder)
        }
    }
}

/// Where runs are recorded: `PREFECT_API_DATABASE_URL` (env, `prefect.toml`
/// or the active profile), else `$PREFECT_HOME/prefect.db`, else
/// `~/.prefect/prefect.db` (see [`prefect_core::settings`]).
pub fn database_path() -> PathBuf {
    settings::current().database_path.clone()
}
