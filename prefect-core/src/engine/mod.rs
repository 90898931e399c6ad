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
pub(crate) mod record_memo;
mod run_loop;
pub(crate) mod stack;
pub(crate) mod task_run;

pub(crate) use run_loop::run_hooks;
