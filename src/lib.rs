//! # prefect-rs
//!
//! Workflow orchestration for Rust, in the shape of [Prefect]: annotate
//! async (or sync) functions with `#[task]` and `#[flow]`, and every call
//! becomes a recorded run with a state history, retries with backoff,
//! timeouts, hooks, logs and subflows.
//!
//! ```
//! use prefect::prelude::*;
//!
//! #[derive(Debug, thiserror::Error)]
//! #[error("the service said no")]
//! struct Refused;
//!
//! #[task(retries = 2)]
//! async fn fetch(id: u32) -> Result<String, Refused> {
//!     if id == 0 { Err(Refused) } else { Ok(format!("record {id}")) }
//! }
//!
//! #[flow]
//! async fn sync_records(ids: Vec<u32>) -> Result<usize, prefect::Error> {
//!     let mut loaded = 0;
//!     for id in ids {
//!         if fetch(id).await.is_ok() {
//!             loaded += 1;
//!         }
//!     }
//!     Ok(loaded)
//! }
//!
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), prefect::Error> {
//! let harness = prefect::testing::harness();
//! let loaded = harness.run(sync_records(vec![1, 0, 2])).await?;
//! assert_eq!(loaded, 2);
//! // fetch(0) ran 3 times (1 + 2 retries) and failed; the flow still completed.
//! let failed = harness.task_runs().into_iter().find(|r| r.run_count == 3).unwrap();
//! assert_eq!(failed.state().unwrap().state_type, StateType::Failed);
//! assert_eq!(harness.flow_runs()[0].record.flow_name, "sync-records");
//! # Ok(()) }
//! ```
//!
//! ## Calls
//!
//! Calling a task or flow returns a call value ([`TaskCall`], [`FlowCall`]):
//! `.await` runs it and gives `Result<T, prefect::Error>`, where the error
//! says which state ended the run and keeps the body's own error
//! ([`Error::downcast_ref`]); `.return_state().await` gives the final
//! [`State<T>`]; `.with_options(|t| t.retries(5))` overrides options for one
//! call; `.blocking()` runs it from sync code. Each annotated function also
//! gets a same-named type with `call_direct(..)` (the body alone, for unit
//! tests) and `task()` / `flow()` (the descriptor).
//!
//! ## Caching
//!
//! A task with a cache option stores its value and serves identical calls
//! from the record, in this process or a later one, without running:
//!
//! ```
//! use prefect::prelude::*;
//! use prefect::results::MemoryStorage;
//!
//! /// Records in memory for this example; the default is local files under
//! /// `$PREFECT_HOME/storage`.
//! fn storage() -> std::sync::Arc<MemoryStorage> {
//!     static SHARED: std::sync::OnceLock<std::sync::Arc<MemoryStorage>> = std::sync::OnceLock::new();
//!     SHARED.get_or_init(Default::default).clone()
//! }
//!
//! #[task(cache_key = input_hash, cache_expiration = "1d", result_storage = storage)]
//! async fn score(text: String) -> usize {
//!     text.split_whitespace().count()
//! }
//!
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! # let h = prefect::testing::harness(); // not the real run database
//! # h.run(async {
//! assert_eq!(score("a b c".to_string()).await.unwrap(), 3);
//! let again = score("a b c".to_string()).return_state().await;
//! assert_eq!((again.name(), again.value()), ("Cached", Some(&3)));
//! # }).await;
//! # }
//! ```
//!
//! Keys, policies, storages, serializers and templates: [`results`].
//!
//! ## Guides
//!
//! - States and final-state rules: [`state`].
//! - Retries, delays and jitter: [`retry`].
//! - Hooks: [`hooks`]. Signals: [`Signal`].
//! - Run context and tags: [`context`], [`tags`].
//! - Logs: [`logging`]. Recording: [`record`], the run database: [`store`].
//!   Tests: [`testing`].
//!
//! ## What a program gets without setup
//!
//! When a program's first `#[task]` or `#[flow]` is called, this crate's
//! defaults run once:
//!
//! - **Console output**: if no `tracing` subscriber is installed, one is,
//!   printing Prefect-style lines (`12:00:01.123 | INFO | Task run
//!   'fetch-3f2' - ...`) and recording every event inside a run as that run's
//!   log. A program with its own subscriber adds [`logging::layer()`] to it
//!   to record run logs (install it before the first run).
//! - **Recording**: the run database the settings name
//!   (`PREFECT_API_DATABASE_URL`, else `$PREFECT_HOME/prefect.db`) becomes
//!   the default recorder, and its tag limits apply; with `PREFECT_API_URL`
//!   set, runs are recorded to that server instead (`prefect server
//!   start`), acknowledged batch by batch and spooled under
//!   `$PREFECT_HOME/spool` while it is away. Set
//!   `PREFECT_RECORDING_ENABLED=false` to record nothing, or set a recorder
//!   first ([`record::set_global_recorder`]). Calls built by hand
//!   ([`task_call`], [`flow_call`]) in a program without any `#[task]` or
//!   `#[flow]` get the database after [`store::install_default`].
//!
//! [Prefect]: https://www.prefect.io

pub use prefect_core::*;
/// `#[flow]`: makes an `async fn` or `fn` a flow whose every call is a flow run.
pub use prefect_macros::flow;
/// `#[task]`: makes an `async fn` or `fn` a task whose every call is a task run.
pub use prefect_macros::task;
/// `cron!`, `timezone!`, `rrule!`: schedule text checked at compile time.
pub use prefect_macros::{cron, rrule, timezone};

/// The README's examples, compiled and run as doctests.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;

/// The run database: the store capabilities ([`store::RunQuery`] and the
/// others, in [`store::prelude`]), [`store::AnyStore`] opened by URL, the
/// SQLite driver ([`store::SqliteStore`], [`store::SqliteRecorder`]), the
/// PostgreSQL store ([`store::PostgresStore`], shared by workers on many
/// machines), and
/// [`store::install_default`], which makes the settings' database the
/// process's default backend.
pub mod store {
    pub use prefect_store::*;
    pub use prefect_store_http::{HttpDriver, HttpOptions, HttpStore};
    pub use prefect_store_postgres::{PostgresDriver, PostgresOptions, PostgresStore};
    pub use prefect_store_sqlite::{
        SqliteDriver, SqliteOptions, SqliteRecorder, SqliteRecorderBuilder, SqliteStore,
    };

    /// Makes `sqlite:`, `http(s):` and `postgres(ql):` URLs openable with
    /// [`AnyStore::connect`], without choosing a default backend. Calling it
    /// again does nothing.
    pub fn register_drivers() {
        prefect_store_http::install();
        prefect_store_postgres::register();
        prefect_store_sqlite::register();
    }

    /// Registers the SQLite, HTTP and PostgreSQL drivers, then makes the settings'
    /// backend the process's default: the server of `PREFECT_API_URL` when
    /// one is set (recorded over HTTP, spooled while it is away), else the
    /// run database of `PREFECT_API_DATABASE_URL` / `$PREFECT_HOME`.
    /// Returns false when a backend was installed before.
    pub fn install_default() -> bool {
        prefect_store_http::install();
        prefect_store_postgres::register();
        prefect_store_sqlite::install_default()
    }
}

/// Orchestration: [`Deployment`]s of this binary's flows, [`serve`] to
/// schedule and run them, [`Worker`]s that claim runs from work queues,
/// [`run_deployment`] to start a deployment's run from code.
pub use prefect_deploy::{
    Catchup, Deploy, Deployment, DeploymentRun, Isolation, RunDeployment, Serve, WorkReport, Worker,
    pause_flow_run, pause_flow_run_with_input, serve,
};

/// Creates a run of the deployment `name` (`flow/deployment`) with
/// `parameters`, for a worker or `serve` of the program that has the flow;
/// see [`prefect_deploy::run_deployment`]. The run database is the
/// settings' (`PREFECT_API_URL`, `PREFECT_API_DATABASE_URL` or
/// `$PREFECT_HOME`), whatever its kind, also from a program that has not
/// run a flow yet.
///
/// ```no_run
/// # async fn example() -> Result<(), prefect::schedules::Error> {
/// let run = prefect::run_deployment("etl/daily", serde_json::json!({ "months": [1, 2] })).no_wait().await?;
/// println!("queued {}", run.name);
/// # Ok(()) }
/// ```
pub fn run_deployment(name: &str, parameters: impl serde::Serialize) -> RunDeployment {
    // The drivers are otherwise registered when the first task or flow is
    // built; a program that only queues runs may have built none.
    store::register_drivers();
    prefect_deploy::run_deployment(name, parameters)
}

/// When runs are due: cron patterns in IANA time zones (with Prefect's
/// DST rules), intervals, RFC 5545 recurrence rules and explicit dates,
/// with Prefect 1's filters and adjustments. Pure computation, used by
/// [`Deployment`] and [`serve`].
///
/// ```
/// use chrono::{TimeZone, Utc};
/// use prefect::schedules::Schedule;
///
/// let hourly = Schedule::cron("0 * * * *", "Europe/Berlin").unwrap();
/// let after = Utc.with_ymd_and_hms(2026, 12, 2, 9, 30, 0).unwrap();
/// assert_eq!(hourly.next_after(after), Some(Utc.with_ymd_and_hms(2026, 12, 2, 10, 0, 0).unwrap()));
/// ```
pub mod schedules {
    pub use prefect_deploy::schedules::*;
    pub use prefect_deploy::{Error, scheduled_run_id};
}

/// Glue for the code `#[task]` and `#[flow]` generate: prefect-core's, with
/// this crate's [`Defaults`](prefect_core::__private_v1::Defaults). Not a
/// stable API.
#[doc(hidden)]
pub mod __private_v1 {
    pub use prefect_core::__private_v1::*;

    /// What a program that sets nothing up gets, once, when its first
    /// `#[task]`/`#[flow]` descriptor is built: Prefect-style console output
    /// with run-log capture (unless the program installed a `tracing`
    /// subscriber), and the run database of the settings as the default
    /// recorder and source of shared tag limits.
    pub const DEFAULTS: Defaults =
        Defaults { console: prefect_core::logging::ensure_init, backend: crate::store::install_default };
}

/// The names most programs need: `use prefect::prelude::*;`.
pub mod prelude {
    pub use prefect_core::{
        Error, Flow, FlowCall, HookContext, RetryDelay, Signal, State, StateType, Task, TaskCall, debug,
        error, get_run_logger, info, trace, warn,
    };
    pub use prefect_deploy::Deploy;
    pub use prefect_macros::{flow, task};
}
