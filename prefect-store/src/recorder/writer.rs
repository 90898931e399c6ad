//! The writer thread: batches queued events into transactions, renews the
//! lease, prunes when due, and releases the lease when the recorder drops.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use futures::channel::oneshot;
use futures::executor::block_on;
use prefect_model::Event;

use super::{RecorderOptions, Stats};
use crate::capability::{EventWriter, Upkeep};
use crate::error::{Error, Result};
use crate::lease::{Lease, LeaseOwner};

/// What the recorder sends to its writer.
#[derive(Debug)]
pub(super) enum Command {
    /// Store this event.
    Event(Event),
    /// Reply once everything sent before is committed.
    Flush(oneshot::Sender<()>),
    /// Commit, release the lease and stop.
    Shutdown,
}

pub(super) struct Writer<W: ?Sized> {
    store: Arc<W>,
    receiver: Receiver<Command>,
    options: RecorderOptions,
    stats: Arc<Stats>,
    lease: Lease,
    next_housekeeping: Instant,
}

impl<W: EventWriter + Upkeep + ?Sized> Writer<W> {
    /// Takes the lease, on the writer's own thread (the caller may be inside
    /// an executor); the writer then [runs](Writer::run) there.
    pub(super) fn start(
        store: Arc<W>,
        receiver: Receiver<Command>,
        options: RecorderOptions,
        stats: Arc<Stats>,
    ) -> Result<Writer<W>> {
        let lease = block_on(store.acquire_lease(&LeaseOwner::current(), options.lease_ttl))?;
        let next_housekeeping = Instant::now();
        Ok(Writer { store, receiver, options, stats, lease, next_housekeeping })
    }

    pub(super) fn run(mut self) {
        let mut batch = Vec::new();
        let mut waiters = Vec::new();
        loop {
            if Instant::now() >= self.next_housekeeping {
                let upkeep = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.housekeeping()));
                if let Err(payload) = upkeep {
                    self.next_housekeeping = Instant::now() + self.options.lease_ttl / 3;
                    self.report(&panicked("renewing the lease and pruning", payload), 0);
                }
            }
            let wait = self.next_housekeeping.saturating_duration_since(Instant::now());
            let stop = match self.receiver.recv_timeout(wait) {
                Ok(first) => self.collect(first, &mut batch, &mut waiters),
                Err(RecvTimeoutError::Timeout) => false,
                Err(RecvTimeoutError::Disconnected) => true,
            };
            let commit = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.commit(&mut batch)));
            if let Err(payload) = commit {
                self.report(&panicked("storing run events", payload), batch.len());
                batch.clear();
            }
            for waiter in waiters.drain(..) {
                let _ = waiter.send(());
            }
            if stop {
                break;
            }
        }
        self.finish();
    }

    /// Fills `batch` from `first` on until it is full, `max_delay` has
    /// passed, or a flush arrives. Returns true when the writer must stop.
    fn collect(
        &self,
        first: Command,
        batch: &mut Vec<Event>,
        waiters: &mut Vec<oneshot::Sender<()>>,
    ) -> bool {
        let deadline = Instant::now() + self.options.max_delay;
        let mut next = first;
        loop {
            match next {
                Command::Event(event) => batch.push(event),
                Command::Flush(waiter) => {
                    waiters.push(waiter);
                    return false;
                }
                Command::Shutdown => return true,
            }
            if batch.len() >= self.options.max_batch {
                return false;
            }
            // What is queued already is taken without reading the clock;
            // the deadline is checked when the queue runs dry.
            if let Ok(command) = self.receiver.try_recv() {
                next = command;
                continue;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            next = match self.receiver.recv_timeout(left) {
                Ok(command) => command,
                Err(RecvTimeoutError::Timeout) => return false,
                Err(RecvTimeoutError::Disconnected) => return true,
            };
        }
    }

    /// Stores `batch`, retrying a bounded number of times while another
    /// writer holds the lock; then empties it.
    fn commit(&self, batch: &mut Vec<Event>) {
        if batch.is_empty() {
            return;
        }
        let lease = Some(self.lease.id);
        for attempt in 1..=self.options.attempts {
            match block_on(self.store.write_events(lease, batch)) {
                Ok(()) => {
                    self.stats.stored.fetch_add(batch.len() as u64, Ordering::Relaxed);
                    break;
                }
                Err(e) if e.is_busy() && attempt < self.options.attempts => {
                    std::thread::sleep(Duration::from_millis(20 * u64::from(attempt)));
                }
                Err(e) => {
                    self.report(&e, batch.len());
                    break;
                }
            }
        }
        batch.clear();
    }

    /// Renews the lease (taking it again if it was lost) and prunes when
    /// due.
    fn housekeeping(&mut self) {
        self.next_housekeeping = Instant::now() + self.options.lease_ttl / 3;
        let ttl = self.options.lease_ttl;
        match block_on(self.store.renew_lease(&self.lease, ttl)) {
            Ok(true) => {}
            Ok(false) => tracing::warn!(
                "this process's lease on the run database had lapsed and its unfinished runs \
                 were marked Crashed by another process; the lease is renewed"
            ),
            Err(e) => self.report(&e, 0),
        }
        if let Some(retention) = self.options.retention {
            match block_on(self.store.prune_if_due(retention)) {
                Ok(Some(report)) => tracing::debug!(?report, "pruned old runs"),
                Ok(None) => {}
                Err(error) => tracing::warn!(%error, "could not prune old runs"),
            }
        }
    }

    /// Releases the lease (runs left unfinished are marked Crashed).
    fn finish(self) {
        let lease = self.lease.id;
        self.guarded("releasing the lease", || block_on(self.store.release_lease(lease)).map(drop));
        // The database file is complete when the program is done.
        self.guarded("checkpointing", || block_on(self.store.checkpoint()));
    }

    /// Runs a store call, reporting its error; a panic in it is caught and
    /// reported the same way, so the writer thread never dies silently.
    fn guarded(&self, what: &str, call: impl FnOnce() -> Result<()>) {
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(call)) {
            Ok(Ok(())) => {}
            Ok(Err(e)) => self.report(&e, 0),
            Err(payload) => self.report(&panicked(what, payload), 0),
        }
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
