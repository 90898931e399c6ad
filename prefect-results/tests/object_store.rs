//! `ObjectStoreStorage` over object_store's in-memory and local-file backends.

use std::sync::Arc;

use object_store::ObjectStore;
use object_store::local::LocalFileSystem;
use object_store::memory::InMemory;
use prefect_results::{
    Corruption, Error, ObjectStoreStorage, ResultRecord, ResultStorage, Serializer, StorageKey,
};

fn backends(dir: &std::path::Path) -> Vec<Arc<dyn ObjectStore>> {
    vec![Arc::new(InMemory::new()), Arc::new(LocalFileSystem::new_with_prefix(dir).unwrap())]
}

fn key(s: &str) -> StorageKey {
    StorageKey::new(s).unwrap()
}

#[test]
fn bytes_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    for store in backends(dir.path()) {
        let storage = ObjectStoreStorage::new(store);
        let k = key("a/b.bin");
        assert_eq!(storage.read(&k).unwrap(), None);
        assert!(!storage.exists(&k).unwrap());
        storage.write(&k, b"one").unwrap();
        storage.write(&k, b"two").unwrap();
        assert_eq!(storage.read(&k).unwrap().unwrap(), b"two");
        assert!(storage.exists(&k).unwrap());
        storage.delete(&k).unwrap();
        storage.delete(&k).unwrap();
        assert_eq!(storage.read(&k).unwrap(), None);
    }
}

#[test]
fn records_round_trip_under_a_prefix() {
    let dir = tempfile::tempdir().unwrap();
    for store in backends(dir.path()) {
        let storage = ObjectStoreStorage::new(store).with_prefix("results/v1").unwrap();
        let k = key("flow/task.rec");
        let record = ResultRecord::new(k.clone(), Serializer::POSTCARD, vec![1.5f64, 2.5]);
        record.write_to(&storage).unwrap();
        let read = ResultRecord::<Vec<f64>>::read_from(&storage, &k).unwrap().unwrap();
        assert_eq!(read, record);
        assert_eq!(storage.path_of(&k).as_ref(), "results/v1/flow/task.rec");
    }
    assert!(dir.path().join("results/v1/flow/task.rec").is_file());
}

#[test]
fn garbage_objects_are_corrupt() {
    let dir = tempfile::tempdir().unwrap();
    for store in backends(dir.path()) {
        let storage = ObjectStoreStorage::new(store);
        let k = key("junk");
        storage.write(&k, b"hello").unwrap();
        let err = ResultRecord::<String>::read_from(&storage, &k).unwrap_err();
        assert!(
            matches!(&err, Error::Corrupt { problem: Corruption::NotARecord, location } if location.ends_with("junk")),
            "{err:?}"
        );
    }
}

#[test]
fn invalid_prefix_is_rejected() {
    let store: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
    assert!(matches!(ObjectStoreStorage::new(store).with_prefix("../up"), Err(Error::InvalidKey(_))));
}
