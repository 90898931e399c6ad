//! Opening files: foreign, corrupt and newer files are refused untouched;
//! our own files reopen in WAL mode at the current schema.

use std::path::Path;

use prefect_model::StateType;
use prefect_store::conformance::{Events, write};
use prefect_store::prelude::*;
use prefect_store::{Error, FlowRunFilter};
use prefect_store_sqlite::{SqliteOptions, SqliteStore};

fn open_err(path: &Path) -> Error {
    SqliteStore::open(path).expect_err("opening should fail")
}

fn assert_untouched(path: &Path, before: &[u8]) {
    assert_eq!(std::fs::read(path).unwrap(), before, "the file was modified");
    let wal = path.with_extension("db-wal");
    assert!(!wal.exists(), "a WAL file was created next to {}", path.display());
}

#[test]
fn garbage_file_is_refused_and_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("notes.db");
    let garbage: Vec<u8> = (0..10_000u32).map(|i| (i * 7 % 251) as u8).collect();
    std::fs::write(&path, &garbage).unwrap();
    let error = open_err(&path);
    assert!(matches!(error, Error::NotADatabase { .. }), "{error:?}");
    let message = error.to_string();
    assert!(message.contains(&path.display().to_string()), "{message}");
    assert!(message.contains("untouched"), "{message}");
    assert_untouched(&path, &garbage);
}

#[test]
fn text_file_is_refused_and_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.db");
    std::fs::write(&path, b"[profile]\nname = 'x'\n").unwrap();
    assert!(open_err(&path).is_unusable_file());
    assert_untouched(&path, b"[profile]\nname = 'x'\n");
}

#[test]
fn corrupt_database_is_refused_and_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("corrupt.db");
    let mut bytes = b"SQLite format 3\0".to_vec();
    bytes.extend((0..8192u32).map(|i| (i * 13 % 255) as u8));
    std::fs::write(&path, &bytes).unwrap();
    let error = open_err(&path);
    assert!(error.is_unusable_file(), "{error:?}");
    assert!(error.to_string().contains(&path.display().to_string()), "{error}");
    assert_untouched(&path, &bytes);
}

#[test]
fn another_programs_database_is_refused_and_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("other.db");
    let other = rusqlite::Connection::open(&path).unwrap();
    other.execute_batch("CREATE TABLE invoices (id INTEGER PRIMARY KEY, total REAL);").unwrap();
    drop(other);
    let before = std::fs::read(&path).unwrap();
    let error = open_err(&path);
    assert!(matches!(error, Error::NotADatabase { .. }), "{error:?}");
    assert_untouched(&path, &before);
}

#[test]
fn newer_schema_is_refused_and_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("future.db");
    drop(SqliteStore::open(&path).unwrap());
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.pragma_update(None, "user_version", 99).unwrap();
    drop(conn);
    let before = std::fs::read(&path).unwrap();
    let error = open_err(&path);
    match &error {
        Error::SchemaTooNew { found, supported, .. } => {
            assert_eq!(*found, 99);
            assert_eq!(*supported, SqliteStore::SCHEMA_VERSION);
        }
        other => panic!("expected SchemaTooNew, got {other:?}"),
    }
    let message = error.to_string();
    assert!(message.contains("future.db") && message.contains("99"), "{message}");
    assert_eq!(std::fs::read(&path).unwrap(), before);
}

#[test]
fn reopening_keeps_data_in_wal_mode() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("runs.db");
    let store = SqliteStore::open(&path).unwrap();
    let mut events = Events::starting_now();
    let run = events.flow_run("etl", "a");
    events.lifecycle(run, StateType::Completed);
    futures::executor::block_on(write(&store, &mut events));
    drop(store);

    let store = SqliteStore::open(&path).unwrap();
    assert_eq!(store.schema_version().unwrap(), SqliteStore::SCHEMA_VERSION);
    assert_eq!(store.path(), Some(path.as_path()));
    let runs = futures::executor::block_on(store.list_flow_runs(&FlowRunFilter::new())).unwrap();
    assert_eq!(runs[0].id, run);
    let conn = rusqlite::Connection::open(&path).unwrap();
    let mode: String = conn.pragma_query_value(None, "journal_mode", |r| r.get(0)).unwrap();
    assert_eq!(mode, "wal");
}

