//! The recorder's queue: events waiting to be stored, bounded, shared by
//! the engine's threads (which add), the writer thread, and root runs that
//! commit their own events (which take).

use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use futures::channel::oneshot;
use prefect_model::Event;

/// What is waiting to be stored.
#[derive(Debug, Default)]
pub(super) struct Pending {
    /// Events in the order they were recorded.
    pub(super) events: Vec<Event>,
    /// When the oldest of them arrived (the batch's deadline counts from it).
    pub(super) since: Option<Instant>,
    /// Callers waiting until everything recorded before they asked is stored.
    pub(super) waiters: Vec<oneshot::Sender<()>>,
    /// Set by close: store what is left, then stop.
    pub(super) shutdown: bool,
    /// Set when the writer has stopped: later events are dropped and counted.
    pub(super) closed: bool,
    /// The most events ever queued at once.
    pub(super) peak: usize,
    /// Recorders waiting at the high-water mark now.
    pub(super) held: usize,
    /// The writer sleeps with nothing to wait for: the next event must
    /// wake it. While it lingers after a round, events need not.
    pub(super) writer_idle: bool,
    /// The log has grown enough that the writer should checkpoint it.
    pub(super) checkpoint_wanted: bool,
}

/// A batch taken from the queue, with the callers to answer once it is stored.
#[derive(Debug, Default)]
pub(super) struct Taken {
    pub(super) events: Vec<Event>,
    pub(super) waiters: Vec<oneshot::Sender<()>>,
}

impl Taken {
    /// Answers the callers: their events are stored (or counted as lost).
    pub(super) fn answer(&mut self) {
        for waiter in self.waiters.drain(..) {
            let _ = waiter.send(());
        }
    }
}

/// The queue and the signals around it.
#[derive(Debug)]
pub(super) struct Queue {
    pending: Mutex<Pending>,
    /// Wakes the writer: a batch is full, a flush is asked for, or close.
    wake: Condvar,
    /// Wakes recorders waiting at the high-water mark.
    drained: Condvar,
    /// Held from taking a batch until it is committed, so batches commit
    /// in the order they were recorded, whoever stores them.
    pub(super) commit: Mutex<()>,
    max_batch: usize,
    high_water: usize,
}

/// How a recorder waited at the high-water mark.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Added {
    /// Queued at once.
    Queued,
    /// Queued after waiting for the writer to drain the queue.
    AfterBackpressure,
    /// The writer has stopped: the event is dropped.
    Closed,
}

impl Queue {
    pub(super) fn new(max_batch: usize, high_water: usize) -> Queue {
        Queue {
            pending: Mutex::new(Pending::default()),
            wake: Condvar::new(),
            drained: Condvar::new(),
            commit: Mutex::new(()),
            max_batch,
            high_water: high_water.max(max_batch),
        }
    }

    pub(super) fn max_batch(&self) -> usize {
        self.max_batch
    }

    pub(super) fn lock(&self) -> MutexGuard<'_, Pending> {
        // A panic while holding the lock leaves plain data behind: go on.
        self.pending.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(super) fn lock_commit(&self) -> MutexGuard<'_, ()> {
        self.commit.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Queues `event`; at the high-water mark, first waits until the
    /// writer has taken the queue (backpressure, never loss).
    pub(super) fn add(&self, event: Event) -> Added {
        let mut pending = self.lock();
        let mut added = Added::Queued;
        while pending.events.len() >= self.high_water && !pending.closed {
            added = Added::AfterBackpressure;
            self.wake.notify_one();
            pending.held += 1;
            pending = self.drained.wait(pending).unwrap_or_else(|e| e.into_inner());
            pending.held -= 1;
        }
        if pending.closed {
            return Added::Closed;
        }
        pending.events.push(event);
        let len = pending.events.len();
        pending.peak = pending.peak.max(len);
        if len == 1 {
            pending.since = Some(Instant::now());
            // An idle writer needs the wake-up; a lingering one looks again
            // by itself, so a burst of short root runs costs no switches.
            if pending.writer_idle {
                self.wake.notify_one();
            }
        } else if len == self.max_batch {
            self.wake.notify_one();
        }
        added
    }

    /// Takes every queued event and the callers waiting for them, with the
    /// commit lock already held by the caller.
    pub(super) fn take(&self, pending: &mut Pending) -> Taken {
        pending.since = None;
        let taken = Taken {
            events: std::mem::take(&mut pending.events),
            waiters: std::mem::take(&mut pending.waiters),
        };
        if taken.events.len() >= self.high_water {
            self.drained.notify_all();
        }
        taken
    }

