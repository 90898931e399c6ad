//! The prefect-rs server: a JSON API over the run database, for the CLI,
//! scripts, the web UI and programs recording their runs remotely.
//!
//! It reads through the store traits only, so it serves whatever store
//! the settings name. It listens on 127.0.0.1 unless given an API key;
//! with a key, every call but `/api/health` must send it as
//! `Authorization: Bearer <key>`.
//!
//! The OpenAPI document of every route is at `/api/openapi.json`. The web
//! UI is at `/` (dashboard), `/runs` (`?state=`, `?flow=`), `/runs/{id}` (with its
//! task runs' timeline and dependency graph), `/task-runs/{id}`, `/flows`,
//! `/deployments`, `/work-queues` (with the workers) and `/concurrency-limits`: server-rendered
//! pages that escape every value, with a little plain JavaScript.
//!
//! Reads (`GET`, JSON; errors are `{"error": "...", "field": "..."}` with
//! 400, 401, 403, 404 or 409):
//!
//! | route | query |
//! |---|---|
//! | `/api/health` | |
//! | `/api/flows` | |
//! | `/api/flow_runs` | `state=failed,crashed`, `flow=NAME`, `since=RFC3339`, `limit=1..1000` |
//! | `/api/flow_runs/{id}` | `task_runs=0..1000` |
//! | `/api/flow_runs/{id}/task_runs` | `state`, `limit` |
//! | `/api/flow_runs/{id}/logs` | `after=NEXT`, `level=warning`, `limit` |
//! | `/api/flow_runs/{id}/dependencies` | `limit=1..100000`: the edges into its task runs |
//! | `/api/flow_runs/{id}/graph` | `limit=1..20000`: its task runs and subflows laid out, with their edges |
//! | `/api/flow_runs/{id}/events` | Server-Sent Events: `state`, `tasks` and `log` as recorded, until it ends |
//! | `/api/flow_runs/changes` | Server-Sent Events: `changed` whenever anything was recorded (the runs list follows it) |
//! | `/api/task_runs/{id}` | |
//! | `/api/runs/resolve` | `reference=ID-PREFIX-SHORT-ID-OR-NAME`, `scope=flow_runs\|task_runs\|any` |
//! | `/api/deployments`, `/api/work_queues`, `/api/workers`, `/api/concurrency_limits` | |
//! | `/api/concurrency_limits/holders` | the task runs holding slots now |
//!
//! Writes (`POST` with a JSON object body, `{}` when there is nothing to
//! say; the same rules as the CLI's, from `prefect_store::control`):
//! `/api/flow_runs/{id}/cancel`, `/api/flow_runs/{id}/retry`,
//! `/api/flow_runs/{id}/resume` (`{"input": ...}` for a run paused for
//! one), `DELETE /api/flow_runs/{id}` (`{}`; a run still going is a 409), `/api/deployments/{flow}/{name}/runs` (`{"parameters": {..},
//! "start_at": RFC3339}`; 201 with the run's id and name), `/api/deployments/{flow}/{name}/pause` and
//! `/api/deployments/{flow}/{name}/resume`.
//!
//! Remote recording (what `prefect-store-http` sends when a program sets
//! `PREFECT_API_URL`): `POST /api/events` (`{"batch": UUID, "lease": ID,
//! "events": [..]}`, stored in one transaction, exactly once per batch id),
//! `POST /api/leases`, `PUT` and `DELETE /api/leases/{id}`,
//! `POST /api/concurrency_limits/slots` and
//! `DELETE /api/concurrency_limits/slots/{holder}`; and for remote workers
//! and `serve`, `POST /api/queue` (one `prefect_store::wire::QueueCall`:
//! claims, heartbeats, deployments, scheduled runs, state changes).
//!
//! A browser signs in to a keyed server at `/login` with the key: it gets a
//! session cookie (`HttpOnly`, `SameSite=Strict`, derived from the key) and
//! a CSRF cookie whose token every write it makes must echo in the
//! `X-CSRF-Token` header; pages asked for without either go to `/login`.
//!
//! Without a key, a request must name `localhost` or a loopback address as
//! its host (a page elsewhere cannot reach it through DNS rebinding), and
//! writes must be `application/json` (a page elsewhere cannot send that
//! without a preflight, which is never answered): the server sets no
//! cookies, so there is nothing else to forge.
//!
//! # Examples
//! ```
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! use prefect_server::Server;
//! use prefect_store::AnyStore;
//!
//! let store = AnyStore::new(prefect_store_sqlite::SqliteStore::open_in_memory().unwrap());
//! // Port 0: the system picks a free one.
//! let server = Server::builder(store).port(0).bind().await.unwrap();
//! let address = server.local_addr();
//! assert!(address.ip().is_loopback());
//! let stop = async {}; // stops at once; a program passes e.g. ctrl_c()
//! server.serve(stop).await.unwrap();
//! # });
//! ```

