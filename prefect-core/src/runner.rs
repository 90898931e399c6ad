//! Task runners: how a flow executes the tasks it submits or maps.
//!
//! Awaiting a task call runs it inline, on the caller's tokio task, whatever
//! the runner. `.submit()` and `map` hand the run to the flow's runner:
//!
//! - [`ConcurrentTaskRunner`] (the default): each run is a tokio task,
//!   optionally at most `n` at once.
//! - [`SequentialTaskRunner`]: one run at a time, in submission order (for
//!   debugging; a submitted task that waits on a later submission would
//!   wait forever, so do not await futures inside submitted tasks).
//!
//! Sync task bodies always run on tokio's blocking pool; `max_blocking`
//! bounds how many of a flow's sync bodies run at once.
//! A distributed runner implements [`TaskRunner`] without engine changes.

use std::fmt;
use std::sync::Arc;

use tokio::sync::{Semaphore, mpsc};

use futures::future::BoxFuture;

/// Executes the task runs a flow submits.
pub trait TaskRunner: Send + Sync + 'static {
    /// Starts `run`; it must be driven to completion (or dropped when the
    /// process ends). Must not block.
    fn spawn(&self, run: BoxFuture<'static, ()>);

    /// A bound on sync bodies running at once, if any.
    fn blocking_permits(&self) -> Option<Arc<Semaphore>> {
        None
    }

    /// A short name for logs, e.g. `"concurrent"`.
    fn name(&self) -> &'static str;
}

/// Runs each submitted task as its own tokio task (the default).
#[derive(Debug, Clone, Default)]
pub struct ConcurrentTaskRunner {
    limit: Option<Arc<Semaphore>>,
    blocking: Option<Arc<Semaphore>>,
}

impl ConcurrentTaskRunner {
    /// No bound on concurrency.
    pub fn new() -> Self {
        Self::default()
    }

    /// At most `n` submitted runs execute at once; the rest wait, in order.
    /// `n = 0` is treated as 1.
    pub fn max_concurrency(mut self, n: usize) -> Self {
        self.limit = Some(Arc::new(Semaphore::new(n.max(1))));
        self
    }

    /// At most `n` sync bodies run on the blocking pool at once (`0` is 1).
    pub fn max_blocking(mut self, n: usize) -> Self {
        self.blocking = Some(Arc::new(Semaphore::new(n.max(1))));
        self
    }
}

impl TaskRunner for ConcurrentTaskRunner {
    fn spawn(&self, run: BoxFuture<'static, ()>) {
        match &self.limit {
            None => {
                tokio::spawn(run);
            }
            Some(limit) => {
                let limit = limit.clone();
                tokio::spawn(async move {
                    // The semaphore is never closed, so acquiring cannot fail.
                    let _permit = limit.acquire_owned().await;
                    run.await;
                });
            }
        }
    }

    fn blocking_permits(&self) -> Option<Arc<Semaphore>> {
        self.blocking.clone()
    }

    fn name(&self) -> &'static str {
        "concurrent"
    }
}

/// Runs submitted tasks one at a time, in submission order.
pub struct SequentialTaskRunner {
    queue: mpsc::UnboundedSender<BoxFuture<'static, ()>>,
}

impl SequentialTaskRunner {
    /// A runner with its own worker task (needs a tokio runtime).
    pub fn new() -> Self {
        let (queue, mut rx) = mpsc::unbounded_channel::<BoxFuture<'static, ()>>();
        tokio::spawn(async move {
            while let Some(run) = rx.recv().await {
                run.await;
            }
        });
        SequentialTaskRunner { queue }
    }
}

impl Default for SequentialTaskRunner {
    fn default() -> Self {
        Self::new()
    }
}

impl TaskRunner for SequentialTaskRunner {
    fn spawn(&self, run: BoxFuture<'static, ()>) {
        // The worker lives as long as the sender; a send cannot fail then.
        let _ = self.queue.send(run);
    }

    fn name(&self) -> &'static str {
        "sequential"
    }
}

impl fmt::Debug for SequentialTaskRunner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SequentialTaskRunner")
    }
}

impl fmt::Debug for dyn TaskRunner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TaskRunner({})", self.name())
    }
}