    /// Puts a batch that could not be stored here back at the front, for
    /// the writer (the commit lock is still held, so nothing was stored
    /// after it), with a waiter for the caller; wakes the writer.
    pub(super) fn give_back(&self, mut taken: Taken, waiter: oneshot::Sender<()>) {
        let mut pending = self.lock();
        taken.events.append(&mut pending.events);
        pending.events = taken.events;
        pending.since.get_or_insert_with(Instant::now);
        pending.waiters.append(&mut taken.waiters);
        pending.waiters.push(waiter);
        self.wake.notify_one();
    }

    /// Registers a caller to answer once everything queued now is stored,
    /// and wakes the writer. `None` once the writer has stopped.
    pub(super) fn wait_for_store(&self) -> Option<oneshot::Receiver<()>> {
        let mut pending = self.lock();
        if pending.closed {
            return None;
        }
        let (done, wait) = oneshot::channel();
        pending.waiters.push(done);
        self.wake.notify_one();
        Some(wait)
    }

    /// Asks the writer to checkpoint the store's log.
    pub(super) fn want_checkpoint(&self) {
        self.lock().checkpoint_wanted = true;
        self.wake.notify_one();
    }

    /// Asks the writer to store what is left and stop.
    pub(super) fn shut_down(&self) {
        self.lock().shutdown = true;
        self.wake.notify_one();
    }

    /// Marks the writer stopped: recorders waiting at the mark go on (their
    /// events are dropped and counted), later flushes return at once.
    pub(super) fn close(&self) -> Taken {
        let mut pending = self.lock();
        pending.closed = true;
        self.drained.notify_all();
        Taken { events: std::mem::take(&mut pending.events), waiters: std::mem::take(&mut pending.waiters) }
    }

    /// Sleeps until there is a batch to store or `until` (the writer's
    /// next housekeeping) has come. Until `linger` the writer looks at the
    /// queue by itself; after it, it sleeps idle and the next event wakes it.
    /// Returns the lock, held.
    pub(super) fn wait_for_batch(
        &self,
        max_delay: Duration,
        linger: Instant,
        until: Instant,
    ) -> MutexGuard<'_, Pending> {
        let mut pending = self.lock();
        loop {
            if pending.shutdown
                || pending.checkpoint_wanted
                || !pending.waiters.is_empty()
                || pending.events.len() >= self.max_batch
            {
                return pending;
            }
            let now = Instant::now();
            let due = match pending.since {
                Some(since) => since + max_delay,
                None if now < linger => linger,
                None => until,
            }
            .min(until);
            if now >= due {
                return pending;
            }
            pending.writer_idle = pending.since.is_none() && now >= linger;
            pending = self.wake.wait_timeout(pending, due - now).unwrap_or_else(|e| e.into_inner()).0;
            pending.writer_idle = false;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use prefect_model::{LogLevel, LogRecord};
    use std::sync::Arc;

    fn event(i: usize) -> Event {
        Event::Log(Arc::new(LogRecord {
            flow_run_id: None,
            task_run_id: None,
            timestamp: chrono::Utc::now(),
            level: LogLevel::Info,
            message: i.to_string(),
            target: String::new(),
            fields: serde_json::Map::new(),
        }))
    }

    #[test]
    fn a_full_queue_holds_recorders_until_it_is_taken_and_loses_nothing() {
        let queue = Arc::new(Queue::new(2, 4));
        for i in 0..4 {
            assert_eq!(queue.add(event(i)), Added::Queued);
        }
        let adder = {
            let queue = queue.clone();
            std::thread::spawn(move || queue.add(event(4)))
        };
        // The fifth waits at the mark until the queue is taken.
        let taken = loop {
            let mut pending = queue.lock();
            if pending.held == 1 {
                let _commit = queue.lock_commit();
                break queue.take(&mut pending);
            }
            drop(pending);
            std::thread::yield_now();
        };
        assert_eq!(taken.events.len(), 4);
        assert_eq!(adder.join().unwrap(), Added::AfterBackpressure);
        let pending = queue.lock();
        assert_eq!((pending.events.len(), pending.peak), (1, 4));
    }

    #[test]
    fn a_batch_given_back_goes_before_what_came_after_it() {
        let queue = Queue::new(10, 100);
        queue.add(event(0));
        let taken = queue.take(&mut queue.lock());
        queue.add(event(1));
        let (done, _wait) = oneshot::channel();
        queue.give_back(taken, done);
        let pending = queue.lock();
        let order: Vec<String> = pending
            .events
            .iter()
            .map(|e| match e {
                Event::Log(l) => l.message.clone(),
                _ => unreachable!(),
            })
            .collect();
        assert_eq!(order, ["0", "1"]);
        assert_eq!(pending.waiters.len(), 1);
    }

    #[test]
    fn after_close_events_are_refused() {
        let queue = Queue::new(10, 100);
        queue.close();
        assert_eq!(queue.add(event(0)), Added::Closed);
        assert!(queue.wait_for_store().is_none());
    }
}