mod api;
mod auth;
mod error;
mod graph;
mod live;
mod login;
mod openapi;
mod pages;
mod record;
mod task_page;
mod ui;

use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::get;
use prefect_store::AnyStore;
use utoipa::OpenApi as _;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub use auth::ApiKey;
pub use error::{Error, Result};

/// The port Prefect's server uses, and ours by default.
pub const DEFAULT_PORT: u16 = 4200;

/// The largest request body accepted (bytes).
pub const MAX_BODY: usize = 1024 * 1024;

/// A server, configured: see [`Server::builder`].
#[derive(Debug, Clone)]
pub struct ServerBuilder {
    store: AnyStore,
    host: IpAddr,
    port: u16,
    api_key: Option<ApiKey>,
}

impl ServerBuilder {
    /// The address to listen on (default 127.0.0.1). Anything but a
    /// loopback address needs an [`api_key`](Self::api_key).
    pub fn host(mut self, host: IpAddr) -> Self {
        self.host = host;
        self
    }

    /// The port (default [`DEFAULT_PORT`]; 0 lets the system choose).
    pub fn port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }

    /// The key clients must send.
    pub fn api_key(mut self, key: ApiKey) -> Self {
        self.api_key = Some(key);
        self
    }

    /// The API as a router, for tests (`tower::ServiceExt::oneshot`) or to
    /// nest in a program's own server.
    pub fn router(&self) -> Router {
        router(self.store.clone(), self.api_key.clone())
    }

    /// Binds the address, so a port in use or a missing key is an error now
    /// rather than at the first request.
    ///
    /// # Errors
    /// [`Error::ApiKeyRequired`] beyond loopback without a key,
    /// [`Error::Store`] when the store cannot be read and written now (a
    /// database another process holds: the error names the file),
    /// [`Error::Bind`] when the address cannot be bound.
    pub async fn bind(self) -> Result<Server> {
        let addr = SocketAddr::new(self.host, self.port);
        if !self.host.is_loopback() && self.api_key.is_none() {
            return Err(Error::ApiKeyRequired { addr });
        }
        let store = self.store.clone();
        let ready = tokio::task::spawn_blocking(move || futures::executor::block_on(store.check_ready()))
            .await
            .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()));
        ready.map_err(Error::Store)?;
        let listener =
            tokio::net::TcpListener::bind(addr).await.map_err(|source| Error::Bind { addr, source })?;
        let local = listener.local_addr().map_err(|source| Error::Bind { addr, source })?;
        Ok(Server { listener, router: self.router(), local, store: self.store })
    }
}

/// A server listening on its address; [`Server::serve`] answers requests.
#[derive(Debug)]
pub struct Server {
    listener: tokio::net::TcpListener,
    router: Router,
    local: SocketAddr,
    store: AnyStore,
}

impl Server {
    /// A server over `store`, on 127.0.0.1:[`DEFAULT_PORT`] without a key.
    pub fn builder(store: AnyStore) -> ServerBuilder {
        ServerBuilder { store, host: IpAddr::V4(Ipv4Addr::LOCALHOST), port: DEFAULT_PORT, api_key: None }
    }

    /// The address it listens on (with the port the system chose for 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// Answers requests until `shutdown` completes, then lets the requests
    /// in progress finish.
    ///
    /// # Errors
    /// [`Error::Serve`] when the listener fails.
    ///
    /// Meanwhile, every [`CRASH_CHECK_EVERY`], it marks Crashed the runs
    /// whose recording process is gone (a remote recorder whose lease
    /// lapsed, a local process that died).
    pub async fn serve(self, shutdown: impl Future<Output = ()> + Send + 'static) -> Result<()> {
        let checks = tokio::spawn(check_for_crashes(self.store));
        let served = axum::serve(self.listener, self.router)
            .with_graceful_shutdown(shutdown)
            .await
            .map_err(Error::Serve);
        checks.abort();
        served
    }
}

