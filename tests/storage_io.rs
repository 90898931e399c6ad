//! Result storage is blocking I/O (files, `object_store` driven to
//! completion): the engine keeps it off the runtime's threads, so a cached
//! task on a current-thread runtime completes, and every storage call runs
//! on another thread than the one driving the runtime.

use std::sync::{Arc, Mutex};
use std::thread::ThreadId;

use object_store::memory::InMemory;
use prefect::prelude::*;
use prefect_results::{ObjectStoreStorage, ResultStorage, StorageKey};

/// An object store in memory that notes which thread each call ran on.
#[derive(Debug)]
struct Watched {
    inner: ObjectStoreStorage,
    threads: Mutex<Vec<ThreadId>>,
}

impl Watched {
    fn note(&self) {
        self.threads.lock().unwrap().push(std::thread::current().id());
    }
}

impl ResultStorage for Watched {
    fn write(&self, key: &StorageKey, bytes: &[u8]) -> prefect_results::Result<()> {
        self.note();
        self.inner.write(key, bytes)
    }
    fn read(&self, key: &StorageKey) -> prefect_results::Result<Option<Vec<u8>>> {
        self.note();
        self.inner.read(key)
    }
    fn exists(&self, key: &StorageKey) -> prefect_results::Result<bool> {
        self.note();
        self.inner.exists(key)
    }
    fn delete(&self, key: &StorageKey) -> prefect_results::Result<()> {
        self.note();
        self.inner.delete(key)
    }
}

fn storage() -> Arc<Watched> {
    static SHARED: std::sync::OnceLock<Arc<Watched>> = std::sync::OnceLock::new();
    SHARED
        .get_or_init(|| {
            let inner = ObjectStoreStorage::new(Arc::new(InMemory::new()));
            Arc::new(Watched { inner, threads: Mutex::new(Vec::new()) })
        })
        .clone()
}

#[task(cache_key = input_hash, result_storage = storage)]
async fn word_count(text: String) -> usize {
    text.split_whitespace().count()
}

#[tokio::test(flavor = "current_thread")]
async fn a_cached_task_on_an_object_store_completes_on_a_current_thread_runtime() {
    let harness = prefect::testing::harness();
    let runtime_thread = std::thread::current().id();
    assert_eq!(harness.run(word_count("a b c".to_string())).await.unwrap(), 3);
    let again = harness.run(word_count("a b c".to_string()).return_state()).await;
    assert_eq!((again.name(), again.value()), ("Cached", Some(&3)));
    let threads = storage().threads.lock().unwrap().clone();
    assert!(threads.len() >= 2, "the record was written and read: {threads:?}");
    assert!(threads.iter().all(|t| *t != runtime_thread), "storage I/O ran on the runtime's thread");
}
