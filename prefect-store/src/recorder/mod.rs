//! [`BatchingRecorder`]: the engine's events, batched into a store by a
//! writer thread.

mod writer;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{self, Sender};
use std::thread::JoinHandle;
use std::time::Duration;

use futures::channel::oneshot;
use prefect_model::{Event, FlushFuture, Recorder};

use crate::capability::{EventWriter, Upkeep};

use crate::error::{Error, Result};
use crate::model::Retention;
use writer::{Command, Writer};

/// Records run events into a store without blocking the engine, for any
/// store that can write events ([`EventWriter`]) and keep itself
/// ([`Upkeep`]).
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
/// [`error_count`](BatchingRecorder::error_count), and the flows keep running.
///
/// The queue is unbounded, so recording never waits and never drops an
/// event while the store keeps up; a writer that falls behind holds the
/// backlog in memory. [Closing](Recorder::close) or dropping the recorder
/// blocks until the backlog is committed, the lease released (its runs that
/// have not ended are then marked Crashed) and the store checkpointed.
///
/// The writer thread never dies silently: a panic inside a store call (a
/// bug, or a store driver's) is caught, logged once and counted like any
/// other failed write, and the writer goes on.
///
/// The writer drives the store's futures with a plain executor on its own
/// thread: the store must not need a tokio runtime of the caller's.
///
/// `prefect-store-sqlite`'s `SqliteRecorder` is this recorder on a SQLite
/// file; its docs show it at work.
#[derive(Debug)]
pub struct BatchingRecorder {
    sender: Sender<Command>,
    stats: Arc<Stats>,
    /// Taken by [`Recorder::close`] (or the drop) to wait for the writer.
    writer: std::sync::Mutex<Option<JoinHandle<()>>>,
}

/// Counters shared with the writer thread.
#[derive(Debug, Default)]
pub(crate) struct Stats {
    pub(crate) stored: AtomicU64,
    pub(crate) errors: AtomicU64,
    pub(crate) lost: AtomicU64,
    pub(crate) error_logged: AtomicBool,
}

/// Options of a [`BatchingRecorder`].
#[derive(Debug, Clone)]
pub struct RecorderOptions {
    pub(crate) max_batch: usize,
    pub(crate) max_delay: Duration,
    pub(crate) lease_ttl: Duration,
    pub(crate) attempts: u32,
    pub(crate) retention: Option<Retention>,
}

impl Default for RecorderOptions {
    fn default() -> Self {
        RecorderOptions {
            max_batch: 1000,
            max_delay: Duration::from_millis(50),
            lease_ttl: Duration::from_secs(30),
            attempts: 3,
            retention: None,
        }
    }
}

impl RecorderOptions {
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

    /// Starts a writer thread storing events into `store` (give it a
    /// handle of its own, such as a second connection to the same file).
    ///
    /// # Errors
    /// When the lease cannot be taken, or [`Error::Thread`].
    pub fn start<W>(self, store: Arc<W>) -> Result<BatchingRecorder>
    where
        W: EventWriter + Upkeep + ?Sized + 'static,
    {
        let stats = Arc::new(Stats::default());
        let (sender, receiver) = mpsc::channel();
        let (started, start) = mpsc::sync_channel(1);
        let shared = stats.clone();
        let handle = std::thread::Builder::new()
            .name("prefect-store-writer".into())
            .spawn(move || match Writer::start(store, receiver, self, shared) {
                Ok(writer) => {
                    let _ = started.send(Ok(()));
                    writer.run();
                }
                Err(error) => {
                    let _ = started.send(Err(error));
                }
            })
            .map_err(Error::Thread)?;
        // The thread always answers before it ends.
        match start.recv() {
            Ok(Ok(())) => Ok(BatchingRecorder { sender, stats, writer: std::sync::Mutex::new(Some(handle)) }),
            Ok(Err(error)) => {
                let _ = handle.join();
                Err(error)
            }
            Err(_) => {
                Err(Error::Thread(std::io::Error::other("the writer thread stopped before it started")))
            }
        }
    }
}

impl BatchingRecorder {
    /// Starts a recorder on `store` with default options.
    ///
    /// # Errors
    /// See [`RecorderOptions::start`].
    pub fn start<W>(store: Arc<W>) -> Result<BatchingRecorder>
    where
        W: EventWriter + Upkeep + ?Sized + 'static,
    {
        RecorderOptions::default().start(store)
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

impl Recorder for BatchingRecorder {
    fn record(&self, event: Event) {
        // Fails only once the writer has stopped, when events are dropped.
        if self.sender.send(Command::Event(event)).is_err() {
            self.stats.lost.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Commits the backlog, releases the lease (runs it owns that have not
    /// ended are marked Crashed), checkpoints the store and stops the
    /// writer; later events are dropped and counted.
    fn close(&self) {
        let writer = self.writer.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(writer) = writer {
            let _ = self.sender.send(Command::Shutdown);
            let _ = writer.join();
        }
    }

    fn flush(&self) -> FlushFuture<'_> {
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

impl Drop for BatchingRecorder {
    fn drop(&mut self) {
        self.close();
    }
}
