//! The shared completion slot behind a [`super::TaskFuture`]: the run's
//! current state, its final state once it ends, and a wake-up for waiters.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

use crate::ids::RunId;
use crate::state::{State, StateMeta, StateType};

/// Sees every state a run enters (the run loop reports to it).
pub(crate) trait StateObserver: Send + Sync {
    fn observe(&self, state: &StateMeta);
    /// The run observed (a submitted run's id is handed out with its slot).
    fn run_id(&self) -> RunId;
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

    /// Whether the run has ended.
    pub(crate) fn is_final(&self) -> bool {
        self.0.is_final()
    }
}

/// A run another run can wait for, whatever its value type.
pub(crate) trait WaitFinal: Send + Sync {
    /// The upstream run.
    fn run_id(&self) -> RunId;
    /// Waits for its final state (or NotReady) and returns it.
    fn wait_final(self: Arc<Self>) -> Pin<Box<dyn Future<Output = StateMeta> + Send>>;
    /// Whether it has ended.
    fn is_final(&self) -> bool;
}

pub(crate) struct Slot<T> {
    run: RunId,
    inner: Mutex<Inner<T>>,
}

struct Inner<T> {
    current: Option<StateMeta>,
    finished: Option<StateMeta>,
    value: Option<State<T>>,
    taken: bool,
    /// Tasks waiting for the run to end, woken once by `complete`.
    waiters: Vec<Waker>,
}

impl<T> Slot<T> {
    pub(crate) fn new(run: RunId) -> Self {
        Slot {
            run,
            inner: Mutex::new(Inner {
                current: None,
                finished: None,
                value: None,
                taken: false,
                waiters: Vec::new(),
            }),
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
        let waiters = {
            let mut inner = self.lock();
            inner.current = Some(state.meta().clone());
            inner.finished = Some(state.meta().clone());
            inner.value = Some(state);
            std::mem::take(&mut inner.waiters)
        };
        for waiter in waiters {
            waiter.wake();
        }
    }

    /// Ready with the final state once the run has ended; until then the
    /// caller's waker is kept (once per task) and woken by `complete`.
    pub(crate) fn poll_done(&self, cx: &mut Context<'_>) -> Poll<StateMeta> {
        let mut inner = self.lock();
        if let Some(state) = &inner.finished {
            return Poll::Ready(state.clone());
        }
        if !inner.waiters.iter().any(|w| w.will_wake(cx.waker())) {
            inner.waiters.push(cx.waker().clone());
        }
        Poll::Pending
    }

    pub(crate) fn current(&self) -> Option<StateMeta> {
        self.lock().current.clone()
    }

    pub(crate) fn finished(&self) -> Option<StateMeta> {
        self.lock().finished.clone()
    }

    /// Waits until the run has ended and returns its final state.
    pub(crate) async fn wait(&self) -> StateMeta {
        std::future::poll_fn(|cx| self.poll_done(cx)).await
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

    fn run_id(&self) -> RunId {
        Slot::run_id(self)
    }
}

impl<T: Send + 'static> WaitFinal for Slot<T> {
    fn run_id(&self) -> RunId {
        self.run
    }

    fn wait_final(self: Arc<Self>) -> Pin<Box<dyn Future<Output = StateMeta> + Send>> {
        Box::pin(async move { self.wait().await })
    }

    fn is_final(&self) -> bool {
        self.finished().is_some()
    }
}

/// True when `state` lets a downstream run.
pub(crate) fn is_ready(state: &StateMeta) -> bool {
    state.state_type == StateType::Completed
}