#[test]
fn empty_file_becomes_a_database() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("empty.db");
    std::fs::write(&path, b"").unwrap();
    let store = SqliteStore::open(&path).unwrap();
    assert!(store.integrity_check().unwrap().is_empty());
}

#[test]
fn missing_directories_are_created() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("home/.prefect/prefect.db");
    SqliteStore::open(&path).unwrap();
    assert!(path.exists());
}

#[test]
fn a_path_under_a_file_is_an_open_error() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("file.txt");
    std::fs::write(&file, b"x").unwrap();
    let error = open_err(&file.join("runs.db"));
    assert!(matches!(error, Error::Open { .. }), "{error:?}");
}

/// A version-1 file (history in the `states` table) migrates to the
/// current schema; its history stays readable, and states recorded after
/// the migration follow it.
#[test]
fn version_1_history_migrates_and_merges() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v1.db");
    let store = SqliteStore::open(&path).unwrap();
    let mut events = Events::starting_now();
    let run = events.flow_run("etl", "a");
    let task = events.task_run(Some(run), "extract");
    events.state(run, StateType::Pending);
    events.state(run, StateType::Running);
    events.lifecycle(task, StateType::Completed);
    futures::executor::block_on(write(&store, &mut events));
    let before = futures::executor::block_on(store.inspect_flow_run(run, 10)).unwrap();
    let task_before = futures::executor::block_on(store.inspect_task_run(task)).unwrap();
    assert_eq!(before.states.len(), 2);
    drop(store);

    // Rewrite the file as version 1 wrote it.
    let conn = rusqlite::Connection::open(&path).unwrap();
    let codes = |t: StateType| match t {
        StateType::Pending => 2,
        StateType::Running => 3,
        StateType::Completed => 6,
        other => panic!("unexpected {other:?}"),
    };
    for (id, states) in [(run.0, &before.states), (task.0, &task_before.states)] {
        for state in states {
            conn.execute(
                "INSERT INTO states (run_id, timestamp, type) VALUES (?1, ?2, ?3)",
                rusqlite::params![
                    id.into_bytes(),
                    state.timestamp.timestamp_micros(),
                    codes(state.state_type)
                ],
            )
            .unwrap();
        }
    }
    undo_version_5(&conn);
    conn.execute_batch(
        "ALTER TABLE flow_runs DROP COLUMN history;
         ALTER TABLE task_runs DROP COLUMN history;
         DROP TABLE concurrency_slots;
         PRAGMA user_version = 1;",
    )
    .unwrap();
    drop(conn);

    let store = SqliteStore::open(&path).unwrap();
    assert_eq!(store.schema_version().unwrap(), SqliteStore::SCHEMA_VERSION);
    let after = futures::executor::block_on(store.inspect_flow_run(run, 10)).unwrap();
    assert_eq!(after.states, before.states);
    let task_after = futures::executor::block_on(store.inspect_task_run(task)).unwrap();
    assert_eq!(task_after.states, task_before.states);

    events.state(run, StateType::Completed);
    futures::executor::block_on(write(&store, &mut events));
    let done = futures::executor::block_on(store.inspect_flow_run(run, 10)).unwrap();
    let types: Vec<StateType> = done.states.iter().map(|s| s.state_type).collect();
    assert_eq!(types, [StateType::Pending, StateType::Running, StateType::Completed]);
    assert!(done.states.windows(2).all(|w| w[0].timestamp < w[1].timestamp));
    assert_eq!(done.run.state.as_ref(), done.states.last());
}

/// A file another program made, at a schema version we also use: it must
/// still be refused, before any write (no WAL, no migration).
#[test]
fn another_programs_database_at_one_of_our_versions_is_refused_and_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("notes.db");
    let other = rusqlite::Connection::open(&path).unwrap();
    other
        .execute_batch("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT); PRAGMA user_version = 2;")
        .unwrap();
    drop(other);
    let before = std::fs::read(&path).unwrap();
    for options in
        [SqliteOptions::new(), SqliteOptions::new().read_only(true), SqliteOptions::new().migrate(false)]
    {
        let error = options.open(&path).expect_err("not ours");
        assert!(matches!(error, Error::NotADatabase { .. }), "{error:?}");
        assert!(error.to_string().contains("notes.db"), "{error}");
    }
    assert_untouched(&path, &before);
    let conn = rusqlite::Connection::open(&path).unwrap();
    let tables: i64 = conn
        .query_row("SELECT count(*) FROM sqlite_master WHERE name = 'concurrency_slots'", [], |r| r.get(0))
        .unwrap();
    assert_eq!(tables, 0, "no table of ours was added");
}

