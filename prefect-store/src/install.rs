//! Recording on by default: the run database the settings name becomes the
//! process's default backend (its recorder, and its tag limits).
//!
//! [`install_default`] registers it; nothing is opened until the first run
//! that has no recorder of its own. `PREFECT_API_DATABASE_URL` (or
//! `$PREFECT_HOME/prefect.db`) names the database, `PREFECT_DB_RETENTION`
//! prunes old runs automatically, `PREFECT_RECORDING_ENABLED=false` records
//! nothing. `PREFECT_API_URL` names a server to record to instead (its
//! driver, `prefect-store-http`, must be registered; the `prefect` facade
//! registers it). A database that cannot be opened (not ours, corrupt, read-only)
//! turns recording off with one warning; the flows still run.

use std::sync::Arc;

use prefect_model::Backend;
use prefect_model::backend::set_default_backend;

use crate::any::{ConnectOptions, driver_for};
use crate::error::Result;
use crate::model::Retention;
use crate::recorder::RecorderOptions;
use crate::shared_limits::StoreLimits;
use crate::url::StoreUrl;

/// Makes the run database of the settings the process's default backend,
/// opened at the first run that needs it. Returns false when a default
/// backend was already registered (the first registration wins).
///
/// The database's driver must be registered ([`crate::register_driver`]);
/// `prefect_store_sqlite::install_default` registers SQLite and calls this.
pub fn install_default() -> bool {
    set_default_backend(open_default)
}

fn open_default() -> Backend {
    let settings = prefect_settings::current();
    if !settings.recording_enabled {
        return Backend::none();
    }
    // A server's URL wins: the server keeps the database (and prunes it).
    let (url, retention) = match &settings.api_url {
        Some(api) => match StoreUrl::parse(api) {
            Ok(url) => (url, None),
            Err(error) => {
                tracing::warn!("run recording is off for this process: PREFECT_API_URL: {error}");
                return Backend::none();
            }
        },
        None => {
            let retention = settings.db_retention.map(Retention::keep);
            match &settings.database_url {
                Some(server) => match StoreUrl::parse(server) {
                    Ok(url) => (url, retention),
                    Err(error) => {
                        tracing::warn!(
                            "run recording is off for this process: PREFECT_API_DATABASE_URL: {error}"
                        );
                        return Backend::none();
                    }
                },
                None => (StoreUrl::sqlite(&settings.database_path), retention),
            }
        }
    };
    match open_backend(&url, retention) {
        Ok(backend) => backend,
        Err(error) => {
            tracing::warn!("run recording is off for this process: {error}");
            Backend::none()
        }
    }
}

/// Opens the store at `url` as a backend: a recorder writing through its
/// own handle, and the store's tag limits.
///
/// # Errors
/// No driver for the URL, or the driver's error.
pub fn open_backend(url: &StoreUrl, retention: Option<Retention>) -> Result<Backend> {
    let driver = driver_for(url)?;
    let store = driver.connect(url, &ConnectOptions::default())?;
    let writer = driver.connect_writer(url, &ConnectOptions::default().detect_crashes(false))?;
    let mut options = RecorderOptions::default();
    if let Some(retention) = retention {
        options = options.retention(retention);
    }
    let recorder = options.start(writer.as_arc())?;
    Ok(Backend { recorder: Arc::new(recorder), limits: Some(Arc::new(StoreLimits::new(store.as_arc()))) })
}
