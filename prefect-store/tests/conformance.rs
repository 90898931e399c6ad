//! The conformance suite against SQLite, in memory and in a file.

use prefect_store::{SqliteStore, conformance};

#[test]
fn sqlite_in_memory_conforms() {
    futures::executor::block_on(conformance::run_all(|| SqliteStore::open_in_memory().unwrap()));
}

#[test]
fn sqlite_file_conforms() {
    let dir = tempfile::tempdir().unwrap();
    let mut n = 0;
    futures::executor::block_on(conformance::run_all(|| {
        n += 1;
        SqliteStore::open(dir.path().join(format!("store-{n}.db"))).unwrap()
    }));
}
