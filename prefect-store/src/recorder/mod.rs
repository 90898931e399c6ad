//! [`BatchingRecorder`]: the engine's events, batched into a store by a
//! writer thread, or committed by the root run waiting for them.

mod queue;
mod writer;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Duration;

use futures::channel::oneshot;
use prefect_model::{Event, FlushFuture, Recorder};

use crate::capability::{EventWriter, Upkeep};

use crate::error::{Error, Result};
use crate::lease::LeaseId;
use crate::model::Retention;
use queue::{Added, Queue, Taken};
use writer::Writer;

/// Records run events into a store without blocking the engine, for any
/// store that can write events ([`EventWriter`]) and keep itself
/// ([`Upkeep`]).
///
/// [`Recorder::record`] queues the event and returns. A dedicated writer
/// thread stores queued events in transactions of up to `max_batch` events
/// or `max_delay` of waiting, whichever comes first, and renews the
/// recorder's [lease](crate::lease) so other processes can tell its runs
/// are alive. [`Recorder::flush`] resolves once everything recorded before
/// it is committed.
///
/// A flush commits on the caller's own thread when nothing else is
/// committing and the store can write without waiting for another
/// process's lock ([`EventWriter::write_events_now`]): the root run that
/// waits for its final state to be durable pays one commit, with no
/// hand-off to the writer thread and back. Otherwise (the writer is
/// committing, or the database is busy) the writer thread stores the queue
/// and answers. Batches commit in the order they were recorded either way.
///
/// The queue is bounded: at the high-water mark (default 100,000 events, a
/// few tens of MB) [`record`](Recorder::record) waits until the writer has
/// taken the queue, so a writer that falls behind slows the engine down
/// briefly instead of growing memory without bound; no event is dropped
/// for being late. [`queue_peak`](BatchingRecorder::queue_peak) and
/// [`backpressure_count`](BatchingRecorder::backpressure_count) tell how
/// close a program came.
///
/// A batch that cannot be stored (disk full, read-only file, another
/// writer holding the lock past the busy timeout a few times) is dropped:
/// the first such error is logged with `tracing`, every one is counted in
/// [`error_count`](BatchingRecorder::error_count), and the flows keep running.
/// [Closing](Recorder::close) or dropping the recorder blocks until the
/// backlog is committed, the lease released (its runs that have not ended
/// are then marked Crashed) and the store checkpointed.
///
/// The writer thread never dies silently: a panic inside a store call (a
/// bug, or a store driver's) is caught, logged once and counted like any
/// other failed write, and the writer goes on. Should the thread end
/// anyway, the queue is closed: later events are dropped and counted, and
/// nothing waits for it.
///
/// The store's futures are driven with a plain executor (on the writer's
/// thread, or the flushing caller's): the store must not need a tokio
/// runtime of the caller's.
///
/// `prefect-store-sqlite`'s `SqliteRecorder` is this recorder on a SQLite
/// file; its docs show it at work.
#[derive(Debug)]
pub struct BatchingRecorder {
    shared: Arc<Shared>,
    /// Taken by [`Recorder::close`] (or the drop) to wait for the writer.
    writer: std::sync::Mutex<Option<JoinHandle<()>>>,
}

/// Stores a batch now unless that means waiting: the store's
/// [`EventWriter::write_events_now`], type-erased.
type WriteNow = Box<dyn Fn(Option<LeaseId>, &[Event]) -> Result<bool> + Send + Sync>;

/// What the recorder, the writer thread and flushing callers share.
pub(crate) struct Shared {
    queue: Queue,
    stats: Stats,
    /// The writer's lease (set once it is taken).
    lease: AtomicI64,
    /// `stats.stored` at the last checkpoint.
    checkpointed: AtomicU64,
    write_now: WriteNow,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared")
            .field("queue", &self.queue)
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

/// Counters.
#[derive(Debug, Default)]
pub(crate) struct Stats {
    pub(crate) stored: AtomicU64,
    pub(crate) errors: AtomicU64,
    pub(crate) lost: AtomicU64,
    pub(crate) backpressure: AtomicU64,
    pub(crate) error_logged: AtomicBool,
}

/// Events stored between two checkpoints of the store's log (at a few
/// pages per root run, a log of some megabytes).
const CHECKPOINT_EVERY: u64 = 4_000;

impl Shared {
    /// Whether the log has grown enough since the last checkpoint.
    fn checkpoint_due(&self) -> bool {
        let stored = self.stats.stored.load(Ordering::Relaxed);
        stored.saturating_sub(self.checkpointed.load(Ordering::Relaxed)) >= CHECKPOINT_EVERY
    }

    /// Counts a failed write; logs the first one.
    fn report(&self, error: &Error, lost: usize) {
        self.stats.errors.fetch_add(1, Ordering::Relaxed);
        self.stats.lost.fetch_add(lost as u64, Ordering::Relaxed);
        if !self.stats.error_logged.swap(true, Ordering::Relaxed) {
            tracing::error!(
                %error,
                lost,
                "could not store run events; flows keep running but their recorded history is \
                 incomplete (further errors are logged at debug level)"
            );
        } else {
            tracing::debug!(%error, lost, "could not store run events");
        }
    }

