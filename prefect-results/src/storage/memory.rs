//! Result storage in process memory.

use std::collections::HashMap;
use std::sync::{PoisonError, RwLock};

use super::{ResultStorage, StorageKey};
use crate::error::Result;

/// Keeps records in a map in memory; for tests and short-lived programs.
///
/// Cloning the storage is not supported; share it behind an `Arc`.
#[derive(Debug, Default)]
pub struct MemoryStorage {
    records: RwLock<HashMap<StorageKey, Vec<u8>>>,
}

impl MemoryStorage {
    /// An empty storage.
    pub fn new() -> Self {
        Self::default()
    }

    /// How many records are stored.
    pub fn len(&self) -> usize {
        self.records.read().unwrap_or_else(PoisonError::into_inner).len()
    }

    /// True if nothing is stored.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// All stored keys, sorted.
    pub fn keys(&self) -> Vec<StorageKey> {
        let map = self.records.read().unwrap_or_else(PoisonError::into_inner);
        let mut keys: Vec<_> = map.keys().cloned().collect();
        keys.sort();
        keys
    }
}

impl ResultStorage for MemoryStorage {
    fn write(&self, key: &StorageKey, bytes: &[u8]) -> Result<()> {
        let mut map = self.records.write().unwrap_or_else(PoisonError::into_inner);
        map.insert(key.clone(), bytes.to_vec());
        Ok(())
    }

    fn read(&self, key: &StorageKey) -> Result<Option<Vec<u8>>> {
        let map = self.records.read().unwrap_or_else(PoisonError::into_inner);
        Ok(map.get(key).cloned())
    }

    fn exists(&self, key: &StorageKey) -> Result<bool> {
        let map = self.records.read().unwrap_or_else(PoisonError::into_inner);
        Ok(map.contains_key(key))
    }

    fn delete(&self, key: &StorageKey) -> Result<()> {
        let mut map = self.records.write().unwrap_or_else(PoisonError::into_inner);
        map.remove(key);
        Ok(())
    }

    fn location(&self, key: &StorageKey) -> String {
        format!("memory://{key}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let storage = MemoryStorage::new();
        let key = StorageKey::new("k").unwrap();
        assert!(storage.is_empty());
        storage.write(&key, b"v").unwrap();
        assert_eq!(storage.read(&key).unwrap().unwrap(), b"v");
        assert_eq!(storage.keys(), vec![key.clone()]);
        storage.delete(&key).unwrap();
        assert!(!storage.exists(&key).unwrap());
        assert_eq!(storage.location(&key), "memory://k");
    }
}
