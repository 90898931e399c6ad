//! The store conformance suite's recording checks on PostgreSQL: each check
//! gets a fresh schema in the database of `PREFECT_TEST_POSTGRES_URL`
//! (default `postgresql://postgres@127.0.0.1:5432/test`), dropped after.
//! Without a server the test prints why it skipped; under `CI=true` it
//! fails instead.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

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
fn passes_the_slot_checks() {
    let Some(url) = common::server() else { return };
    let made = AtomicU32::new(0);
    let prefix = format!("prefect_test_{}_s", std::process::id());
    let _schemas = common::Schemas::new(&url, &prefix);
    futures::executor::block_on(conformance::run_slot_checks(|| {
        let schema = format!("{prefix}_{}", made.fetch_add(1, Ordering::Relaxed));
        AnyStore::new(PostgresOptions::new().schema(schema).open(&url).unwrap())
    }));
    assert_eq!(made.load(Ordering::Relaxed), 2);
}

#[test]
fn passes_the_retention_checks() {
    let Some(url) = common::server() else { return };
    let made = AtomicU32::new(0);
    let prefix = format!("prefect_test_{}_p", std::process::id());
    let _schemas = common::Schemas::new(&url, &prefix);
    futures::executor::block_on(conformance::run_retention_checks(|| {
        let schema = format!("{prefix}_{}", made.fetch_add(1, Ordering::Relaxed));
        AnyStore::new(PostgresOptions::new().schema(schema).open(&url).unwrap())
    }));
    assert_eq!(made.load(Ordering::Relaxed), 5);
}

