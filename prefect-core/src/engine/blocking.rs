//! Sync bodies on tokio's blocking pool, and `.blocking()` calls from sync code.

use std::cell::Cell;
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::OnceLock;

use super::outcome::{Outcome, panic_message};
use crate::context::Scope;
use crate::error::Error;

thread_local! {
    /// Set while a sync body runs on a blocking-pool thread, where waiting
    /// on a task call with `.blocking()` is allowed.
    static IN_SYNC_BODY: Cell<bool> = const { Cell::new(false) };
}

/// Runs the sync `body` on the blocking pool inside the current run scope.
pub(crate) async fn spawn_body<T, F>(body: F) -> Outcome<T>
where
    F: FnOnce() -> Outcome<T> + Send + 'static,
    T: Send + 'static,
{
    let scope = Scope::current();
    // The flow's runner may bound how many sync bodies run at once.
    let permits = scope.flow.as_ref().and_then(|f| f.runtime.runner.blocking_permits());
    let _permit = match permits {
        Some(permits) => permits.acquire_owned().await.ok(),
        None => None,
    };
    let handle = tokio::task::spawn_blocking(move || {
        scope.enter_sync(|| {
            IN_SYNC_BODY.with(|flag| flag.set(true));
            let result = catch_unwind(AssertUnwindSafe(body));
            IN_SYNC_BODY.with(|flag| flag.set(false));
            result.unwrap_or_else(|payload| Outcome::Panic(panic_message(payload)))
        })
    });
    match handle.await {
        Ok(outcome) => outcome,
        Err(join_error) => Outcome::Panic(format!("the blocking body did not finish: {join_error}")),
    }
}

/// Drives `fut` to completion from sync code: inside a sync body on the
/// blocking pool, or from a program with no tokio runtime at all (then a
/// shared runtime is started on first use).
///
/// # Errors
/// [`Error::Blocking`] when called from async code, where it would stall
/// the runtime.
pub(crate) fn block_on<F: Future>(fut: F) -> Result<F::Output, Error> {
    if IN_SYNC_BODY.with(Cell::get) {
        return Ok(tokio::runtime::Handle::current().block_on(fut));
    }
    if tokio::runtime::Handle::try_current().is_ok() {
        return Err(Error::Blocking {
            call: ".blocking()",
            hint: "this is async code; use .await instead (.blocking() is for sync #[task]/#[flow] bodies and programs without a tokio runtime)",
        });
    }
    Ok(shared_runtime()?.block_on(fut))
}

fn shared_runtime() -> Result<&'static tokio::runtime::Runtime, Error> {
    static RUNTIME: OnceLock<Result<tokio::runtime::Runtime, String>> = OnceLock::new();
    RUNTIME
        .get_or_init(|| {
            tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .thread_name("prefect-runtime")
                .build()
                .map_err(|e| e.to_string())
        })
        .as_ref()
        .map_err(|_| Error::Blocking {
            call: ".blocking()",
            hint: "no tokio runtime could be started in this process; run inside #[tokio::main]",
        })
}
