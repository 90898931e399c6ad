//! Holding a cache key while its value is computed: an in-process async
//! mutex per record location (the second caller waits instead of running
//! the body again), then a file lock shared with other processes on the
//! host when the storage supports it.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex, Weak};
use std::time::Duration;

use prefect_results::{CacheLock, ResultStorage, StorageKey};
use tokio::sync::OwnedMutexGuard;

use super::io::{detach_off_runtime, off_runtime};

type KeyMutex = tokio::sync::Mutex<()>;

/// Locations being computed in this process. Entries are removed by the
/// last holder, so the map only holds keys in use.
static IN_PROCESS: LazyLock<Mutex<HashMap<String, Weak<KeyMutex>>>> = LazyLock::new(Default::default);

/// Polling bounds for the file lock: short first, so a waiter notices a
/// quick holder soon, and capped so it does not spin.
const FIRST_POLL: Duration = Duration::from_millis(2);
const MAX_POLL: Duration = Duration::from_millis(100);

/// Both locks on one key; released on drop, file lock first.
#[derive(Debug)]
pub(crate) struct KeyGuard {
    file: Option<CacheLock>,
    held: Option<OwnedMutexGuard<()>>,
    location: String,
}

/// Waits until this run holds `key` in `storage`.
pub(crate) async fn hold(storage: &Arc<dyn ResultStorage>, key: &StorageKey) -> KeyGuard {
    let location = storage.location(key);
    let mutex = {
        let mut map = IN_PROCESS.lock().unwrap_or_else(|e| e.into_inner());
        match map.get(&location).and_then(Weak::upgrade) {
            Some(mutex) => mutex,
            None => {
                let mutex = Arc::new(KeyMutex::new(()));
                map.insert(location.clone(), Arc::downgrade(&mutex));
                mutex
            }
        }
    };
    let held = mutex.lock_owned().await;
    let file = match storage.lock_root() {
        Some(root) => file_lock(root.to_owned(), key.clone()).await,
        None => None,
    };
    KeyGuard { file, held: Some(held), location }
}

/// Polls the file lock, each try on the blocking pool. A lock that
/// cannot be taken at all (read-only directory...) is logged and the run
/// goes on unlocked: isolation is an optimisation, never a reason to fail.
async fn file_lock(root: std::path::PathBuf, key: StorageKey) -> Option<CacheLock> {
    let mut wait = FIRST_POLL;
    loop {
        let (dir, name) = (root.clone(), key.clone());
        let tried = off_runtime(move || CacheLock::try_acquire(&dir, &name)).await?;
        match tried {
            Ok(Some(lock)) => return Some(lock),
            Ok(None) => {
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(MAX_POLL);
            }
            Err(error) => {
                tracing::warn!("cannot lock the cache key {key}: {error}; computing without the lock");
                return None;
            }
        }
    }
}

impl Drop for KeyGuard {
    fn drop(&mut self) {
        // Unlocking is file I/O: not on a runtime thread.
        if let Some(file) = self.file.take() {
            detach_off_runtime(move || drop(file));
        }
        drop(self.held.take());
        let mut map = IN_PROCESS.lock().unwrap_or_else(|e| e.into_inner());
        if map.get(&self.location).is_some_and(|w| w.strong_count() == 0) {
            map.remove(&self.location);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use prefect_results::MemoryStorage;

    #[tokio::test]
    async fn second_holder_waits_and_the_map_empties() {
        let storage: Arc<dyn ResultStorage> = Arc::new(MemoryStorage::new());
        let key = StorageKey::new("k").unwrap();
        let first = hold(&storage, &key).await;
        let second = tokio::time::timeout(Duration::from_millis(50), hold(&storage, &key)).await;
        assert!(second.is_err(), "the key is held");
        drop(first);
        let again = hold(&storage, &key).await;
        drop(again);
        let map = IN_PROCESS.lock().unwrap();
        assert!(!map.contains_key(&storage.location(&key)));
    }
}
