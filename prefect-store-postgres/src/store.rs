//! [`PostgresStore`]: opening a PostgreSQL run database, migrating it.

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use prefect_store::{Error, Result, StoreUrl};

use crate::changes::Changes;
use crate::pool::{Db, DbError, DbResult};
use crate::schema::{META, MIGRATION_LOCK, MIGRATIONS, SCHEMA_VERSION};
use crate::slots::SlotLease;

/// A run database in PostgreSQL, shared by every process and machine that
/// opens it.
///
/// It implements recording ([`prefect_store::EventWriter`], leases
/// included), the run queries ([`prefect_store::RunQuery`]), tag
/// concurrency limits and slots ([`prefect_store::ConcurrencySlots`]) and
/// crash detection, and retention ([`prefect_store::Upkeep`]), and the run
/// queue of deployments, work queues and workers
/// ([`prefect_store::RunQueue`]: claims with `FOR UPDATE SKIP LOCKED`,
/// wake-ups by `LISTEN/NOTIFY`).
#[derive(Debug)]
pub struct PostgresStore {
    pub(crate) db: Db,
    /// This process, as the holder of the slots it takes.
    pub(crate) owner: prefect_store::LeaseOwner,
    /// The change counter and its listener.
    pub(crate) changes: Changes,
    /// The lease the slots it takes are held under.
    pub(crate) slot_lease: Arc<SlotLease>,
}

/// How long the slots of a process that stopped renewing their lease are
/// kept, by default.
const SLOT_LEASE_TTL: Duration = Duration::from_secs(30);

/// How to open a [`PostgresStore`].
#[derive(Debug, Clone, Default)]
pub struct PostgresOptions {
    schema: Option<String>,
    slot_lease_ttl: Option<Duration>,
}

impl PostgresOptions {
    /// Defaults: the tables live in the connection's default schema.
    pub fn new() -> PostgresOptions {
        PostgresOptions::default()
    }

    /// Keeps the tables in schema `name` (created if missing), so several
    /// run databases can share one PostgreSQL database (tests do). The
    /// name is lower-case letters, digits and `_`.
    pub fn schema(mut self, name: impl Into<String>) -> PostgresOptions {
        self.schema = Some(name.into());
        self
    }

    /// How long the tag concurrency slots this store takes outlive its
    /// process (default 30 s, at least 100 ms). The store renews their lease
    /// every third of it while it lives; when the process dies on another
    /// machine, or loses the database for longer, the next taker frees its
    /// slots. (A process seen dead on the taker's own machine loses them at
    /// once.)
    pub fn slot_lease_ttl(mut self, ttl: Duration) -> PostgresOptions {
        self.slot_lease_ttl = Some(ttl.max(Duration::from_millis(100)));
        self
    }

    /// Connects to the database at `url` (`postgresql://user@host:5432/db`)
    /// and brings its schema up to date.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for a URL or schema name that cannot be
    /// used, [`Error::Database`] when the server cannot be reached or
    /// refuses, [`Error::SchemaTooNew`] for a database a newer build wrote.
    pub fn open(&self, url: &str) -> Result<PostgresStore> {
        let parsed = StoreUrl::parse(url)?;
        let mut config = tokio_postgres::Config::from_str(url).map_err(|e| Error::InvalidArgument {
            what: "PostgreSQL URL",
            reason: format!("`{}`: {e}", parsed.redacted()),
        })?;
        let mut location = parsed.redacted();
        if let Some(schema) = &self.schema {
            if schema.is_empty()
                || !schema.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
            {
                return Err(Error::InvalidArgument {
                    what: "PostgreSQL schema",
                    reason: format!("`{schema}` is not lower-case letters, digits and `_`"),
                });
            }
            config.options(format!("-c search_path={schema}"));
            location = format!("{location} (schema {schema})");
        }
        config.connect_timeout(std::time::Duration::from_secs(5));
        let db = Db::new(config, location)?;
        let schema = self.schema.clone();
        let named = db.location().to_owned();
        let current = db.run_blocking(move |mut client| async move {
            migrate(&mut client, schema.as_deref(), named).await?;
            // The schema the tables are in, however it was chosen (this
            // option, or `options=-csearch_path=...` in the URL): the
            // change channel is named after it, so every process using
            // these tables notifies and listens on the same one.
            Ok(client.query_one("SELECT current_schema()", &[]).await?.get::<_, String>(0))
        })?;
        Ok(PostgresStore {
            db,
            owner: prefect_store::LeaseOwner::current(),
            changes: Changes::new(&current),
            slot_lease: Arc::new(SlotLease::new(self.slot_lease_ttl.unwrap_or(SLOT_LEASE_TTL))),
        })
    }
}

impl PostgresStore {
    /// The schema version this build writes.
    pub const SCHEMA_VERSION: i64 = SCHEMA_VERSION;

    /// Connects to `url` with default options; see [`PostgresOptions::open`].
    ///
    /// # Errors
    /// As [`PostgresOptions::open`].
    pub fn connect(url: &str) -> Result<PostgresStore> {
        PostgresOptions::new().open(url)
    }
}

/// Applies the missing migrations in one transaction, under an advisory
/// lock so concurrent openers take turns.
async fn migrate(
    client: &mut deadpool_postgres::Object,
    schema: Option<&str>,
    location: String,
) -> DbResult<i64> {
    if let Some(schema) = schema {
        // This connection was made before the schema existed: name it again.
        client
            .batch_execute(&format!("CREATE SCHEMA IF NOT EXISTS {schema}; SET search_path TO {schema}"))
            .await?;
    }
    let tx = client.transaction().await?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK]).await?;
    tx.batch_execute(META).await?;
    let found: i64 = tx
        .query_opt("SELECT value FROM prefect_meta WHERE key = 'schema_version'", &[])
        .await?
        .map_or(0, |row| row.get(0));
    if found > SCHEMA_VERSION {
        return Err(DbError::Store(Error::SchemaTooNew {
            path: location.into(),
            found,
            supported: SCHEMA_VERSION,
        }));
    }
    for sql in MIGRATIONS.iter().skip(usize::try_from(found).unwrap_or(0)) {
        tx.batch_execute(sql).await?;
    }
    tx.execute(
        "INSERT INTO prefect_meta (key, value) VALUES ('schema_version', $1)
         ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
        &[&SCHEMA_VERSION],
    )
    .await?;
    tx.commit().await?;
    Ok(SCHEMA_VERSION)
}
