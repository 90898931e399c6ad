//! Opening a database file safely: identify it as ours before SQLite
//! writes anything (its header's application id, or for older files the
//! exact set of our tables), refuse anything else, then configure WAL and
//! migrate. A read-only open writes nothing at all.

use std::io::Read;
use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, ErrorCode, OpenFlags};

use crate::schema::{self, Identity, Version};
use crate::{Location, SqliteStore};
use prefect_store::{Error, Result};

/// The first 16 bytes of every SQLite database file.
const SQLITE_HEADER: &[u8; 16] = b"SQLite format 3\0";

/// Prepared statements kept per connection.
const STATEMENT_CACHE: usize = 64;

/// Page cache per connection, in KiB (as a negative `cache_size`).
const CACHE_KIB: i64 = -16 * 1024;

/// How to open a [`SqliteStore`].
///
/// # Examples
/// ```
/// use std::time::Duration;
/// use prefect_store_sqlite::SqliteOptions;
///
/// let store = SqliteOptions::new()
///     .busy_timeout(Duration::from_secs(10))
///     .open_in_memory()
///     .unwrap();
/// # drop(store);
/// ```
#[derive(Debug, Clone)]
pub struct SqliteOptions {
    pub(crate) busy_timeout: Duration,
    detect_crashes: bool,
    /// Whether commits on this connection checkpoint the log when it grows
    /// (SQLite's default); a recorder's writer checkpoints on its own thread.
    pub(crate) auto_checkpoint: bool,
    read_only: bool,
    create: bool,
    migrate: bool,
}

impl Default for SqliteOptions {
    fn default() -> Self {
        SqliteOptions {
            busy_timeout: Duration::from_secs(5),
            detect_crashes: true,
            auto_checkpoint: true,
            read_only: false,
            create: true,
            migrate: true,
        }
    }
}

impl SqliteOptions {
    /// Defaults: wait up to 5 s for another writer's lock, detect crashed
    /// runs at open.
    pub fn new() -> Self {
        Self::default()
    }

    /// How long a statement waits for another process's write lock before
    /// failing as busy.
    pub fn busy_timeout(mut self, timeout: Duration) -> Self {
        self.busy_timeout = timeout;
        self
    }

    /// Whether opening marks Crashed the runs of dead processes (default
    /// true). A failure to do so (a read-only file) is logged, not returned.
    pub fn detect_crashes(mut self, detect: bool) -> Self {
        self.detect_crashes = detect;
        self
    }

    /// Opens for reading only (default false): nothing is created, migrated
    /// or written, the journal mode is left as it is, and crashed runs are
    /// not marked. A file of an older schema is read as it is.
    pub fn read_only(mut self, read_only: bool) -> Self {
        self.read_only = read_only;
        self
    }

    /// Whether an older schema is migrated and the journal mode set (default
    /// true). Without it, a file at the current schema opens for writing
    /// as it is, and an older one opens read-only (see [`read_only`](Self::read_only)).
    pub fn migrate(mut self, migrate: bool) -> Self {
        self.migrate = migrate;
        self
    }

    /// Whether a missing file is created (default true; never when read-only).
    pub fn create(mut self, create: bool) -> Self {
        self.create = create;
        self
    }

    /// Opens (or creates) the database file at `path`, creating its
    /// directory if needed.
    ///
    /// # Errors
    /// [`Error::NotADatabase`] for a file that is not a SQLite database or
    /// belongs to another program, [`Error::Corrupt`], [`Error::SchemaTooNew`]:
    /// in these cases the file is left untouched. [`Error::Open`] when the
    /// file cannot be opened, or is missing and may not be created.
    pub fn open(&self, path: impl AsRef<Path>) -> Result<SqliteStore> {
        let path = path.as_ref();
        check_header(path)?;
        // Not migrating: a file that would need it is only read.
        if !self.migrate && !self.read_only && path.exists() {
            let reader = self.clone().read_only(true).detect_crashes(false).open(path)?;
            if !reader.is_current()? {
                return Ok(reader);
            }
        }
        let create = self.create && !self.read_only;
        if !create && !path.exists() {
            let missing = std::io::Error::new(std::io::ErrorKind::NotFound, "no such file");
            return Err(Error::Open { path: path.to_owned(), source: Box::new(missing) });
        }
        let flags = if self.read_only {
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX
        } else {
            create_parent(path)?;
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_CREATE
                | OpenFlags::SQLITE_OPEN_NO_MUTEX
        };
        let db = Connection::open_with_flags(path, flags).map_err(|e| open_error(path, e))?;
        let db = self.prepare(db, path)?;
        let store = SqliteStore::from_parts(Location::File(path.to_owned()), self.clone(), db);
        if self.detect_crashes && !self.read_only {
            detect_crashes(&store);
        }
        Ok(store)
    }