/// Our own file, written before the application id existed, is recognised
/// by its tables; reading it does not change it.
#[test]
fn our_files_are_marked_and_reading_one_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("runs.db");
    drop(SqliteStore::open(&path).unwrap());
    let conn = rusqlite::Connection::open(&path).unwrap();
    let id: i64 = conn.pragma_query_value(None, "application_id", |r| r.get(0)).unwrap();
    assert_eq!(id, 0x5072_4674, "a new database carries our mark");
    // Unmarked, as files of earlier versions are: still ours.
    conn.pragma_update(None, "application_id", 0).unwrap();
    drop(conn);
    let before = std::fs::read(&path).unwrap();
    let reader = SqliteOptions::new().read_only(true).open(&path).unwrap();
    assert_eq!(reader.schema_version().unwrap(), SqliteStore::SCHEMA_VERSION);
    drop(reader);
    assert_eq!(std::fs::read(&path).unwrap(), before, "a read-only open wrote nothing");
    drop(SqliteStore::open(&path).unwrap());
    let conn = rusqlite::Connection::open(&path).unwrap();
    let id: i64 = conn.pragma_query_value(None, "application_id", |r| r.get(0)).unwrap();
    assert_eq!(id, 0x5072_4674, "a writer marks it");
}

/// A version-3 file (flow runs in a rowid table with an index by state)
/// migrates to version 4 with every run kept.
#[test]
fn version_3_flow_runs_are_rebuilt_clustered_by_id() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v3.db");
    let store = SqliteStore::open(&path).unwrap();
    let mut events = Events::starting_now();
    let run = events.flow_run("etl", "a");
    events.state(run, StateType::Pending);
    events.state(run, StateType::Running);
    events.state(run, StateType::Completed);
    futures::executor::block_on(write(&store, &mut events));
    let before = futures::executor::block_on(store.inspect_flow_run(run, 10)).unwrap();
    drop(store);

    // Put flow_runs back in the shape version 3 wrote.
    let conn = rusqlite::Connection::open(&path).unwrap();
    undo_version_5(&conn);
    conn.execute_batch(
        "CREATE TABLE v3 AS SELECT * FROM flow_runs;
         DROP TABLE flow_runs;
         CREATE TABLE flow_runs (id BLOB PRIMARY KEY, flow_id INTEGER NOT NULL REFERENCES flows(id),
            name TEXT NOT NULL, flow_version TEXT, parameters TEXT NOT NULL, tags TEXT,
            parent_flow_run_id BLOB, parent_task_run_id BLOB, created INTEGER NOT NULL,
            start_time INTEGER, end_time INTEGER, run_count INTEGER NOT NULL DEFAULT 0,
            state_type INTEGER, state_name TEXT, state_message TEXT, state_time INTEGER,
            state_scheduled INTEGER, lease_id INTEGER, history BLOB);
         INSERT INTO flow_runs SELECT * FROM v3;
         DROP TABLE v3;
         CREATE INDEX flow_runs_by_created ON flow_runs(created);
         CREATE INDEX flow_runs_by_flow ON flow_runs(flow_id, created);
         CREATE INDEX flow_runs_by_state ON flow_runs(state_type, created);
         CREATE INDEX flow_runs_open ON flow_runs(lease_id) WHERE end_time IS NULL;
         PRAGMA user_version = 3;",
    )
    .unwrap();
    drop(conn);

    let store = SqliteStore::open(&path).unwrap();
    assert_eq!(store.schema_version().unwrap(), SqliteStore::SCHEMA_VERSION);
    let after = futures::executor::block_on(store.inspect_flow_run(run, 10)).unwrap();
    assert_eq!(after.run, before.run);
    assert_eq!(after.states, before.states);
    assert!(store.integrity_check().unwrap().is_empty());
    drop(store);
    let conn = rusqlite::Connection::open(&path).unwrap();
    let table: String =
        conn.query_row("SELECT sql FROM sqlite_master WHERE name = 'flow_runs'", [], |r| r.get(0)).unwrap();
    assert!(table.contains("WITHOUT ROWID"), "{table}");
    let indexes: Vec<String> = conn
        .prepare(
            "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'flow_runs' ORDER BY name",
        )
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(
        indexes,
        [
            "flow_runs_by_created",
            "flow_runs_by_deployment",
            "flow_runs_by_flow",
            "flow_runs_crashed",
            "flow_runs_open",
            "flow_runs_queued",
            "flow_runs_queued_by_queue"
        ]
    );
}