#[test]
fn passes_the_queue_checks() {
    let Some(url) = common::server() else { return };
    let made = AtomicU32::new(0);
    let prefix = format!("prefect_test_{}_q", std::process::id());
    let _schemas = common::Schemas::new(&url, &prefix);
    futures::executor::block_on(conformance::run_queue_checks(|| {
        let schema = format!("{prefix}_{}", made.fetch_add(1, Ordering::Relaxed));
        AnyStore::new(PostgresOptions::new().schema(schema).open(&url).unwrap())
    }));
    assert_eq!(made.load(Ordering::Relaxed), 10);
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
    // A version-1 database (before concurrency limits and the run queue)
    // gains them.
    common::sql(
        &url,
        &format!(
            "DROP TABLE {schema}.concurrency_slots; DROP TABLE {schema}.concurrency_limits;
             DROP TABLE {schema}.deployments; DROP TABLE {schema}.work_queues; DROP TABLE {schema}.workers;
             DROP INDEX {schema}.flow_runs_queued_by_queue; DROP INDEX {schema}.flow_runs_by_deployment;
             DROP INDEX {schema}.flow_runs_crashed; DROP INDEX {schema}.flow_runs_started_by_queue;
             ALTER TABLE {schema}.flow_runs DROP COLUMN auto_scheduled, DROP COLUMN cancel_requested,
                 DROP COLUMN resume_input;
             UPDATE {schema}.prefect_meta SET value = 1 WHERE key = 'schema_version'"
        ),
    );
    let migrated = PostgresOptions::new().schema(&schema).open(&url).unwrap();
    assert_eq!(
        futures::executor::block_on(migrated.schema_version()).unwrap(),
        PostgresStore::SCHEMA_VERSION
    );
    assert!(futures::executor::block_on(migrated.list_deployments()).unwrap().is_empty());
    let limit = futures::executor::block_on(migrated.set_concurrency_limit("db", 1)).unwrap();
    assert_eq!((limit.tag.as_str(), limit.limit), ("db", 1));
    drop(migrated);
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

#[test]
fn one_slot_goes_to_one_of_many_takers_at_once() {
    use prefect_store::prelude::*;
    let Some(url) = common::server() else { return };
    let schema = format!("prefect_test_{}_race", std::process::id());
    let _schemas = common::Schemas::new(&url, &schema);
    let store = std::sync::Arc::new(PostgresOptions::new().schema(&schema).open(&url).unwrap());
    futures::executor::block_on(store.set_concurrency_limit("db", 1)).unwrap();
    let takers: Vec<_> = (0..8)
        .map(|_| {
            let store = store.clone();
            std::thread::spawn(move || {
                let holder = prefect_model::TaskRunId::new();
                futures::executor::block_on(store.try_acquire_slots(&["db".to_owned()], holder)).unwrap()
            })
        })
        .collect();
    let decisions: Vec<_> = takers.into_iter().map(|t| t.join().unwrap()).collect();
    let acquired = decisions.iter().filter(|d| **d == prefect_store::SlotDecision::Acquired).count();
    assert_eq!(acquired, 1, "{decisions:?}");
    let limit = futures::executor::block_on(store.concurrency_limit("db")).unwrap().unwrap();
    assert_eq!(limit.active_slots, 1);
}

#[test]
fn a_write_through_another_connection_wakes_a_waiting_worker() {
    use prefect_store::prelude::*;
    let Some(url) = common::server() else { return };
    let schema = format!("prefect_test_{}_wake", std::process::id());
    let _schemas = common::Schemas::new(&url, &schema);
    let waiter = PostgresOptions::new().schema(&schema).open(&url).unwrap();
    // The other process names the schema in its URL, as a child would.
    let separator = if url.contains('?') { '&' } else { '?' };
    let writer =
        PostgresStore::connect(&format!("{url}{separator}options=-csearch_path%3D{schema}")).unwrap();
    use futures::executor::block_on as block;
    let start = block(waiter.change_counter()).unwrap().unwrap();
    // The first wait may end when the listener starts listening.
    let seen = block(waiter.wait_for_change(start, Duration::from_secs(5))).unwrap().unwrap();
    let spec = prefect_store::DeploymentSpec {
        flow_name: "etl".into(),
        name: "daily".into(),
        description: None,
        version: None,
        tags: Vec::new(),
        work_queue: String::new(),
        labels: Vec::new(),
        parameters: serde_json::json!({}),
        parameter_schema: None,
        schedules: serde_json::json!([]),
        catchup: "all".into(),
        paused: false,
    };
    let writing = std::thread::spawn(move || block(writer.upsert_deployment(&spec)).unwrap());
    // Long enough never to pass on a loaded machine; the notification
    // ends it well before.
    let woken = block(waiter.wait_for_change(seen, Duration::from_secs(120))).unwrap().unwrap();
    assert_ne!(woken, seen, "the other connection's commit was heard");
    writing.join().unwrap();
    assert_eq!(block(waiter.list_deployments()).unwrap().len(), 1);
}

#[test]
fn the_slots_of_a_process_that_stops_renewing_their_lease_are_freed() {
    use futures::executor::block_on as block;
    use prefect_store::SlotDecision;
    use prefect_store::prelude::*;
    let Some(url) = common::server() else { return };
    let schema = format!("prefect_test_{}_slotlease", std::process::id());
    let _schemas = common::Schemas::new(&url, &schema);
    // Long enough that a loaded machine's stalls never let a renewed lease
    // lapse (it is renewed every third of it).
    let ttl = Duration::from_secs(2);
    let open = || PostgresOptions::new().schema(&schema).slot_lease_ttl(ttl).open(&url).unwrap();
    let (holder, taker) = (open(), open());
    block(holder.set_concurrency_limit("gpu", 1)).unwrap();
    let tags = ["gpu".to_owned()];
    let first = prefect_model::TaskRunId::new();
    assert_eq!(block(holder.try_acquire_slots(&tags, first)).unwrap(), SlotDecision::Acquired);
    // Held while its store renews the lease, however long that is.
    let second = prefect_model::TaskRunId::new();
    let renewed_past = std::time::Instant::now() + ttl * 2;
    while std::time::Instant::now() < renewed_past {
        assert_eq!(block(taker.try_acquire_slots(&tags, second)).unwrap(), SlotDecision::Busy);
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(block(taker.list_slot_holders()).unwrap().len(), 1);
    // The holder's process "dies" (this one is alive, so only the lease can
    // tell): its slot is freed once the lease lapses, by the next taker.
    drop(holder);
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        match block(taker.try_acquire_slots(&tags, second)).unwrap() {
            SlotDecision::Acquired => break,
            decision => assert_eq!(decision, SlotDecision::Busy),
        }
        assert!(std::time::Instant::now() < deadline, "the dead holder's slot was never freed");
        std::thread::sleep(Duration::from_millis(20));
    }
    let holders = block(taker.list_slot_holders()).unwrap();
    assert_eq!(holders.iter().map(|h| h.holder).collect::<Vec<_>>(), [second]);
    assert_eq!(block(taker.concurrency_limit("gpu")).unwrap().unwrap().active_slots, 1);
}
