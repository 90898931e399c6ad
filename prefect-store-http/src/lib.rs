//! Recording prefect-rs runs to a prefect-rs server over HTTP, losing
//! nothing when the server is away.
//!
//! With `PREFECT_API_URL=http://127.0.0.1:4200/api` a program records its
//! runs to the server (`prefect server start`) instead of opening the run
//! database itself. The store's [`EventWriter`] sends each batch of events
//! (`POST /api/events`) with an id the server stores in the same
//! transaction, so a batch sent twice is stored once, and returns when the
//! server has acknowledged it. When the server cannot be reached (or
//! answers 5xx, or refuses the key), the batch goes to a spool on disk
//! under `$PREFECT_HOME/spool/` instead, synced before `write_events`
//! returns, and so does every later batch, in order, until a background
//! task has sent the spool; it tries again with backoff (100 ms doubling to
//! 5 s). One warning says so when it starts and one line when it is sent.
//! The flows keep running meanwhile, and a root flow whose final state is
//! spooled has it kept as durably as a local commit.
//!
//! A program that ends while the server is still away leaves its spool on
//! disk (it waits up to [`HttpOptions::close_wait`], 5 s by default, and
//! says what it left); the next program that records to a server from the
//! same `$PREFECT_HOME` sends it, under a lease in the dead process's name,
//! so its runs that never ended are marked Crashed.
//!
//! Leases (`/api/leases`) tell the server the recording process is alive;
//! tag concurrency slots (`/api/concurrency_limits/slots`) are taken and
//! freed on the server, shared with every other client. [`RunQuery`]
//! reads runs, task runs and logs through the server's JSON API (runs
//! named by prefix, short id or name are resolved by the server), and
//! every [`RunQueue`] call a worker or `serve` makes goes to `POST
//! /api/queue` ([`prefect_store::wire::QueueCall`]), so workers claim,
//! heartbeat and schedule through the server. What the API does not offer
//! (pruning, integrity checks, changing concurrency limits, filters it
//! cannot express, lists of more than 1,000 rows) is
//! [`Error::Unsupported`], naming the call. The store cannot tell when the
//! queue changed ([`RunQueue::change_counter`] is `None`), so a waiting
//! worker asks the server every 20 ms.
//!
//! ```no_run
//! use prefect_store::{AnyStore, EventWriter};
//! use prefect_store_http::{HttpOptions, HttpStore};
//!
//! let store = HttpStore::connect(HttpOptions::new("http://127.0.0.1:4200/api")).unwrap();
//! let store = AnyStore::new(store);
//! # let _ = store;
//! ```
//!
//! [`install`] registers the driver for `http:` and `https:` URLs; the
//! `prefect` facade calls it, and its default backend records to the
//! server when the settings name one (`prefect_store::install_default`).

mod client;
mod query;
mod sender;
mod spool;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use prefect_model::{Event, RunId};
use prefect_store::{
    AnyStore, BatchId, ConnectOptions, Driver, Error, EventWriter, Lease, LeaseId, LeaseOwner, Result,
    StoreFuture, StoreUrl,
};
#[cfg(doc)]
use prefect_store::{RunQuery, RunQueue};

use client::Client;
use sender::Sender;
use spool::Spool;

/// How long a store reached over HTTP waits, when its recorder closes, for
/// a spool to be sent before leaving it on disk.
pub const DEFAULT_CLOSE_WAIT: Duration = Duration::from_secs(5);

/// Where and how to reach a server.
#[derive(Debug, Clone)]
pub struct HttpOptions {
    api: String,
    key: Option<String>,
    spool_root: PathBuf,
    close_wait: Duration,
    adopt_orphans: bool,
}

impl HttpOptions {
    /// The server's API at `api` (`http://127.0.0.1:4200/api`), with the key
    /// and spool of the settings (`PREFECT_API_KEY`,
    /// `$PREFECT_HOME/spool`).
    pub fn new(api: impl Into<String>) -> HttpOptions {
        let settings = prefect_settings::current();
        HttpOptions {
            api: api.into().trim_end_matches('/').to_owned(),
            key: settings.api_key.as_ref().map(|k| k.expose().to_owned()),
            spool_root: settings.home.join("spool"),
            close_wait: DEFAULT_CLOSE_WAIT,
            adopt_orphans: false,
        }
    }

    /// The API key to send as a bearer token.
    pub fn api_key(mut self, key: impl Into<String>) -> Self {
        self.key = Some(key.into());
        self
    }

    /// Where unacknowledged batches are kept (default `$PREFECT_HOME/spool`).
    pub fn spool_root(mut self, root: impl Into<PathBuf>) -> Self {
        self.spool_root = root.into();
        self
    }

    /// How long closing waits for the spool to be sent (default 5 s).
    pub fn close_wait(mut self, wait: Duration) -> Self {
        self.close_wait = wait;
        self
    }

