//! The store conformance suite's recording checks on PostgreSQL: each check
//! gets a fresh schema in the database of `PREFECT_TEST_POSTGRES_URL`
//! (default `postgresql://postgres@127.0.0.1:5432/test`), dropped after.
//! Without a server the test prints why it skipped; under `CI=true` it
//! fails instead.

use std::sync::atomic::{AtomicU32, Ordering};

use prefect_store::AnyStore;
use prefect_store::conformance;
use prefect_store_postgres::{PostgresOptions, PostgresStore};

mod common;

#[test]
fn passes_the_recording_checks() {
    let Some(url) = common::server() else { return };
    let made = AtomicU32::new(0);
    let prefix = format!("prefect_test_{}_c", std::process::id());
    let schemas = common::Schemas::new(&url, &prefix);
    futures::executor::block_on(conformance::run_recording_checks(|| {
        let schema = format!("{prefix}_{}", made.fetch_add(1, Ordering::Relaxed));
        AnyStore::new(PostgresOptions::new().schema(schema).open(&url).unwrap())
    }));
    drop(schemas);
    assert!(made.load(Ordering::Relaxed) > 20, "every check ran on a store of its own");
}

#[test]
fn a_newer_schema_is_refused_and_an_older_one_migrated() {
    let Some(url) = common::server() else { return };
    let schema = format!("prefect_test_{}_v", std::process::id());
    let _schemas = common::Schemas::new(&url, &schema);
    let store = PostgresOptions::new().schema(&schema).open(&url).unwrap();
    use prefect_store::prelude::*;
    assert_eq!(futures::executor::block_on(store.schema_version()).unwrap(), PostgresStore::SCHEMA_VERSION);
    drop(store);
    // Opening again changes nothing.
    let again = PostgresOptions::new().schema(&schema).open(&url).unwrap();
    drop(again);
    common::sql(&url, &format!("UPDATE {schema}.prefect_meta SET value = 99 WHERE key = 'schema_version'"));
    let error = PostgresOptions::new().schema(&schema).open(&url).unwrap_err();
    assert!(matches!(error, prefect_store::Error::SchemaTooNew { found: 99, .. }), "{error}");
    assert!(error.to_string().contains("schema version 99"), "{error}");
}

#[test]
fn a_bad_url_or_schema_name_is_a_clear_error() {
    let error =
        PostgresStore::connect("postgresql://postgres@127.0.0.1:5432/test?sslmode=sometimes").unwrap_err();
    assert!(error.to_string().contains("PostgreSQL URL"), "{error}");
    let error =
        PostgresOptions::new().schema("Robert'); DROP").open("postgresql://127.0.0.1/test").unwrap_err();
    assert!(error.to_string().contains("schema"), "{error}");
}
