//! The tag limits of a store, as the engine asks for them
//! ([`prefect_model::SharedLimits`]).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use futures::executor::block_on;
use prefect_model::{SharedDecision, SharedLimits, TaskRunId};

use crate::capability::ConcurrencySlots;
use crate::error::Error;
use crate::model::SlotDecision;

/// Makes the tag limits kept in a store (`prefect concurrency-limit
/// create TAG N`) apply to the runs of this process, and of every other
/// process using the store.
///
/// A store that cannot be read lets runs go on unblocked, with one
/// warning: a limit must never stop work because its bookkeeping failed.
#[derive(Debug)]
pub struct StoreLimits<S: ?Sized> {
    store: Arc<S>,
    warned: AtomicBool,
}

impl<S: ConcurrencySlots + ?Sized> StoreLimits<S> {
    /// The limits kept in `store`.
    pub fn new(store: Arc<S>) -> Self {
        StoreLimits { store, warned: AtomicBool::new(false) }
    }

    fn warn_once(&self, error: &Error) {
        if !self.warned.swap(true, Ordering::Relaxed) {
            tracing::warn!(
                "tag limits in the run database could not be checked; runs go on unblocked: {error}"
            );
        }
    }
}

impl<S: ConcurrencySlots + ?Sized + 'static> SharedLimits for StoreLimits<S> {
    fn try_acquire(&self, tags: &[String], holder: TaskRunId) -> SharedDecision {
        match block_on(self.store.try_acquire_slots(tags, holder)) {
            Ok(SlotDecision::Acquired) => SharedDecision::Acquired,
            Ok(SlotDecision::Busy) => SharedDecision::Busy,
            Ok(SlotDecision::Abort(tag)) => SharedDecision::Abort(tag),
            Ok(SlotDecision::NoLimits) => SharedDecision::NoLimits,
            Err(error) => {
                self.warn_once(&error);
                SharedDecision::NoLimits
            }
        }
    }

    fn release(&self, holder: TaskRunId) {
        if let Err(error) = block_on(self.store.release_slots(holder)) {
            self.warn_once(&error);
        }
    }
}
