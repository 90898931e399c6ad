//! Blocking I/O kept off the runtime's worker threads: result storage
//! reads and writes, file locks, shared-limit database calls. A worker
//! thread that blocks stalls every run scheduled on it (and a
//! current-thread runtime entirely).

use std::panic::resume_unwind;

/// Runs `f` on tokio's blocking pool and waits for it; outside a runtime,
/// runs it here. `None` when the runtime shut down before `f` ran; a panic
/// in `f` goes on in the caller.
pub(crate) async fn off_runtime<R, F>(f: F) -> Option<R>
where
    F: FnOnce() -> R + Send + 'static,
    R: Send + 'static,
{
    match tokio::runtime::Handle::try_current() {
        Ok(handle) => match handle.spawn_blocking(f).await {
            Ok(value) => Some(value),
            Err(error) => match error.try_into_panic() {
                Ok(payload) => resume_unwind(payload),
                Err(_) => None,
            },
        },
        Err(_) => Some(f()),
    }
}

/// Starts `f` on tokio's blocking pool without waiting for it (a release
/// in a destructor); outside a runtime, runs it here.
pub(crate) fn detach_off_runtime<F>(f: F)
where
    F: FnOnce() + Send + 'static,
{
    match tokio::runtime::Handle::try_current() {
        Ok(handle) => drop(handle.spawn_blocking(f)),
        Err(_) => f(),
    }
}
