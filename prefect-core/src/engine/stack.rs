//! Deeply nested runs on fresh stacks.
//!
//! A run awaited inside another run is polled from inside its parent's
//! poll, so each level of nesting (a subflow calling a subflow, a task
//! calling a task) adds its frames to the same thread's stack: a few
//! hundred levels overflowed a tokio worker's 2 MiB. Every
//! [`FRESH_STACK_EVERY`] levels the next run is spawned as its own tokio
//! task instead, polled from the top of a worker's stack, and awaited; so
//! the depth is bounded only by memory. The spawned task is aborted if the
//! caller's future is dropped, which keeps cancellation as it was.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::task::JoinHandle;
use tracing::Instrument;

use crate::context::Scope;

/// The nesting depth at whose multiples a run gets a fresh stack. Small
/// enough that the levels between two hops fit in a worker's stack in a
/// debug build, large enough that the hop (one spawn) is rare.
pub(crate) const FRESH_STACK_EVERY: u32 = 32;

/// True when the run about to start should get a fresh stack.
pub(crate) fn needs_fresh_stack() -> bool {
    Scope::with_current(|scope| {
        scope.is_some_and(|s| s.depth > 0 && s.depth.is_multiple_of(FRESH_STACK_EVERY))
    })
}

/// The error for a root call awaited outside any tokio runtime, which
/// would otherwise panic deep in the engine ("there is no reactor running").
/// Only root calls check: a nested call runs inside its root's runtime.
pub(crate) fn missing_runtime(what: impl FnOnce() -> String) -> Option<crate::error::Error> {
    let root = Scope::with_current(|scope| scope.is_none_or(|s| s.depth == 0));
    (root && tokio::runtime::Handle::try_current().is_err())
        .then(|| crate::error::Error::NoRuntime { what: what() })
}

/// Runs `fut` as its own tokio task in the current scope and waits for it
/// (inline when there is no runtime to spawn on).
pub(crate) async fn on_fresh_stack<F>(fut: F) -> F::Output
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
        return fut.await;
    };
    let scoped = Scope::current().enter(fut).in_current_span();
    match (AbortOnDrop(runtime.spawn(scoped))).await {
        Ok(output) => output,
        Err(error) if error.is_panic() => std::panic::resume_unwind(error.into_panic()),
        // Only a runtime shutting down cancels it; the caller goes with it.
        Err(_) => std::future::pending().await,
    }
}

/// A task handle that aborts its task when dropped.
struct AbortOnDrop<T>(JoinHandle<T>);

impl<T> Future for AbortOnDrop<T> {
    type Output = Result<T, tokio::task::JoinError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut self.0).poll(cx)
    }
}

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}
