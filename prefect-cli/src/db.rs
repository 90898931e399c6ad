//! Finding and opening the run database.
//!
//! The path is resolved in one place ([`database_path`]), from `--db` or
//! the settings.

use std::future::Future;
use std::path::{Path, PathBuf};

use anyhow::Result;
use prefect_core::settings::Settings;
use prefect_store::SqliteStore;

/// The database file: `--db`, else the settings' `api.database_url`
/// (`PREFECT_API_DATABASE_URL`, `prefect.toml`, the active profile, ...,
/// default `$PREFECT_HOME/prefect.db`).
///
/// # Errors
/// When the settings cannot be loaded (the error names the bad value and
/// where it came from).
pub(crate) fn database_path(flag: Option<&Path>) -> Result<PathBuf> {
    match flag {
        Some(path) => Ok(path.to_owned()),
        None => Ok(Settings::load()?.database_path),
    }
}

/// The error for commands that need runs when no database exists yet.
pub(crate) fn no_runs(path: &Path) -> anyhow::Error {
    anyhow::anyhow!("no runs recorded yet at {}", path.display())
}

/// Opens the database if the file exists; `None` when it does not (it is
/// not created).
///
/// # Errors
/// The store's error, naming the file, for a file that is not a usable run
/// database.
pub(crate) fn open_existing(path: &Path) -> Result<Option<SqliteStore>> {
    if !path.exists() {
        return Ok(None);
    }
    Ok(Some(SqliteStore::open(path)?))
}

/// Opens the database, creating it if needed.
pub(crate) fn open_or_create(path: &Path) -> Result<SqliteStore> {
    Ok(SqliteStore::open(path)?)
}

/// Opens an existing database or fails with "no runs recorded yet".
pub(crate) fn open_required(path: &Path) -> Result<SqliteStore> {
    open_existing(path)?.ok_or_else(|| no_runs(path))
}

/// Waits for a store future. The SQLite store answers on the calling
/// thread, so no runtime is needed.
pub(crate) fn wait<F: Future>(future: F) -> F::Output {
    futures::executor::block_on(future)
}
