//! The conformance suite against SQLite, in memory and in a file, through
//! the capability traits of `AnyStore`.

use prefect_store::{AnyStore, conformance};
use prefect_store_sqlite::SqliteStore;

#[test]
fn sqlite_in_memory_conforms() {
    futures::executor::block_on(conformance::run_all(|| {
        AnyStore::new(SqliteStore::open_in_memory().unwrap())
    }));
}

#[test]
fn sqlite_file_conforms_when_opened_by_url() {
    prefect_store_sqlite::register();
    let dir = tempfile::tempdir().unwrap();
    let mut n = 0;
    futures::executor::block_on(conformance::run_all(|| {
        n += 1;
        let path = dir.path().join(format!("store-{n}.db"));
        AnyStore::connect(&format!("sqlite://{}", path.display())).unwrap()
    }));
}
