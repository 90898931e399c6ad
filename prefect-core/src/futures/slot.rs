//! The shared completion slot behind a [`super::TaskFuture`]: the run's
//! current state, its final state once it ends, and a wake-up for waiters.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::Notify;

use crate::ids::RunId;
use crate::state::{State, StateMeta, StateType};

/// Sees every state a run enters (the run loop reports to it).
pub(crate) trait StateObserver: Send + Sync {
    fn observe(&self, state: &StateMeta);
}

/// An opaque handle on a run that another run waits for.
#[derive(Clone)]
pub struct Upstream(pub(crate) Arc<dyn WaitFinal>);

impl std::fmt::Debug for Upstream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Upstream({})", self.0.run_id())
    }
}

impl Upstream {
    pub(crate) fn run_id(&self) -> RunId {
        self.0.run_id()
    }

    pub(crate) fn wait_final(&self) -> Pin<Box<dyn Future<Output = StateMeta> + Send>> {
        self.0.clone().wait_final()
    }
}

/// A run another run can wait for, whatever its value type.
pub(crate) trait WaitFinal: Send + Sync {
    /// The upstream run.
    fn run_id(&self) -> RunId;
    /// Waits for its final state (or NotReady) and returns it.
    fn wait_final(self: Arc<Self>) -> Pin<Box<dyn Future<Output = StateMeta> + Send>>;
}

pub(crate) struct Slot<T> {
    run: RunId,
    inner: Mutex<Inner<T>>,
    done: Notify,
}

struct Inner<T> {
    current: Option<StateMeta>,
    finished: Option<StateMeta>,
    value: Option<State<T>>,
    taken: bool,
}

impl<T> Slot<T> {
    pub(crate) fn new(run: RunId) -> Self {
        Slot {
            run,
            inner: Mutex::new(Inner { current: None, finished: None, value: None, taken: false }),
            done: Notify::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner<T>> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn run_id(&self) -> RunId {
        self.run
    }

    /// Stores the final state and wakes every waiter.
    pub(crate) fn complete(&self, state: State<T>) {
        {
            let mut inner = self.lock();
            inner.current = Some(state.meta().clone());
            inner.finished = Some(state.meta().clone());
            inner.value = Some(state);
        }
        self.done.notify_waiters();
    }

    pub(crate) fn current(&self) -> Option<StateMeta> {
        self.lock().current.clone()
    }

    pub(crate) fn finished(&self) -> Option<StateMeta> {
        self.lock().finished.clone()
    }

    /// Waits until the run has ended and returns its final state.
    pub(crate) async fn wait(&self) -> StateMeta {
        loop {
            let notified = self.done.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if let Some(state) = self.finished() {
                return state;
            }
            notified.await;
        }
    }

    /// Moves the final state out; `None` once taken (or before it ended).
    pub(crate) fn take(&self) -> Option<State<T>> {
        let mut inner = self.lock();
        let value = inner.value.take();
        if value.is_some() {
            inner.taken = true;
        }
        value
    }

    pub(crate) fn was_taken(&self) -> bool {
        self.lock().taken
    }
}

impl<T: Send> StateObserver for Slot<T> {
    fn observe(&self, state: &StateMeta) {
        self.lock().current = Some(state.clone());
    }
}

impl<T: Send + 'static> WaitFinal for Slot<T> {
    fn run_id(&self) -> RunId {
        self.run
    }

    fn wait_final(self: Arc<Self>) -> Pin<Box<dyn Future<Output = StateMeta> + Send>> {
        Box::pin(async move { self.wait().await })
    }
}

/// True when `state` lets a downstream run.
pub(crate) fn is_ready(state: &StateMeta) -> bool {
    state.state_type == StateType::Completed
}
