//! [`SqliteStore`]: one file in WAL mode, or memory, behind a mutex-guarded
//! connection.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use prefect_model::Event;

use rusqlite::{Connection, ErrorCode};

use crate::open::SqliteOptions;

use prefect_store::{Error, Result};

/// A run database in one SQLite file (or in memory), implementing
/// [`prefect_store::Store`].
///
/// Opening applies pending schema migrations, switches the file to WAL
/// mode, and marks Crashed the runs of processes that died (see
/// [`prefect_store::lease`]). Clones share one connection; each
/// [`crate::SqliteRecorder`] writes through its own.
///
/// # Examples
/// ```
/// # futures::executor::block_on(async {
/// use prefect_store::FlowRunFilter;
/// use prefect_store::prelude::*;
/// use prefect_store_sqlite::SqliteStore;
///
/// let dir = tempfile::tempdir().unwrap();
/// let store = SqliteStore::open(dir.path().join("runs.db")).unwrap();
/// assert!(store.list_flow_runs(&FlowRunFilter::new()).await.unwrap().is_empty());
/// assert_eq!(store.integrity_check().unwrap(), Vec::<String>::new());
/// # });
/// ```
#[derive(Clone)]
pub struct SqliteStore {
    inner: Arc<Inner>,
}

struct Inner {
    location: Location,
    options: SqliteOptions,
    conn: Mutex<Conn>,
}

#[derive(Debug, Clone)]
pub(crate) enum Location {
    File(PathBuf),
    Memory,
}

/// A connection and what is cached alongside it.
pub(crate) struct Conn {
    pub(crate) db: Connection,
    /// Flow name to `flows.id`, filled by writes; cleared when a write
    /// transaction fails (its inserts were rolled back).
    pub(crate) flows: HashMap<String, i64>,
}

/// An error inside a query: a driver error (mapped to [`Error`] with the
/// store's location) or a store error as is.
#[derive(Debug)]
pub(crate) enum Failure {
    Sql(rusqlite::Error),
    Store(Error),
}

impl From<rusqlite::Error> for Failure {
    fn from(e: rusqlite::Error) -> Self {
        Failure::Sql(e)
    }
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        Failure::Store(e)
    }
}

/// `Result` inside queries.
pub(crate) type QueryResult<T> = std::result::Result<T, Failure>;

impl SqliteStore {
    /// Opens (or creates) the database file at `path` with default options.
    ///
    /// # Errors
    /// [`Error::NotADatabase`], [`Error::Corrupt`], [`Error::SchemaTooNew`]
    /// (the file is left untouched), or [`Error::Open`].
    pub fn open(path: impl AsRef<Path>) -> Result<SqliteStore> {
        SqliteOptions::new().open(path)
    }

    /// A fresh database in memory, gone when the last clone is dropped.
    ///
    /// # Errors
    /// When SQLite cannot allocate it.
    pub fn open_in_memory() -> Result<SqliteStore> {
        SqliteOptions::new().open_in_memory()
    }

    pub(crate) fn from_parts(location: Location, options: SqliteOptions, db: Connection) -> SqliteStore {
        let conn = Mutex::new(Conn { db, flows: HashMap::new() });
        SqliteStore { inner: Arc::new(Inner { location, options, conn }) }
    }

    /// The database file, or `None` in memory.
    pub fn path(&self) -> Option<&Path> {
        match &self.inner.location {
            Location::File(path) => Some(path),
            Location::Memory => None,
        }
    }

    /// Runs SQLite's full integrity check and returns the problems found
    /// (empty when the database is sound).
    ///
    /// # Errors
    /// When the check itself cannot run.
    pub fn integrity_check(&self) -> Result<Vec<String>> {
        self.with_conn(|conn| {
            let mut stmt = conn.db.prepare("PRAGMA integrity_check")?;
            let rows = stmt.query_map([], |row| row.get::<_, String>(0))?;
            let problems: Vec<String> = rows.collect::<rusqlite::Result<_>>()?;
            Ok(problems.into_iter().filter(|p| p != "ok").collect())
        })
    }

