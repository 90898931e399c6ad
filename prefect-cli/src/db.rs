//! Finding and opening the run database.
//!
//! The store is resolved in one place ([`database_url`]), from `--db` or
//! the settings, and opened through [`AnyStore`], so any backend with a
//! registered driver works. Commands that only read open it without
//! migrating it (an older schema is read as it is), and never create it.

use std::future::Future;

use anyhow::Result;
use prefect_settings::Settings;
use prefect_store::{AnyStore, ConnectOptions, StoreUrl};

/// The store: `--db` (a path or a URL), else the server of the settings'
/// `api.url` (`PREFECT_API_URL`) when one is set, else their
/// `api.database_url` (`PREFECT_API_DATABASE_URL`, `prefect.toml`, the
/// active profile, ..., default `$PREFECT_HOME/prefect.db`).
///
/// # Errors
/// A `--db` that is not a store URL, or settings that cannot be loaded
/// (the error names the bad value and where it came from).
pub(crate) fn database_url(flag: Option<&str>) -> Result<StoreUrl> {
    match flag {
        Some(text) => Ok(StoreUrl::parse(text)?),
        None => {
            let settings = Settings::load()?;
            match &settings.api_url {
                Some(api) => Ok(StoreUrl::parse(api)?),
                None => local(&settings),
            }
        }
    }
}

/// The database itself, never a server: `--db`, else the settings'
/// `api.database_url`. What `prefect server start` serves.
///
/// # Errors
/// As [`database_url`].
pub(crate) fn local_database_url(flag: Option<&str>) -> Result<StoreUrl> {
    match flag {
        Some(text) => Ok(StoreUrl::parse(text)?),
        None => local(&Settings::load()?),
    }
}

/// The settings' own database: a server's URL, else the SQLite file.
fn local(settings: &Settings) -> Result<StoreUrl> {
    match &settings.database_url {
        Some(server) => Ok(StoreUrl::parse(server)?),
        None => Ok(StoreUrl::sqlite(&settings.database_path)),
    }
}

/// Whether the store exists (a SQLite file); other backends are asked.
fn exists(url: &StoreUrl) -> bool {
    url.path().is_none_or(std::path::Path::exists)
}

/// The error for commands that need runs when no database exists yet.
pub(crate) fn no_runs(url: &StoreUrl) -> anyhow::Error {
    anyhow::anyhow!("no runs recorded yet at {}", display(url))
}

/// The store as people read it: a file's path, else the URL without password.
pub(crate) fn display(url: &StoreUrl) -> String {
    url.path().map_or_else(|| url.redacted(), |path| path.display().to_string())
}

/// Opens the store for reading if it exists; `None` when it does not (it
/// is not created, and an older schema is not migrated).
///
/// # Errors
/// The store's error, naming it, for a file that is not a usable run
/// database.
pub(crate) fn open_existing(url: &StoreUrl) -> Result<Option<AnyStore>> {
    if !exists(url) {
        return Ok(None);
    }
    let options = ConnectOptions::new().create(false).migrate(false);
    Ok(Some(AnyStore::connect_with(url, &options)?))
}

/// Opens the store for changing it, creating it if needed.
pub(crate) fn open_or_create(url: &StoreUrl) -> Result<AnyStore> {
    Ok(AnyStore::connect_with(url, &ConnectOptions::new())?)
}

/// Opens an existing store for changing it; `None` when there is none.
pub(crate) fn open_existing_for_writing(url: &StoreUrl) -> Result<Option<AnyStore>> {
    if !exists(url) {
        return Ok(None);
    }
    Ok(Some(AnyStore::connect_with(url, &ConnectOptions::new().create(false))?))
}

/// Opens an existing database for reading, or fails with "no runs recorded yet".
pub(crate) fn open_required(url: &StoreUrl) -> Result<AnyStore> {
    open_existing(url)?.ok_or_else(|| no_runs(url))
}

/// Waits for a store future. The SQLite store answers on the calling
/// thread, so no runtime is needed.
pub(crate) fn wait<F: Future>(future: F) -> F::Output {
    futures::executor::block_on(future)
}
