//! [`SharedLimits`]: tag concurrency limits shared by every process that
//! uses one run database.

use std::fmt;

use crate::ids::TaskRunId;

/// Tag limits shared across processes (a run database). The engine asks
/// before a tagged task run starts and tells when it ends.
///
/// Both calls may block briefly on I/O: the engine makes them on the
/// blocking pool, never on a runtime worker thread.
pub trait SharedLimits: Send + Sync + 'static {
    /// Takes a slot of every limited tag among `tags` for `holder`, or none.
    fn try_acquire(&self, tags: &[String], holder: TaskRunId) -> SharedDecision;
    /// Frees the slots `holder` took.
    fn release(&self, holder: TaskRunId);
}

/// The answer of [`SharedLimits::try_acquire`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SharedDecision {
    /// No tag has a shared limit.
    NoLimits,
    /// Every limited tag's slot is held.
    Acquired,
    /// A limited tag has no free slot: try again later.
    Busy,
    /// A tag's limit is 0: the run must not start.
    Abort(String),
}

impl fmt::Debug for dyn SharedLimits {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("dyn SharedLimits")
    }
}
