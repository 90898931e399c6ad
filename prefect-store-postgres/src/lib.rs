//! The PostgreSQL run database of prefect-rs.
//!
//! One database holds the runs, states, logs and leases of every process
//! and machine that records into it: set
//! `PREFECT_API_DATABASE_URL=postgresql://user@host:5432/db` (the `prefect`
//! facade registers this driver), or open it yourself:
//!
//! ```no_run
//! use prefect_store::prelude::*;
//! use prefect_store::FlowRunFilter;
//! use prefect_store_postgres::PostgresStore;
//!
//! # async fn demo() -> prefect_store::Result<()> {
//! let store = PostgresStore::connect("postgresql://postgres@127.0.0.1:5432/test")?;
//! for run in store.list_flow_runs(&FlowRunFilter::new().limit(10)).await? {
//!     println!("{} {}", run.name, run.state.map(|s| s.name.to_string()).unwrap_or_default());
//! }
//! # Ok(()) }
//! ```
//!
//! Opening creates the tables, or brings an older schema up to date, in one
//! transaction under an advisory lock; a database written by a newer build
//! is refused ([`prefect_store::Error::SchemaTooNew`]). Calls run on a
//! small runtime of the store's own with a pool of connections, so they
//! can be awaited from any executor or blocked on from a plain thread.
//!
//! It records and reads runs (states, logs, dependency edges, results),
//! holds leases and crashes the runs of dead writers, keeps tag
//! concurrency limits and their slots, prunes old runs, and holds the run
//! queue that workers on many machines claim from: `FOR UPDATE SKIP
//! LOCKED` claims, and wake-ups by `LISTEN/NOTIFY` on a channel named after
//! the schema, which every write notifies
//! ([`prefect_store::RunQueue::wait_for_change`]). It passes the whole
//! store conformance suite.

mod changes;
mod lease;
mod pool;
mod prune;
mod query;
mod queue;
mod schema;
mod slots;
mod store;
mod store_impl;
mod write;

use prefect_store::{AnyStore, ConnectOptions, Driver, Result, StoreUrl};

pub use store::{PostgresOptions, PostgresStore};

/// Opens `postgres:` and `postgresql:` URLs for [`AnyStore::connect`].
#[derive(Debug, Clone, Copy, Default)]
pub struct PostgresDriver;

/// The driver, for [`prefect_store::register_driver`].
pub static DRIVER: PostgresDriver = PostgresDriver;

impl Driver for PostgresDriver {
    fn name(&self) -> &'static str {
        "postgresql"
    }

    fn schemes(&self) -> &'static [&'static str] {
        &["postgres", "postgresql"]
    }

    fn connect(&self, url: &StoreUrl, _options: &ConnectOptions) -> Result<AnyStore> {
        Ok(AnyStore::new(PostgresStore::connect(url.as_str())?))
    }
}

/// Makes `postgresql:` URLs openable with [`AnyStore::connect`]. Calling it
/// again does nothing.
pub fn register() {
    prefect_store::register_driver(&DRIVER);
}