/// How often a serving server looks for runs whose process is gone.
pub const CRASH_CHECK_EVERY: std::time::Duration = std::time::Duration::from_secs(10);

async fn check_for_crashes(store: AnyStore) {
    let mut every = tokio::time::interval(CRASH_CHECK_EVERY);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        let store = store.clone();
        let checked = tokio::task::spawn_blocking(move || {
            futures::executor::block_on(prefect_store::Upkeep::mark_crashed_stale_runs(&*store))
        })
        .await;
        match checked {
            Ok(Ok(crashed)) if !crashed.is_empty() => {
                tracing::info!(runs = crashed.len(), "marked Crashed the runs of processes that are gone");
            }
            Ok(Ok(_)) => {}
            Ok(Err(error)) => tracing::warn!(%error, "could not look for crashed runs"),
            Err(error) => tracing::error!(%error, "looking for crashed runs panicked"),
        }
    }
}

/// The routes, the key check and the body limit, and the OpenAPI document
/// the same calls describe.
fn router(store: AnyStore, key: Option<ApiKey>) -> Router {
    let guarded = OpenApiRouter::new()
        .routes(routes!(api::flows))
        .routes(routes!(api::flow_runs))
        .routes(routes!(api::flow_run, api::delete_flow_run))
        .routes(routes!(api::task_runs_of))
        .routes(routes!(api::logs))
        .routes(routes!(api::dependencies))
        .routes(routes!(graph::graph))
        .routes(routes!(live::events))
        .routes(routes!(live::changes))
        .routes(routes!(api::cancel))
        .routes(routes!(api::retry))
        .routes(routes!(api::resume))
        .routes(routes!(api::task_runs))
        .routes(routes!(api::task_run))
        .routes(routes!(api::resolve))
        .routes(routes!(api::deployments))
        .routes(routes!(api::create_run))
        .routes(routes!(api::pause_deployment))
        .routes(routes!(api::resume_deployment))
        .routes(routes!(api::work_queues))
        .routes(routes!(api::workers))
        .routes(routes!(api::concurrency_limits))
        .routes(routes!(api::slot_holders))
        .routes(routes!(record::acquire_lease))
        .routes(routes!(record::renew_lease, record::release_lease))
        .routes(routes!(record::take_slots))
        .routes(routes!(record::release_slots))
        .routes(routes!(record::queue))
        .merge(
            // Event batches are the one body allowed to be large.
            OpenApiRouter::new()
                .routes(routes!(record::events))
                .layer(DefaultBodyLimit::max(record::MAX_BATCH_BODY)),
        )
        .layer(axum::middleware::from_fn_with_state(key.clone(), auth::require_key));
    let pages = Router::new()
        .route("/", get(ui::dashboard))
        .route("/runs", get(ui::runs))
        .route("/runs/{id}", get(ui::run))
        .route("/task-runs/{id}", get(task_page::task_run))
        .route("/deployments", get(ui::deployments))
        .route("/flows", get(pages::flows))
        .route("/work-queues", get(pages::work_queues))
        .route("/concurrency-limits", get(pages::concurrency_limits))
        .layer(axum::middleware::from_fn_with_state(key.clone(), auth::require_key));
    // Signing in needs no key (it is how a browser presents one).
    let login = Router::new()
        .route("/login", get(login::form).post(login::sign_in))
        .route("/logout", axum::routing::post(login::sign_out))
        .with_state(key);
    let (router, mut document) = OpenApiRouter::with_openapi(openapi::Document::openapi())
        .routes(routes!(api::health))
        .merge(guarded)
        .split_for_parts();
    document.paths.paths.insert("/api/openapi.json".into(), openapi::document_path());
    let document = std::sync::Arc::new(document);
    router
        .merge(pages)
        .merge(login)
        .route("/api/openapi.json", get(move || std::future::ready(axum::Json(document.clone()))))
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(store)
}