    /// A fresh database in memory.
    ///
    /// # Errors
    /// When SQLite cannot allocate it.
    pub fn open_in_memory(&self) -> Result<SqliteStore> {
        let path = Path::new(":memory:");
        let db = Connection::open_in_memory().map_err(|e| open_error(path, e))?;
        let db = self.prepare(db, path)?;
        Ok(SqliteStore::from_parts(Location::Memory, self.clone(), db))
    }

    /// Identifies the file, then (unless read-only) configures and migrates it.
    fn prepare(&self, mut db: Connection, path: &Path) -> Result<Connection> {
        let file_error = |e: rusqlite::Error| file_error(path, e);
        db.busy_timeout(self.busy_timeout).map_err(file_error)?;
        db.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        // Reading the header and schema parses page 1: a damaged file fails
        // here, before anything is written.
        let sets_up = self.migrate && !self.read_only;
        match schema::identify(&db).map_err(file_error)? {
            Identity::TooNew(found) => return Err(too_new(path, found)),
            Identity::Foreign => return Err(Error::NotADatabase { path: path.to_owned() }),
            Identity::Empty if !sets_up => return Err(empty(path)),
            Identity::Empty => db.pragma_update(None, "auto_vacuum", "INCREMENTAL").map_err(file_error)?,
            Identity::Ours(_) => {}
        }
        // Connection settings, not the file's.
        db.pragma_update(None, "cache_size", CACHE_KIB).map_err(file_error)?;
        if !self.read_only {
            db.pragma_update(None, "synchronous", "NORMAL").map_err(file_error)?;
        }
        if !self.auto_checkpoint {
            db.pragma_update(None, "wal_autocheckpoint", 0).map_err(file_error)?;
        }
        if !sets_up {
            return Ok(db);
        }
        db.pragma_update_and_check(None, "journal_mode", "WAL", |_| Ok(())).map_err(file_error)?;
        match schema::migrate(&mut db).map_err(file_error)? {
            Version::TooNew(found) => Err(too_new(path, found)),
            Version::Known(_) => Ok(db),
        }
    }
}

/// Refuses a non-empty file that does not start with the SQLite header,
/// without letting SQLite touch it.
fn check_header(path: &Path) -> Result<()> {
    let mut file = match std::fs::File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(Error::Open { path: path.to_owned(), source: Box::new(e) }),
    };
    let mut header = Vec::with_capacity(SQLITE_HEADER.len());
    file.by_ref()
        .take(SQLITE_HEADER.len() as u64)
        .read_to_end(&mut header)
        .map_err(|e| Error::Open { path: path.to_owned(), source: Box::new(e) })?;
    if header.is_empty() || header == SQLITE_HEADER {
        Ok(())
    } else {
        Err(Error::NotADatabase { path: path.to_owned() })
    }
}

/// Creates the directory the database goes in, if missing.
fn create_parent(path: &Path) -> Result<()> {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => std::fs::create_dir_all(parent)
            .map_err(|e| Error::Open { path: path.to_owned(), source: Box::new(e) }),
        _ => Ok(()),
    }
}

fn empty(path: &Path) -> Error {
    let empty = std::io::Error::new(
        std::io::ErrorKind::InvalidData,
        "the file is empty: no runs were recorded in it",
    );
    Error::Open { path: path.to_owned(), source: Box::new(empty) }
}

fn too_new(path: &Path, found: i64) -> Error {
    Error::SchemaTooNew { path: path.to_owned(), found, supported: schema::SCHEMA_VERSION }
}

fn open_error(path: &Path, e: rusqlite::Error) -> Error {
    Error::Open { path: path.to_owned(), source: Box::new(e) }
}

/// Maps an error met while checking and preparing the file.
fn file_error(path: &Path, e: rusqlite::Error) -> Error {
    match e.sqlite_error_code() {
        Some(ErrorCode::NotADatabase) => Error::NotADatabase { path: path.to_owned() },
        Some(ErrorCode::DatabaseCorrupt) => Error::Corrupt { path: path.to_owned(), source: Box::new(e) },
        _ => open_error(path, e),
    }
}

fn detect_crashes(store: &SqliteStore) {
    let result = store.with_conn(|conn| super::crash::mark_crashed_stale_runs(&mut conn.db));
    match result {
        Ok(runs) if !runs.is_empty() => {
            tracing::info!(count = runs.len(), "marked runs of stopped processes as Crashed");
        }
        Ok(_) => {}
        Err(error) => tracing::warn!(%error, "could not check for crashed runs"),
    }
}
