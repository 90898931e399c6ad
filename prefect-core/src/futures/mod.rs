//! Futures of submitted runs: [`TaskFuture`] from `.submit()`,
//! [`FlowFuture`] from a flow's `.submit()`, and [`wait`] / [`as_completed`]
//! over several of them.
//!
//! A future is `#[must_use]`: dropping one does not stop its run (the flow
//! still waits for it before it ends), and a run that fails while nobody
//! holds its future is logged as a warning.

mod flow_future;
mod input;
pub(crate) mod map;
pub(crate) mod slot;
mod task_future;
mod wait;

pub use flow_future::FlowFuture;
pub use input::{Input, TaskInput};
#[doc(hidden)]
pub use map::MapItems;
pub use map::{DEFAULT_MAP_WINDOW, MapArg, MapCall, MapFutures, Unmapped, unmapped};
pub use slot::Upstream;
pub use task_future::{AllowFailure, Dependency, TaskFuture, TaskResult, allow_failure};
pub use wait::{Done, as_completed, wait};