    /// The schema version of the database.
    ///
    /// # Errors
    /// When it cannot be read.
    pub fn schema_version(&self) -> Result<i64> {
        self.with_conn(|conn| Ok(conn.db.pragma_query_value(None, "user_version", |r| r.get(0))?))
    }

    /// Whether the database is at the schema this build writes, marked as
    /// ours.
    ///
    /// # Errors
    /// When the header cannot be read.
    pub fn is_current(&self) -> Result<bool> {
        self.with_conn(|conn| {
            let identity = crate::schema::identify(&conn.db)?;
            Ok(identity == crate::schema::Identity::Ours(Self::SCHEMA_VERSION)
                && conn.db.pragma_query_value(None, "application_id", |r| r.get::<_, i64>(0))?
                    == crate::schema::APPLICATION_ID)
        })
    }

    /// The schema version this build writes.
    pub const SCHEMA_VERSION: i64 = crate::schema::SCHEMA_VERSION;

    /// A handle for a recorder's writer: a second connection to the same
    /// file (without crash detection, which this one did), or this one in
    /// memory (a memory database has one connection).
    ///
    /// # Errors
    /// When the second connection cannot be opened.
    pub fn writer_store(&self) -> Result<SqliteStore> {
        match &self.inner.location {
            Location::File(path) => {
                let mut options = self.inner.options.clone().detect_crashes(false);
                // Its writer thread checkpoints, not the root runs that commit through it.
                options.auto_checkpoint = false;
                options.open(path)
            }
            Location::Memory => Ok(self.clone()),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Conn> {
        // A panic inside a query rolls its transaction back on unwind, so
        // the connection is usable.
        self.inner.conn.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Runs `f` on the connection, mapping driver errors.
    pub(crate) fn with_conn<T>(&self, f: impl FnOnce(&mut Conn) -> QueryResult<T>) -> Result<T> {
        let mut conn = self.lock();
        f(&mut conn).map_err(|failure| match failure {
            Failure::Store(e) => e,
            Failure::Sql(e) => self.map_sql(e),
        })
    }

    /// Stores `events` unless another connection holds the write lock:
    /// the busy timeout is zero for this one transaction. `Ok(false)`:
    /// busy, nothing stored.
    pub(crate) fn write_events_without_waiting(&self, lease: Option<i64>, events: &[Event]) -> Result<bool> {
        let mut conn = self.lock();
        let waiting = self.inner.options.busy_timeout;
        let outcome = conn
            .db
            .busy_timeout(Duration::ZERO)
            .map_err(Failure::Sql)
            .and_then(|()| crate::write::write_events(&mut conn, lease, events));
        // Restored whatever happened: the writer thread waits as configured.
        let restored = conn.db.busy_timeout(waiting);
        drop(conn);
        match outcome {
            Ok(()) => restored.map(|()| true).map_err(|e| self.map_sql(e)),
            Err(Failure::Sql(e)) if is_busy(&e) => Ok(false),
            Err(Failure::Sql(e)) => Err(self.map_sql(e)),
            Err(Failure::Store(e)) => Err(e),
        }
    }

    fn map_sql(&self, e: rusqlite::Error) -> Error {
        let code = e.sqlite_error_code();
        if let (Location::File(path), Some(ErrorCode::DatabaseCorrupt | ErrorCode::NotADatabase)) =
            (&self.inner.location, code)
        {
            return Error::Corrupt { path: path.clone(), source: Box::new(e) };
        }
        let busy = is_busy(&e);
        Error::Database { location: self.location_name(), source: Box::new(e), busy }
    }

    pub(crate) fn location_name(&self) -> String {
        match &self.inner.location {
            Location::File(path) => path.display().to_string(),
            Location::Memory => ":memory:".to_owned(),
        }
    }
}

impl fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqliteStore").field("location", &self.inner.location).finish()
    }
}

/// Whether SQLite gave up waiting for another connection's lock.
fn is_busy(e: &rusqlite::Error) -> bool {
    matches!(e.sqlite_error_code(), Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked))
}
