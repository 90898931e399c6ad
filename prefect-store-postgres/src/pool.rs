//! [`Db`]: a pool of connections on a runtime of the store's own, so that
//! callers on any thread or executor can await its futures.

use std::future::Future;

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use prefect_store::{Error, StoreFuture};
use tokio_postgres::NoTls;

/// Connections at most: the recorder's writer, the server's readers and a
/// worker's claims share them.
const MAX_CONNECTIONS: usize = 8;

/// The first wait before trying again after the connection was lost.
const FIRST_BACKOFF: std::time::Duration = std::time::Duration::from_millis(50);
/// The longest wait between tries.
const MAX_BACKOFF: std::time::Duration = std::time::Duration::from_secs(2);
/// How long work that is safe to repeat keeps trying to reach the server:
/// long enough for PostgreSQL to restart.
const RECONNECT_FOR: std::time::Duration = std::time::Duration::from_secs(60);

/// The pool and the runtime its connections run on.
pub(crate) struct Db {
    pool: Pool,
    /// Dropped in the background (see `Drop`): a store may be dropped inside
    /// an async context, where a runtime cannot shut down blocking.
    runtime: Option<tokio::runtime::Runtime>,
    /// The database, for messages (the URL without its password).
    location: String,
    /// How to connect, for connections outside the pool (the listener's).
    config: tokio_postgres::Config,
}

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Db").field("location", &self.location).finish_non_exhaustive()
    }
}

impl Db {
    /// A pool for `config`; no connection is made yet.
    pub(crate) fn new(config: tokio_postgres::Config, location: String) -> Result<Db, Error> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("prefect-store-postgres")
            .enable_all()
            .build()
            .map_err(Error::Thread)?;
        let manager = Manager::from_config(
            config.clone(),
            NoTls,
            ManagerConfig { recycling_method: RecyclingMethod::Fast },
        );
        let pool = Pool::builder(manager)
            .max_size(MAX_CONNECTIONS)
            .runtime(deadpool_postgres::Runtime::Tokio1)
            .build()
            .map_err(|e| Error::InvalidArgument { what: "PostgreSQL URL", reason: e.to_string() })?;
        Ok(Db { pool, runtime: Some(runtime), location, config })
    }

    /// The database, for messages.
    pub(crate) fn location(&self) -> &str {
        &self.location
    }

    /// The pool, for tasks of the store's own (a lease's renewal).
    pub(crate) fn pool(&self) -> &Pool {
        &self.pool
    }

    /// How to connect.
    pub(crate) fn config(&self) -> &tokio_postgres::Config {
        &self.config
    }

    /// The store's runtime.
    pub(crate) fn handle(&self) -> &tokio::runtime::Handle {
        self.runtime.as_ref().expect("the runtime lives as long as the store").handle()
    }

    /// Runs `work` with a pooled connection on the store's runtime; its
    /// errors name the database.
    pub(crate) fn run<T, F, Fut>(&self, work: F) -> StoreFuture<'static, T>
    where
        T: Send + 'static,
        F: FnOnce(deadpool_postgres::Object) -> Fut + Send + 'static,
        Fut: Future<Output = Result<T, DbError>> + Send + 'static,
    {
        let pool = self.pool.clone();
        self.spawn(self.location.clone(), async move {
            let client = pool.get().await.map_err(|e| DbError::Pool(e.to_string()))?;
            work(client).await
        })
    }

    /// Runs `work` like [`Db::run`], again with a fresh connection while
    /// the server cannot be reached (a restart, a network cut), waiting
    /// [`FIRST_BACKOFF`] and doubling up to [`MAX_BACKOFF`], for up to
    /// [`RECONNECT_FOR`]. Only for work that is safe to do twice: its first
    /// try may have committed with its answer lost.
    pub(crate) fn run_retrying<T, F, Fut>(&self, work: F) -> StoreFuture<'static, T>
    where
        T: Send + 'static,
        F: Fn(deadpool_postgres::Object) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<T, DbError>> + Send + 'static,
    {
        let pool = self.pool.clone();
        let location = self.location.clone();
        self.spawn(location.clone(), async move {
            let deadline = tokio::time::Instant::now() + RECONNECT_FOR;
            let mut backoff = FIRST_BACKOFF;
            loop {
                let tried = match pool.get().await {
                    Ok(client) => work(client).await,
                    Err(e) => Err(DbError::Pool(e.to_string())),
                };
                match tried {
                    Err(e) if e.is_connection_lost() && tokio::time::Instant::now() + backoff < deadline => {
                        tracing::warn!(
                            "{location}: the connection was lost ({e:?}); trying again in {backoff:?}"
                        );
                        tokio::time::sleep(backoff).await;
                        backoff = (backoff * 2).min(MAX_BACKOFF);
                    }
                    other => return other,
                }
            }
        })
    }

    /// Runs `future` on the store's runtime; its errors name the database.
    fn spawn<T, Fut>(&self, location: String, future: Fut) -> StoreFuture<'static, T>
    where
        T: Send + 'static,
        Fut: Future<Output = Result<T, DbError>> + Send + 'static,
    {
        let task = self.handle().spawn(future);
        Box::pin(async move {
            match task.await {
                Ok(result) => result.map_err(|e| e.into_store_error(&location)),
                Err(e) => Err(Error::Database {
                    location,
                    source: format!("the query was dropped: {e}").into(),
                    busy: false,
                }),
            }
        })
    }

    /// Waits on the calling thread for `work`, run on the store's runtime
    /// (for opening the store, which is synchronous). Any thread may call
    /// it, an executor's included: the caller only parks on a channel.
    pub(crate) fn run_blocking<T, F, Fut>(&self, work: F) -> Result<T, Error>
    where
        T: Send + 'static,
        F: FnOnce(deadpool_postgres::Object) -> Fut + Send + 'static,
        Fut: Future<Output = Result<T, DbError>> + Send + 'static,
    {
        let (send, receive) = std::sync::mpsc::sync_channel(1);
        let future = self.run(work);
        let handle = self.runtime.as_ref().expect("the runtime lives as long as the store").handle();
        handle.spawn(async move {
            let _ = send.send(future.await);
        });
        receive.recv().unwrap_or_else(|_| {
            Err(Error::Database {
                location: self.location.clone(),
                source: "the store's runtime stopped".into(),
                busy: false,
            })
        })
    }
}

