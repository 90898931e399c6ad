//! The run database of prefect-rs, behind capability traits.
//!
//! The engine emits run events (runs created, states entered, dependency
//! edges, log lines) into a [`prefect_model::Recorder`]. This crate stores
//! them, whatever the backend, and answers the questions the CLI and UI ask:
//!
//! - [`capability`]: what a driver offers, one trait each: [`EventWriter`]
//!   (events and leases), [`RunQuery`] (runs, states, logs, edges),
//!   [`ConcurrencySlots`] (tag limits shared by processes), [`Upkeep`]
//!   (schema, crash detection, retention), [`RunQueue`] (deployments,
//!   scheduled runs, work queues, workers); [`Store`] is all five.
//! - [`AnyStore`]: one handle for any backend, opened from a [`StoreUrl`]
//!   (`sqlite:///path/prefect.db`, later `postgresql://...`, `http://...`)
//!   through the registered [`Driver`]s. `prefect-store-sqlite` is the
//!   embedded default.
//! - [`BatchingRecorder`]: the recorder for any store: `record` never
//!   blocks; a writer thread batches events into transactions.
//! - [`install_default`]: the run database of the settings as the process's
//!   default backend.
//! - [`transition`]: the one rule that moves a stored run into a state.
//! - `conformance` (feature): the suite every driver must pass.
//!
//! ```
//! use prefect_store::{ConnectOptions, StoreUrl};
//!
//! // The CLI and the server open whatever the settings or `--db` name.
//! let url = StoreUrl::parse("sqlite:///var/lib/prefect/prefect.db").unwrap();
//! assert_eq!(url.scheme(), "sqlite");
//! let read_only = ConnectOptions::new().read_only(true);
//! assert!(read_only.is_read_only());
//! ```
//!
//! # Feature flags
//!
//! - `conformance`: `prefect_store::conformance`, the test suite every
//!   driver must pass.

mod any;
mod batch;
pub mod capability;
pub mod codes;
pub mod control;
mod error;
mod filter;
pub mod history;
mod install;
pub mod lease;
mod model;
mod prefix;
mod queue;
mod recorder;
mod reference;
mod shared_limits;
pub mod transition;
mod url;
pub mod wire;

#[cfg(feature = "conformance")]
pub mod conformance;

/// The capability traits, to call store methods on a concrete store:
/// `use prefect_store::prelude::*;`.
pub mod prelude {
    pub use crate::capability::{ConcurrencySlots, EventWriter, RunQuery, RunQueue, Store, Upkeep};
}

pub use any::{AnyStore, ConnectOptions, Driver, driver_for, register_driver};
pub use batch::BatchId;
pub use capability::{ConcurrencySlots, EventWriter, RunQuery, RunQueue, Store, StoreFuture, Upkeep};
pub use error::{BoxError, Error, Result};
pub use filter::{DEFAULT_LIMIT, FlowRunCursor, FlowRunFilter, LogFilter, TaskRunFilter, TaskRunScope};
pub use install::{install_default, open_backend};
pub use lease::{Lease, LeaseId, LeaseOwner};
pub use model::{
    ConcurrencyLimit, FlowRunDetail, FlowRunSummary, FlowSummary, LogCursor, LogEntry, PruneProgress,
    PruneReport, Retention, RunMatch, SlotDecision, SlotHolder, TaskRunDetail, TaskRunSummary,
};
pub use prefix::IdPrefix;
pub use queue::{
    ClaimRequest, DEFAULT_WORK_QUEUE, Deployment, DeploymentId, DeploymentSpec, NewFlowRun, QueuedRun,
    WorkQueue, WorkQueueUpdate, WorkerBeat, WorkerInfo,
};
pub use recorder::{BatchingRecorder, RecorderOptions};
pub use reference::{RunScope, ShortId};
pub use shared_limits::StoreLimits;
pub use url::StoreUrl;

#[cfg(test)]
mod tests {
    fn send_sync<T: Send + Sync>() {}

    #[test]
    fn public_types_are_send_and_sync() {
        send_sync::<crate::Error>();
        send_sync::<crate::FlowRunFilter>();
        send_sync::<crate::FlowRunDetail>();
        send_sync::<crate::AnyStore>();
        send_sync::<crate::BatchingRecorder>();
    }
}
