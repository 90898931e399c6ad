//! The run engine: attempt factories, the shared run loop, and the drivers
//! that create task runs and flow runs.

pub(crate) mod attempts;
pub(crate) mod blocking;
mod cache;
pub(crate) mod flow_run;
pub(crate) mod io;
pub(crate) mod key_locks;
mod names;
mod not_cached;
pub(crate) mod outcome;
mod record_memo;
mod run_loop;
pub(crate) mod stack;
pub(crate) mod task_run;

pub(crate) use run_loop::run_hooks;

/// Keeps a record just written to local files in memory (see `record_memo`).
pub(crate) fn record_memo_put(location: &str, bytes: std::sync::Arc<[u8]>) {
    record_memo::put(location, bytes);
}

/// Drops the records kept in memory (see `record_memo`).
pub(crate) fn record_memo_clear() {
    record_memo::clear();
}
