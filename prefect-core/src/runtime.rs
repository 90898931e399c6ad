//! What a flow run owns while it runs: the task runner that executes its
//! submitted tasks, a count of those still running (the flow waits for them
//! before it reaches a final state), and its cancellation token.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::runner::TaskRunner;
use futures::future::BoxFuture;

pub(crate) struct FlowRuntime {
    inflight: AtomicUsize,
    idle: Notify,
    pub(crate) cancel: CancellationToken,
    pub(crate) runner: Arc<dyn TaskRunner>,
}

impl FlowRuntime {
    pub(crate) fn new(runner: Arc<dyn TaskRunner>, cancel: CancellationToken) -> Arc<Self> {
        Arc::new(FlowRuntime { inflight: AtomicUsize::new(0), idle: Notify::new(), cancel, runner })
    }

    /// Hands `fut` to the runner and counts it until it ends.
    pub(crate) fn spawn<F: Future<Output = ()> + Send + 'static>(self: &Arc<Self>, fut: F) {
        self.inflight.fetch_add(1, Ordering::AcqRel);
        let guard = Inflight(self.clone());
        let counted: BoxFuture<'static, ()> = Box::pin(async move {
            let _guard = guard;
            fut.await;
        });
        self.runner.spawn(counted);
    }

    /// How many spawned futures have not ended.
    pub(crate) fn in_flight(&self) -> usize {
        self.inflight.load(Ordering::Acquire)
    }

    /// Waits until every spawned future has ended.
    pub(crate) async fn wait_idle(&self) {
        loop {
            let notified = self.idle.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.inflight.load(Ordering::Acquire) == 0 {
                return;
            }
            notified.await;
        }
    }
}

/// Decrements the in-flight count however the spawned future ends
/// (completion, cancellation, a runner dropping it).
struct Inflight(Arc<FlowRuntime>);

impl Drop for Inflight {
    fn drop(&mut self) {
        if self.0.inflight.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.0.idle.notify_waiters();
        }
    }
}
