//! [`AnyStore`]: one handle for every backend, chosen at run time from a
//! [`StoreUrl`] through the registered [`Driver`]s.

use std::fmt;
use std::ops::Deref;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use crate::capability::Store;
use crate::error::{Error, Result};
use crate::url::StoreUrl;

/// How to open a store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectOptions {
    pub(crate) create: bool,
    pub(crate) migrate: bool,
    pub(crate) read_only: bool,
    pub(crate) detect_crashes: bool,
    pub(crate) busy_timeout: Duration,
}

impl Default for ConnectOptions {
    fn default() -> Self {
        ConnectOptions {
            create: true,
            migrate: true,
            read_only: false,
            detect_crashes: true,
            busy_timeout: Duration::from_secs(5),
        }
    }
}

impl ConnectOptions {
    /// Defaults: create the store if missing, migrate it, mark Crashed the
    /// runs of dead processes, wait up to 5 s for another writer.
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether a missing store is created (default true).
    pub fn create(mut self, create: bool) -> Self {
        self.create = create;
        self
    }

    /// Whether an older schema is migrated, and the store set up for writing
    /// (default true). Without it, a store at the current schema opens as
    /// usual (crash detection included), and an older one is opened for
    /// reading only: what a command that only reads wants, so that it never
    /// upgrades a database an older program still uses.
    pub fn migrate(mut self, migrate: bool) -> Self {
        self.migrate = migrate;
        self
    }

    /// Open for reading only: nothing is created, migrated or written; a
    /// store of an older schema is read as it is, or refused if it cannot be.
    pub fn read_only(mut self, read_only: bool) -> Self {
        self.read_only = read_only;
        self
    }

    /// Whether opening marks Crashed the runs of dead processes (default true).
    pub fn detect_crashes(mut self, detect: bool) -> Self {
        self.detect_crashes = detect;
        self
    }

    /// How long a write waits for another writer's lock (default 5 s).
    pub fn busy_timeout(mut self, timeout: Duration) -> Self {
        self.busy_timeout = timeout;
        self
    }

    /// See [`ConnectOptions::create`].
    pub fn creates(&self) -> bool {
        self.create
    }

    /// See [`ConnectOptions::migrate`].
    pub fn migrates(&self) -> bool {
        self.migrate
    }

    /// See [`ConnectOptions::read_only`].
    pub fn is_read_only(&self) -> bool {
        self.read_only
    }

    /// See [`ConnectOptions::detect_crashes`].
    pub fn detects_crashes(&self) -> bool {
        self.detect_crashes
    }

    /// See [`ConnectOptions::busy_timeout`].
    pub fn busy_timeout_value(&self) -> Duration {
        self.busy_timeout
    }
}

/// A store backend: opens stores for the URL schemes it knows.
///
/// Drivers register with [`register_driver`]; `prefect-store-sqlite` is
/// the embedded default.
pub trait Driver: Send + Sync + 'static {
    /// The driver's name, e.g. `"sqlite"`.
    fn name(&self) -> &'static str;

    /// The URL schemes it opens, e.g. `["sqlite"]`.
    fn schemes(&self) -> &'static [&'static str];

    /// Opens the store at `url`.
    ///
    /// # Errors
    /// The driver's errors, naming the store.
    fn connect(&self, url: &StoreUrl, options: &ConnectOptions) -> Result<AnyStore>;

    /// A second handle to the store `url` names, for a recorder's writer
    /// (SQLite gives it its own connection; a pooled driver may share).
    ///
    /// # Errors
    /// As [`Driver::connect`].
    fn connect_writer(&self, url: &StoreUrl, options: &ConnectOptions) -> Result<AnyStore> {
        self.connect(url, options)
    }
}

static DRIVERS: RwLock<Vec<&'static dyn Driver>> = RwLock::new(Vec::new());

/// Makes `driver` available to [`AnyStore::connect`]. Registering a driver
/// whose name is already registered does nothing.
pub fn register_driver(driver: &'static dyn Driver) {
    let mut drivers = DRIVERS.write().unwrap_or_else(|e| e.into_inner());
    if !drivers.iter().any(|d| d.name() == driver.name()) {
        drivers.push(driver);
    }
}

/// The driver for `url`'s scheme.
///
/// # Errors
/// [`Error::NoDriver`] when none is registered for it.
pub fn driver_for(url: &StoreUrl) -> Result<&'static dyn Driver> {
    let drivers = DRIVERS.read().unwrap_or_else(|e| e.into_inner());
    let scheme = url.scheme();
    let base = scheme.split('+').next().unwrap_or(scheme);
    drivers.iter().copied().find(|d| d.schemes().contains(&base)).ok_or_else(|| Error::NoDriver {
        url: url.redacted(),
        scheme: scheme.to_owned(),
        known: drivers.iter().flat_map(|d| d.schemes().iter().copied()).collect::<Vec<_>>().join(", "),
    })
}

/// A run database of any backend: a cheap, cloneable handle to a
/// `dyn Store`. Every capability's methods can be called on it directly.
///
/// Stores are opened by URL through the registered drivers:
///
/// ```
/// use prefect_store::AnyStore;
///
/// // No driver is registered for this scheme, so the error says which are.
/// let error = AnyStore::connect("nosuch://somewhere").unwrap_err();
/// assert!(error.to_string().starts_with("no store driver for `nosuch`"));
/// ```
#[derive(Clone)]
pub struct AnyStore {
    inner: Arc<dyn Store>,
}

impl AnyStore {
    /// Wraps a store.
    pub fn new(store: impl Store + 'static) -> AnyStore {
        AnyStore { inner: Arc::new(store) }
    }

    /// Wraps a shared store.
    pub fn from_arc(store: Arc<dyn Store>) -> AnyStore {
        AnyStore { inner: store }
    }

    /// Opens the store `url` names, with default options.
    ///
    /// # Errors
    /// [`Error::NoDriver`] when no registered driver knows the scheme, or
    /// the driver's error.
    pub fn connect(url: &str) -> Result<AnyStore> {
        Self::connect_with(&StoreUrl::parse(url)?, &ConnectOptions::default())
    }

    /// Opens the store `url` names.
    ///
    /// # Errors
    /// As [`AnyStore::connect`].
    pub fn connect_with(url: &StoreUrl, options: &ConnectOptions) -> Result<AnyStore> {
        driver_for(url)?.connect(url, options)
    }

    /// The store, shared.
    pub fn as_arc(&self) -> Arc<dyn Store> {
        self.inner.clone()
    }
}

impl Deref for AnyStore {
    type Target = dyn Store;

    fn deref(&self) -> &(dyn Store + 'static) {
        &*self.inner
    }
}

impl fmt::Debug for AnyStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AnyStore").field("location", &self.inner.location()).finish()
    }
}
