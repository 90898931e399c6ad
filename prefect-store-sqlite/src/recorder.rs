//! [`SqliteRecorder`]: the batching recorder on a SQLite file.

use std::ops::Deref;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use prefect_model::{Event, FlushFuture, Recorder};
use prefect_store::{BatchingRecorder, RecorderOptions, Result, Retention};

use crate::open::SqliteOptions;
use crate::store::SqliteStore;

/// Records run events into a SQLite database without blocking the engine:
/// a [`BatchingRecorder`] whose writer has its own connection to the file.
///
/// # Examples
/// ```
/// # futures::executor::block_on(async {
/// use std::sync::Arc;
/// use prefect_model::{Event, FlowRunId, FlowRunRecord, Recorder};
/// use prefect_store::{FlowRunFilter, RunQuery};
/// use prefect_store_sqlite::{SqliteRecorder, SqliteStore};
///
/// let dir = tempfile::tempdir().unwrap();
/// let path = dir.path().join("runs.db");
/// let recorder = SqliteRecorder::open(&path).unwrap();
/// recorder.record(Event::FlowRunCreated(Arc::new(FlowRunRecord {
///     id: FlowRunId::new(),
///     name: "brave-otter".into(),
///     flow_name: "etl".into(),
///     flow_version: None,
///     parameters: serde_json::json!({}),
///     tags: Arc::from([]),
///     parent_flow_run_id: None,
///     parent_task_run_id: None,
///     created: chrono::Utc::now(),
/// })));
/// recorder.flush().await;
///
/// let store = SqliteStore::open(&path).unwrap();
/// let runs = store.list_flow_runs(&FlowRunFilter::new()).await.unwrap();
/// assert_eq!(runs[0].flow_name, "etl");
/// # });
/// ```
#[derive(Debug)]
pub struct SqliteRecorder {
    inner: BatchingRecorder,
}

/// Options of a [`SqliteRecorder`]: the recorder's, plus how long a write
/// waits for another process's lock.
#[derive(Debug, Clone, Default)]
pub struct SqliteRecorderBuilder {
    options: RecorderOptions,
    busy_timeout: Option<Duration>,
}

impl SqliteRecorderBuilder {
    /// At most this many events per transaction (default 1,000).
    pub fn max_batch(mut self, events: usize) -> Self {
        self.options = self.options.max_batch(events);
        self
    }

    /// At most this long between the first event of a batch and its commit
    /// (default 50 ms).
    pub fn max_delay(mut self, delay: Duration) -> Self {
        self.options = self.options.max_delay(delay);
        self
    }

    /// At most this many events wait in the queue (default 100,000); at
    /// the mark, recording waits for the writer.
    pub fn high_water(mut self, events: usize) -> Self {
        self.options = self.options.high_water(events);
        self
    }

    /// How long the recorder's lease lasts without renewal (default 30 s).
    pub fn lease_ttl(mut self, ttl: Duration) -> Self {
        self.options = self.options.lease_ttl(ttl);
        self
    }

    /// How many times a batch is tried while the database is busy before it
    /// is dropped (default 3).
    pub fn attempts(mut self, attempts: u32) -> Self {
        self.options = self.options.attempts(attempts);
        self
    }

    /// Prune old runs automatically: at start, then whenever due.
    pub fn retention(mut self, retention: Retention) -> Self {
        self.options = self.options.retention(retention);
        self
    }

    /// How long one write waits for another process's lock (default 5 s).
    pub fn busy_timeout(mut self, timeout: Duration) -> Self {
        self.busy_timeout = Some(timeout);
        self
    }

    /// Opens (or creates) the database at `path` and starts the writer.
    ///
    /// # Errors
    /// The errors of [`SqliteStore::open`], or when the writer cannot start.
    pub fn open(self, path: impl AsRef<Path>) -> Result<SqliteRecorder> {
        let mut sqlite = SqliteOptions::new();
        if let Some(timeout) = self.busy_timeout {
            sqlite = sqlite.busy_timeout(timeout);
        }
        let store = sqlite.open(path)?;
        self.build(&store)
    }

    /// Starts a writer for `store`: on its own connection to the same file,
    /// or sharing the connection of a memory store.
    ///
    /// # Errors
    /// When the writer's connection cannot be opened, the lease cannot be
    /// taken, or the thread cannot start.
    pub fn build(self, store: &SqliteStore) -> Result<SqliteRecorder> {
        let writer = Arc::new(store.writer_store()?);
        Ok(SqliteRecorder { inner: self.options.start(writer)? })
    }
}

impl SqliteRecorder {
    /// A recorder writing to the database at `path`, with default options.
    ///
    /// # Errors
    /// See [`SqliteRecorderBuilder::open`].
    pub fn open(path: impl AsRef<Path>) -> Result<SqliteRecorder> {
        Self::builder().open(path)
    }

    /// Options for a recorder.
    pub fn builder() -> SqliteRecorderBuilder {
        SqliteRecorderBuilder::default()
    }
}

impl Deref for SqliteRecorder {
    type Target = BatchingRecorder;

    fn deref(&self) -> &BatchingRecorder {
        &self.inner
    }
}

impl Recorder for SqliteRecorder {
    fn record(&self, event: Event) {
        self.inner.record(event);
    }

    fn flush(&self) -> FlushFuture<'_> {
        self.inner.flush()
    }

    fn close(&self) {
        self.inner.close();
    }
}
