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
    phase: Phase<T>,
    /// Tasks waiting for the run to end, woken once by `complete`.
    waiters: Vec<Waker>,
}

/// Where the run is. One of three rather than an option of each: every
/// mapped child holds a slot while it waits, and three copies of a state
/// made it 368 bytes.
enum Phase<T> {
    /// Not ended: the state it is in, once it has one.
    Running(Option<StateMeta>),
    /// Ended, its final state not yet taken.
    Ended(State<T>),
    /// Ended, its final state taken: what is left of it.
    Taken(StateMeta),
}

impl<T> Slot<T> {
    pub(crate) fn new(run: RunId) -> Self {
        Slot { run, inner: Mutex::new(Inner { phase: Phase::Running(None), waiters: Vec::new() }) }
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
            inner.phase = Phase::Ended(state);
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
        if let Some(state) = inner.phase.finished() {
            return Poll::Ready(state.clone());
        }
        if !inner.waiters.iter().any(|w| w.will_wake(cx.waker())) {
            inner.waiters.push(cx.waker().clone());
        }
        Poll::Pending
    }

    pub(crate) fn current(&self) -> Option<StateMeta> {
        match &self.lock().phase {
            Phase::Running(current) => current.clone(),
            Phase::Ended(state) => Some(state.meta().clone()),
            Phase::Taken(meta) => Some(meta.clone()),
        }
    }

    pub(crate) fn finished(&self) -> Option<StateMeta> {
        self.lock().phase.finished().cloned()
    }

    /// Waits until the run has ended and returns its final state.
    pub(crate) async fn wait(&self) -> StateMeta {
        std::future::poll_fn(|cx| self.poll_done(cx)).await
    }

    /// Moves the final state out; `None` once taken (or before it ended).
    pub(crate) fn take(&self) -> Option<State<T>> {
        let mut inner = self.lock();
        match std::mem::replace(&mut inner.phase, Phase::Running(None)) {
            Phase::Ended(state) => {
                inner.phase = Phase::Taken(state.meta().clone());
                Some(state)
            }
            other => {
                inner.phase = other;
                None
            }
        }
    }

    pub(crate) fn was_taken(&self) -> bool {
        matches!(self.lock().phase, Phase::Taken(_))
    }
}

impl<T> Phase<T> {
    /// The final state, once the run has ended.
    fn finished(&self) -> Option<&StateMeta> {
        match self {
            Phase::Running(_) => None,
            Phase::Ended(state) => Some(state.meta()),
            Phase::Taken(meta) => Some(meta),
        }
    }
}

impl<T: Send> StateObserver for Slot<T> {
    fn observe(&self, state: &StateMeta) {
        // States reported after the end (none are) would not change it.
        if let Phase::Running(current) = &mut self.lock().phase {
            *current = Some(state.clone());
        }
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