impl Drop for Db {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

/// What went wrong inside a query, before it names the database.
#[derive(Debug)]
pub(crate) enum DbError {
    /// No connection could be had.
    Pool(String),
    /// The server answered with an error.
    Query(tokio_postgres::Error),
    /// A store error decided by the query's code (not found, ambiguous...).
    Store(Error),
}

impl From<tokio_postgres::Error> for DbError {
    fn from(e: tokio_postgres::Error) -> Self {
        DbError::Query(e)
    }
}

impl From<Error> for DbError {
    fn from(e: Error) -> Self {
        DbError::Store(e)
    }
}

impl DbError {
    /// Whether the server could not be reached or the connection broke
    /// (rather than the server refusing the work): trying again on a new
    /// connection may succeed.
    pub(crate) fn is_connection_lost(&self) -> bool {
        use tokio_postgres::error::SqlState;
        match self {
            DbError::Pool(_) => true,
            DbError::Query(e) => match e.code() {
                // No answer from the server at all: the socket closed or failed.
                None => e.as_db_error().is_none(),
                Some(code) => {
                    code.code().starts_with("08")
                        || *code == SqlState::ADMIN_SHUTDOWN
                        || *code == SqlState::CRASH_SHUTDOWN
                        || *code == SqlState::CANNOT_CONNECT_NOW
                }
            },
            DbError::Store(_) => false,
        }
    }

    fn into_store_error(self, location: &str) -> Error {
        match self {
            DbError::Pool(reason) => Error::Database {
                location: location.to_owned(),
                source: format!("no connection: {reason}").into(),
                busy: true,
            },
            DbError::Query(e) => {
                // Serialization failures and deadlocks are worth retrying.
                let busy = e.code().is_some_and(|c| {
                    *c == tokio_postgres::error::SqlState::T_R_SERIALIZATION_FAILURE
                        || *c == tokio_postgres::error::SqlState::T_R_DEADLOCK_DETECTED
                });
                // The server's own message: the client's Display says only "db error".
                let source: prefect_store::BoxError = match e.as_db_error() {
                    Some(db) => format!("{} ({})", db.message(), db.code().code()).into(),
                    None => Box::new(e),
                };
                Error::Database { location: location.to_owned(), source, busy }
            }
            DbError::Store(e) => e,
        }
    }
}

/// `Result` inside a query.
pub(crate) type DbResult<T> = Result<T, DbError>;
