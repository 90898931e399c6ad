//! [`SqliteRecorder`]: the engine's events, batched into SQLite by a writer
//! thread.

mod writer;

use std::future::Future;
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{self, Sender};
use std::thread::JoinHandle;
use std::time::Duration;

use futures::channel::oneshot;
use prefect_core::record::{Event, Recorder};

use crate::error::{Error, Result};
use crate::model::Retention;
use crate::sqlite::SqliteStore;
use writer::{Command, Writer};

/// Records run events into a SQLite database without blocking the engine.
///
/// [`Recorder::record`] queues the event and returns. A dedicated writer
/// thread stores queued events in transactions of up to `max_batch` events
/// or `max_delay` of waiting, whichever comes first, and renews the
/// recorder's [lease](crate::lease) so other processes can tell its runs
/// are alive. [`Recorder::flush`] resolves once everything recorded before
/// it is committed; dropping the recorder flushes too.
///
/// A batch that cannot be stored (disk full, read-only file, another
/// writer holding the lock past the busy timeout a few times) is dropped:
/// the first such error is logged with `tracing`, every one is counted in
/// [`error_count`](SqliteRecorder::error_count), and the flows keep running.
///
/// The queue is unbounded, so recording never waits and never drops an
/// event while the disk keeps up; a writer that falls behind holds the
/// backlog in memory. Dropping the recorder blocks until the backlog is
/// committed and the lease released (its runs that have not ended are then
/// marked Crashed).
///
/// # Examples
/// ```
/// # futures::executor::block_on(async {
/// use std::sync::Arc;
/// use prefect_core::record::{Event, FlowRunRecord, Recorder};
/// use prefect_core::FlowRunId;
/// use prefect_store::{FlowRunFilter, SqliteRecorder, SqliteStore, Store};
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
    sender: Sender<Command>,
    stats: Arc<Stats>,
    writer: Option<JoinHandle<()>>,
}

/// Counters shared with the writer thread.
#[derive(Debug, Default)]
pub(crate) struct Stats {
    pub(crate) stored: AtomicU64,
    pub(crate) errors: AtomicU64,
    pub(crate) lost: AtomicU64,
    pub(crate) error_logged: AtomicBool,
}

/// Options of a [`SqliteRecorder`].
#[derive(Debug, Clone)]
pub struct SqliteRecorderBuilder {
    pub(crate) max_batch: usize,
    pub(crate) max_delay: Duration,
    pub(crate) lease_ttl: Duration,
    pub(crate) busy_timeout: Duration,
    pub(crate) attempts: u32,
    pub(crate) retention: Option<Retention>,
}

impl Default for SqliteRecorderBuilder {
    fn default() -> Self {
        SqliteRecorderBuilder {
            max_batch: 1000,
            max_delay: Duration::from_millis(50),
            lease_ttl: Duration::from_secs(30),
            busy_timeout: Duration::from_secs(5),
            attempts: 3,
            retention: None,
        }
    }
}

impl SqliteRecorderBuilder {
    /// At most this many events per transaction (default 1,000).
    pub fn max_batch(mut self, events: usize) -> Self {
        self.max_batch = events.max(1);
        self
    }

    /// At most this long between the first event of a batch and its commit
    /// (default 50 ms).
    pub fn max_delay(mut self, delay: Duration) -> Self {
        self.max_delay = delay;
        self
    }

    /// How long the recorder's lease lasts without renewal (default 30 s);
    /// it is renewed every third of that.
    pub fn lease_ttl(mut self, ttl: Duration) -> Self {
        self.lease_ttl = ttl.max(Duration::from_millis(30));
        self
    }

    /// How long one write waits for another process's lock (default 5 s).
    pub fn busy_timeout(mut self, timeout: Duration) -> Self {
        self.busy_timeout = timeout;
        self
    }

    /// How many times a batch is tried while the database is busy before it
    /// is dropped (default 3).
    pub fn attempts(mut self, attempts: u32) -> Self {
        self.attempts = attempts.max(1);
        self
    }

    /// Prune old runs automatically: at start, then whenever due.
    pub fn retention(mut self, retention: Retention) -> Self {
        self.retention = Some(retention);
        self
    }

    /// Opens (or creates) the database at `path` and starts the writer.
    ///
    /// # Errors
    /// The errors of [`SqliteStore::open`], or [`Error::Thread`].
    pub fn open(self, path: impl AsRef<Path>) -> Result<SqliteRecorder> {
        let store = crate::SqliteOptions::new().busy_timeout(self.busy_timeout).open(path)?;
        self.build(&store)
    }

    /// Starts a writer for `store`: on its own connection to the same file,
    /// or sharing the connection of a memory store.
    ///
    /// # Errors
    /// When the writer's connection cannot be opened, the lease cannot be
    /// taken, or the thread cannot start.
    pub fn build(self, store: &SqliteStore) -> Result<SqliteRecorder> {
        let store = store.writer_store()?;
        let stats = Arc::new(Stats::default());
        let (sender, receiver) = mpsc::channel();
        let writer = Writer::start(store, receiver, self, stats.clone())?;
        let handle = std::thread::Builder::new()
            .name("prefect-store-writer".into())
            .spawn(move || writer.run())
            .map_err(Error::Thread)?;
        Ok(SqliteRecorder { sender, stats, writer: Some(handle) })
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

    /// How many writes failed: event batches that could not be stored, and
    /// lease renewals.
    pub fn error_count(&self) -> u64 {
        self.stats.errors.load(Ordering::Relaxed)
    }

    /// How many events were dropped because their batch could not be stored.
    pub fn lost_count(&self) -> u64 {
        self.stats.lost.load(Ordering::Relaxed)
    }

    /// How many events have been committed.
    pub fn stored_count(&self) -> u64 {
        self.stats.stored.load(Ordering::Relaxed)
    }

    /// Blocks the calling thread until everything recorded so far is
    /// stored. Prefer [`Recorder::flush`] in async code.
    pub fn flush_blocking(&self) {
        futures::executor::block_on(self.flush());
    }
}

impl Recorder for SqliteRecorder {
    fn record(&self, event: Event) {
        // Fails only once the writer has stopped, when events are dropped.
        if self.sender.send(Command::Event(event)).is_err() {
            self.stats.lost.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn flush(&self) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        let (done, wait) = oneshot::channel();
        let sent = self.sender.send(Command::Flush(done)).is_ok();
        Box::pin(async move {
            if sent {
                // An error means the writer stopped; nothing more will be stored.
                let _ = wait.await;
            }
        })
    }
}

impl Drop for SqliteRecorder {
    fn drop(&mut self) {
        let _ = self.sender.send(Command::Shutdown);
        if let Some(writer) = self.writer.take() {
            let _ = writer.join();
        }
    }
}