    /// Stores the queue on this thread if no one else is storing and the
    /// store need not wait; else asks the writer and gives the wait.
    fn flush_here(&self, max_batch: usize) -> Option<oneshot::Receiver<()>> {
        let commit = match self.queue.commit.try_lock() {
            Ok(guard) => guard,
            Err(std::sync::TryLockError::Poisoned(poisoned)) => poisoned.into_inner(),
            Err(std::sync::TryLockError::WouldBlock) => return self.queue.wait_for_store(),
        };
        let mut taken = {
            let mut pending = self.queue.lock();
            if pending.closed {
                return None;
            }
            self.queue.take(&mut pending)
        };
        let lease = Some(LeaseId(self.lease.load(Ordering::Acquire)));
        let mut stored = 0;
        while stored < taken.events.len() {
            let batch = &taken.events[stored..taken.events.len().min(stored + max_batch)];
            let outcome =
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| (self.write_now)(lease, batch)));
            match outcome {
                Ok(Ok(true)) => self.stats.stored.fetch_add(batch.len() as u64, Ordering::Relaxed),
                Ok(Ok(false)) => break,
                Ok(Err(e)) if e.is_busy() => break,
                Ok(Err(e)) => {
                    self.report(&e, batch.len());
                    0
                }
                Err(payload) => {
                    self.report(&panicked("storing run events", payload), batch.len());
                    0
                }
            };
            stored += batch.len();
        }
        if stored < taken.events.len() {
            // Busy: the writer thread, which waits for locks, stores the rest.
            taken.events.drain(..stored);
            let (done, wait) = oneshot::channel();
            self.queue.give_back(taken, done);
            drop(commit);
            return Some(wait);
        }
        drop(commit);
        taken.answer();
        if self.checkpoint_due() {
            self.queue.want_checkpoint();
        }
        None
    }
}

/// Closes the queue when the writer thread ends, however it ends.
struct CloseOnExit(Arc<Shared>);

impl Drop for CloseOnExit {
    fn drop(&mut self) {
        let mut rest: Taken = self.0.queue.close();
        self.0.stats.lost.fetch_add(rest.events.len() as u64, Ordering::Relaxed);
        rest.answer();
    }
}

/// Options of a [`BatchingRecorder`].
#[derive(Debug, Clone)]
pub struct RecorderOptions {
    pub(crate) max_batch: usize,
    pub(crate) max_delay: Duration,
    pub(crate) high_water: usize,
    pub(crate) lease_ttl: Duration,
    pub(crate) attempts: u32,
    pub(crate) retention: Option<Retention>,
}

impl Default for RecorderOptions {
    fn default() -> Self {
        RecorderOptions {
            max_batch: 1000,
            max_delay: Duration::from_millis(50),
            high_water: 100_000,
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

    /// At most this many events wait in the queue (default 100,000, at
    /// least `max_batch`); at the mark, recording waits for the writer.
    pub fn high_water(mut self, events: usize) -> Self {
        self.high_water = events.max(1);
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
        let writes = store.clone();
        let write_now: WriteNow = Box::new(move |lease, events| {
            futures::executor::block_on(writes.write_events_now(lease, events))
        });
        let shared = Arc::new(Shared {
            queue: Queue::new(self.max_batch, self.high_water),
            stats: Stats::default(),
            lease: AtomicI64::new(0),
            checkpointed: AtomicU64::new(0),
            write_now,
        });
        let (started, start) = mpsc::sync_channel(1);
        let for_writer = shared.clone();
        let handle = std::thread::Builder::new()
            .name("prefect-store-writer".into())
            .spawn(move || {
                let _close = CloseOnExit(for_writer.clone());
                match Writer::start(store, for_writer, self) {
                    Ok(writer) => {
                        let _ = started.send(Ok(()));
                        writer.run();
                    }
                    Err(error) => {
                        let _ = started.send(Err(error));
                    }
                }
            })
            .map_err(Error::Thread)?;
        // The thread always answers before it ends.
        match start.recv() {
            Ok(Ok(())) => Ok(BatchingRecorder { shared, writer: std::sync::Mutex::new(Some(handle)) }),
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
        self.shared.stats.errors.load(Ordering::Relaxed)
    }

    /// How many events were dropped because their batch could not be stored.
    pub fn lost_count(&self) -> u64 {
        self.shared.stats.lost.load(Ordering::Relaxed)
    }

    /// How many events have been committed.
    pub fn stored_count(&self) -> u64 {
        self.shared.stats.stored.load(Ordering::Relaxed)
    }

    /// The most events that waited in the queue at once.
    pub fn queue_peak(&self) -> usize {
        self.shared.queue.lock().peak
    }

    /// How many times recording waited at the queue's high-water mark.
    pub fn backpressure_count(&self) -> u64 {
        self.shared.stats.backpressure.load(Ordering::Relaxed)
    }

    /// Blocks the calling thread until everything recorded so far is
    /// stored. Prefer [`Recorder::flush`] in async code.
    pub fn flush_blocking(&self) {
        futures::executor::block_on(self.flush());
    }
}

impl Recorder for BatchingRecorder {
    fn record(&self, event: Event) {
        match self.shared.queue.add(event) {
            Added::Queued => {}
            Added::AfterBackpressure => {
                self.shared.stats.backpressure.fetch_add(1, Ordering::Relaxed);
            }
            // The writer has stopped: the event is dropped, and counted.
            Added::Closed => {
                self.shared.stats.lost.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// Commits the backlog, releases the lease (runs it owns that have not
    /// ended are marked Crashed), checkpoints the store and stops the
    /// writer; later events are dropped and counted.
    fn close(&self) {
        let writer = self.writer.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(writer) = writer {
            self.shared.queue.shut_down();
            let _ = writer.join();
        }
    }

    fn flush(&self) -> FlushFuture<'_> {
        let wait = self.shared.flush_here(self.shared.queue.max_batch());
        Box::pin(async move {
            if let Some(wait) = wait {
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

/// A panic in a store call, as an error.
fn panicked(what: &str, payload: Box<dyn std::any::Any + Send>) -> Error {
    let message = payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic".to_owned());
    Error::Database {
        location: "the recorder's writer".to_owned(),
        source: format!("{what} panicked: {message}").into(),
        busy: false,
    }
}
