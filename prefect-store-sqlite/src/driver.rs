//! The SQLite [`Driver`]: opens `sqlite:` URLs and plain paths.

use prefect_store::{AnyStore, ConnectOptions, Driver, Error, Result, StoreUrl};

use crate::open::SqliteOptions;
use crate::store::SqliteStore;

/// Opens SQLite run databases for [`AnyStore::connect`].
#[derive(Debug, Clone, Copy, Default)]
pub struct SqliteDriver;

/// The driver, for [`prefect_store::register_driver`].
pub static DRIVER: SqliteDriver = SqliteDriver;

impl SqliteDriver {
    fn options(options: &ConnectOptions) -> SqliteOptions {
        SqliteOptions::new()
            .busy_timeout(options.busy_timeout_value())
            .detect_crashes(options.detects_crashes())
            .read_only(options.is_read_only())
            .create(options.creates())
            .migrate(options.migrates())
    }

    fn open(url: &StoreUrl, options: &ConnectOptions) -> Result<SqliteStore> {
        let sqlite = Self::options(options);
        match url.path() {
            Some(path) => sqlite.open(path),
            None if url.as_str() == "sqlite::memory:" => sqlite.open_in_memory(),
            None => Err(Error::InvalidArgument {
                what: "store URL",
                reason: format!("`{url}` names no SQLite file"),
            }),
        }
    }
}

impl Driver for SqliteDriver {
    fn name(&self) -> &'static str {
        "sqlite"
    }

    fn schemes(&self) -> &'static [&'static str] {
        &["sqlite"]
    }

    fn connect(&self, url: &StoreUrl, options: &ConnectOptions) -> Result<AnyStore> {
        Ok(AnyStore::new(Self::open(url, options)?))
    }
}

/// Makes `sqlite:` URLs and plain paths openable with
/// [`AnyStore::connect`]. Calling it again does nothing.
pub fn register() {
    prefect_store::register_driver(&DRIVER);
}

/// Registers the SQLite driver, then makes the run database of the
/// settings the process's default backend ([`prefect_store::install_default`]):
/// what a program that sets nothing up records into. The `prefect`
/// facade's defaults call it before the first run.
pub fn install_default() -> bool {
    register();
    prefect_store::install_default()
}