/// Takes a database of this build back to the shape version 4 wrote.
/// Takes a current database back to version 6: `result_references` (never
/// written) instead of `run_results`.
fn undo_version_7(conn: &rusqlite::Connection) {
    conn.execute_batch(
        "DROP TABLE run_results;
         CREATE TABLE result_references (
             key     TEXT PRIMARY KEY,
             run_id  BLOB NOT NULL,
             created INTEGER NOT NULL
         );
         CREATE INDEX result_references_by_run ON result_references(run_id);
         PRAGMA user_version = 6;",
    )
    .unwrap();
}

#[test]
fn version_6_gains_run_results_and_keeps_its_runs() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v6.db");
    let store = SqliteStore::open(&path).unwrap();
    let mut events = Events::starting_now();
    let run = events.flow_run("etl", "a");
    let task = events.task_run(Some(run), "fetch");
    events.state(run, StateType::Completed);
    futures::executor::block_on(write(&store, &mut events));
    drop(store);
    undo_version_7(&rusqlite::Connection::open(&path).unwrap());

    let store = SqliteStore::open(&path).unwrap();
    assert_eq!(store.schema_version().unwrap(), SqliteStore::SCHEMA_VERSION);
    let after = futures::executor::block_on(store.inspect_flow_run(run, 10)).unwrap();
    assert_eq!((after.task_run_count, after.results.len()), (1, 0));
    // The new table takes results at once.
    let kept = events.result(task, Some(run), "/results/a", Some("ab"), false);
    futures::executor::block_on(write(&store, &mut events));
    assert_eq!(futures::executor::block_on(store.inspect_task_run(task)).unwrap().result, Some(kept));
    assert!(store.integrity_check().unwrap().is_empty());
}

/// Takes a current database back to version 4 (undoing 7, 6 and 5).
fn undo_version_5(conn: &rusqlite::Connection) {
    undo_version_7(conn);
    conn.execute_batch(
        "DROP TABLE event_batches;
         DROP TABLE deployments;
         DROP TABLE work_queues;
         DROP TABLE workers;
         DROP INDEX flow_runs_queued;
         DROP INDEX flow_runs_queued_by_queue;
         DROP INDEX flow_runs_crashed;
         DROP INDEX flow_runs_by_deployment;
         ALTER TABLE flow_runs DROP COLUMN deployment_id;
         ALTER TABLE flow_runs DROP COLUMN work_queue;
         ALTER TABLE flow_runs DROP COLUMN auto_scheduled;
         ALTER TABLE flow_runs DROP COLUMN expected_start;
         ALTER TABLE flow_runs DROP COLUMN cancel_requested;
         ALTER TABLE flow_runs DROP COLUMN resume_input;
         PRAGMA user_version = 4;",
    )
    .unwrap();
}

#[test]
fn version_4_gains_the_run_queue_and_keeps_its_runs() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v4.db");
    let store = SqliteStore::open(&path).unwrap();
    let mut events = Events::starting_now();
    let run = events.flow_run("etl", "a");
    events.state(run, StateType::Completed);
    futures::executor::block_on(write(&store, &mut events));
    let before = futures::executor::block_on(store.inspect_flow_run(run, 10)).unwrap();
    drop(store);
    undo_version_5(&rusqlite::Connection::open(&path).unwrap());

    let store = SqliteStore::open(&path).unwrap();
    assert_eq!(store.schema_version().unwrap(), SqliteStore::SCHEMA_VERSION);
    let after = futures::executor::block_on(store.inspect_flow_run(run, 10)).unwrap();
    assert_eq!(after.run, before.run);
    use prefect_store::prelude::*;
    assert!(futures::executor::block_on(store.list_deployments()).unwrap().is_empty());
    assert!(store.integrity_check().unwrap().is_empty());
}