    /// Whether this store also sends the spools that dead processes left
    /// under the same root (what a recorder's store does; default false).
    pub fn adopt_orphans(mut self, adopt: bool) -> Self {
        self.adopt_orphans = adopt;
        self
    }
}

/// A run database reached through a prefect-rs server: see the
/// [crate docs](crate).
#[derive(Debug)]
pub struct HttpStore {
    client: Arc<Client>,
    sender: Arc<Sender>,
    close_wait: Duration,
    /// Senders of orphaned spools, kept alive with the store.
    _orphans: Vec<Arc<Sender>>,
}

impl HttpStore {
    /// A store on the server `options` name. Nothing is sent yet: a server
    /// that is away now is not an error (recording spools).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for a URL that is not `http://`,
    /// [`Error::Thread`] when the client's thread cannot start.
    pub fn connect(options: HttpOptions) -> Result<HttpStore> {
        let lower = options.api.to_ascii_lowercase();
        if lower.starts_with("https://") {
            return Err(Error::InvalidArgument {
                what: "server URL",
                reason: format!(
                    "`{}`: https is not supported yet; reach the server over http on a trusted network, \
                     or through a TLS-terminating proxy on this machine",
                    options.api
                ),
            });
        }
        if !lower.starts_with("http://") {
            return Err(Error::InvalidArgument {
                what: "server URL",
                reason: format!("`{}` is not an http:// URL", options.api),
            });
        }
        let client = Arc::new(Client::new(&options.api, options.key.clone())?);
        let ttl = Duration::from_secs(30);
        let spool = Spool::new(&options.spool_root, LeaseOwner::current());
        let sender = Sender::start(client.clone(), spool, ttl, false);
        let orphans = if options.adopt_orphans {
            spool::orphans(&options.spool_root)
                .into_iter()
                .map(|orphan| Sender::start(client.clone(), orphan, ttl, true))
                .collect()
        } else {
            Vec::new()
        };
        Ok(HttpStore { client, sender, close_wait: options.close_wait, _orphans: orphans })
    }

    fn unsupported<T>(&self, operation: &'static str) -> StoreFuture<'_, T>
    where
        T: Send + 'static,
    {
        let store = format!("the server at `{}`", self.client.api());
        Box::pin(std::future::ready(Err(Error::Unsupported { operation, store })))
    }
}

impl EventWriter for HttpStore {
    fn write_events<'a>(&'a self, _lease: Option<LeaseId>, events: &'a [Event]) -> StoreFuture<'a, ()> {
        // The server's lease for this process is the sender's own.
        Box::pin(self.sender.write(events))
    }

    fn write_events_once<'a>(
        &'a self,
        _batch: BatchId,
        _lease: Option<LeaseId>,
        _events: &'a [Event],
    ) -> StoreFuture<'a, bool> {
        // Batch ids are this store's to choose (see write_events).
        self.unsupported("storing a batch by a caller's id")
    }

    fn acquire_lease<'a>(&'a self, owner: &'a LeaseOwner, ttl: Duration) -> StoreFuture<'a, Lease> {
        self.sender.set_ttl(ttl);
        let owner = owner.clone();
        Box::pin(async move {
            let id = self.sender.lease().await;
            let expires =
                chrono::Utc::now() + chrono::TimeDelta::from_std(ttl).unwrap_or(chrono::TimeDelta::MAX);
            Ok(Lease { id, owner, expires })
        })
    }

    fn renew_lease<'a>(&'a self, _lease: &'a Lease, ttl: Duration) -> StoreFuture<'a, bool> {
        self.sender.set_ttl(ttl);
        Box::pin(self.sender.renew())
    }

    fn release_lease(&self, _lease: LeaseId) -> StoreFuture<'_, Vec<RunId>> {
        Box::pin(self.sender.clone().release(self.close_wait))
    }
}

/// Opens `http:` URLs: the server's API (`http://host:4200/api`).
#[derive(Debug, Clone, Copy, Default)]
pub struct HttpDriver;

/// The driver, for [`prefect_store::register_driver`].
pub static DRIVER: HttpDriver = HttpDriver;

impl Driver for HttpDriver {
    fn name(&self) -> &'static str {
        "http"
    }

    fn schemes(&self) -> &'static [&'static str] {
        &["http", "https"]
    }

    fn connect(&self, url: &StoreUrl, _options: &ConnectOptions) -> Result<AnyStore> {
        Ok(AnyStore::new(HttpStore::connect(HttpOptions::new(url.as_str()))?))
    }

    /// A recorder's store, which also sends the spools dead processes left.
    fn connect_writer(&self, url: &StoreUrl, _options: &ConnectOptions) -> Result<AnyStore> {
        Ok(AnyStore::new(HttpStore::connect(HttpOptions::new(url.as_str()).adopt_orphans(true))?))
    }
}

/// Makes `http:` URLs openable with [`AnyStore::connect`]. Calling it again
/// does nothing.
pub fn install() {
    prefect_store::register_driver(&DRIVER);
}
