//! The writer thread: stores queued events in transactions, renews the
//! lease, prunes when due, and releases the lease when the recorder closes.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use futures::executor::block_on;
use prefect_model::Event;

use super::{RecorderOptions, Shared, panicked};
use crate::capability::{EventWriter, Upkeep};
use crate::error::Result;
use crate::lease::{Lease, LeaseOwner};

pub(super) struct Writer<W: ?Sized> {
    store: Arc<W>,
    shared: Arc<Shared>,
    options: RecorderOptions,
    lease: Lease,
    next_housekeeping: Instant,
}

impl<W: EventWriter + Upkeep + ?Sized> Writer<W> {
    /// Takes the lease, on the writer's own thread (the caller may be inside
    /// an executor); the writer then [runs](Writer::run) there.
    pub(super) fn start(store: Arc<W>, shared: Arc<Shared>, options: RecorderOptions) -> Result<Writer<W>> {
        let lease = block_on(store.acquire_lease(&LeaseOwner::current(), options.lease_ttl))?;
        shared.lease.store(lease.id.0, Ordering::Release);
        // The lease is fresh: the first round is due at once only to prune.
        let next_housekeeping =
            Instant::now() + if options.retention.is_some() { Duration::ZERO } else { options.lease_ttl / 3 };
        Ok(Writer { store, shared, options, lease, next_housekeeping })
    }

    pub(super) fn run(mut self) {
        loop {
            if Instant::now() >= self.next_housekeeping {
                let upkeep = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.housekeeping()));
                if let Err(payload) = upkeep {
                    self.next_housekeeping = Instant::now() + self.options.lease_ttl / 3;
                    self.shared.report(&panicked("renewing the lease and pruning", payload), 0);
                }
            }
            let linger = Instant::now() + self.options.max_delay;
            let (stop, checkpoint) = {
                let mut pending =
                    self.shared.queue.wait_for_batch(self.options.max_delay, linger, self.next_housekeeping);
                (pending.shutdown, std::mem::take(&mut pending.checkpoint_wanted))
            };
            if stop {
                break;
            }
            // Taken under the commit lock, so batches commit in the order
            // they were recorded, also against a root run storing its own.
            let commit = self.shared.queue.lock_commit();
            let mut taken = self.shared.queue.take(&mut self.shared.queue.lock());
            self.store_all(&taken.events);
            drop(commit);
            taken.answer();
            if checkpoint || self.shared.checkpoint_due() {
                self.shared
                    .checkpointed
                    .store(self.shared.stats.stored.load(Ordering::Relaxed), Ordering::Relaxed);
                self.guarded("checkpointing", || block_on(self.store.checkpoint_passive()));
            }
        }
        self.finish();
    }

    /// Stores `events` in transactions of at most `max_batch`, retrying a
    /// bounded number of times while another writer holds the lock.
    fn store_all(&self, events: &[Event]) {
        for batch in events.chunks(self.options.max_batch) {
            let stored = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.store_batch(batch)));
            if let Err(payload) = stored {
                self.shared.report(&panicked("storing run events", payload), batch.len());
            }
        }
    }

    fn store_batch(&self, batch: &[Event]) {
        let lease = Some(self.lease.id);
        for attempt in 1..=self.options.attempts {
            match block_on(self.store.write_events(lease, batch)) {
                Ok(()) => {
                    self.shared.stats.stored.fetch_add(batch.len() as u64, Ordering::Relaxed);
                    return;
                }
                Err(e) if e.is_busy() && attempt < self.options.attempts => {
                    std::thread::sleep(Duration::from_millis(20 * u64::from(attempt)));
                }
                Err(e) => {
                    self.shared.report(&e, batch.len());
                    return;
                }
            }
        }
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
            Err(e) => self.shared.report(&e, 0),
        }
        if let Some(retention) = self.options.retention {
            match block_on(self.store.prune_if_due(retention)) {
                Ok(Some(report)) => tracing::debug!(?report, "pruned old runs"),
                Ok(None) => {}
                Err(error) => tracing::warn!(%error, "could not prune old runs"),
            }
        }
    }

    /// Stores what is left, refuses later events, releases the lease (runs
    /// left unfinished are marked Crashed) and checkpoints.
    fn finish(self) {
        let commit = self.shared.queue.lock_commit();
        let mut rest = self.shared.queue.close();
        self.store_all(&rest.events);
        drop(commit);
        rest.answer();
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
            Ok(Err(e)) => self.shared.report(&e, 0),
            Err(payload) => self.shared.report(&panicked(what, payload), 0),
        }
    }
}
