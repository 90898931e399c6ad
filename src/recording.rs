//! Recording on by default: the first run of a program that set no
//! recorder opens the run database (`$PREFECT_HOME/prefect.db`, or
//! `PREFECT_API_DATABASE_URL`) and records every run into it.
//!
//! Set `PREFECT_RECORDING_ENABLED=false` to record nothing, or install
//! another recorder first with [`prefect_core::record::set_global_recorder`].
//! Tests use [`crate::testing`], whose scoped recorder takes precedence.
//! A database that cannot be opened (not ours, corrupt, read-only) turns
//! recording off with one warning; the flows still run.

use std::path::PathBuf;
use std::sync::Arc;

use prefect_core::record::{NoopRecorder, Recorder, set_default_recorder_factory};
use prefect_store::SqliteRecorder;

/// Registers the run database as the default recorder (idempotent, cheap).
pub(crate) fn ensure_default() {
    set_default_recorder_factory(open_default);
}

fn open_default() -> Arc<dyn Recorder> {
    if !recording_enabled() {
        return Arc::new(NoopRecorder);
    }
    let path = database_path();
    match SqliteRecorder::open(&path) {
        Ok(recorder) => Arc::new(recorder),
        Err(error) => {
            tracing::warn!("run recording is off for this process: {error}");
            Arc::new(NoopRecorder)
        }
    }
}

fn recording_enabled() -> bool {
    !matches!(
        std::env::var("PREFECT_RECORDING_ENABLED").map(|v| v.to_ascii_lowercase()).as_deref(),
        Ok("false" | "0" | "no" | "off")
    )
}

/// `PREFECT_API_DATABASE_URL` (a `sqlite:///` URL or a path), else
/// `$PREFECT_HOME/prefect.db`, else `~/.prefect/prefect.db`.
pub fn database_path() -> PathBuf {
    if let Ok(url) = std::env::var("PREFECT_API_DATABASE_URL") {
        return PathBuf::from(url.strip_prefix("sqlite:///").map(|p| format!("/{p}")).unwrap_or(url));
    }
    home().join("prefect.db")
}

fn home() -> PathBuf {
    if let Some(home) = std::env::var_os("PREFECT_HOME") {
        return PathBuf::from(home);
    }
    let user_home = std::env::var_os("HOME").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("."));
    user_home.join(".prefect")
}
