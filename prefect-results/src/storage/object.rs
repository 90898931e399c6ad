//! Result storage on any [`object_store::ObjectStore`].

use std::sync::Arc;

use futures::executor::block_on;
use object_store::path::{Path, PathPart};
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};

use super::{ResultStorage, StorageKey};
use crate::error::{Error, Operation, Result};

/// Stores records as objects in an [`ObjectStore`] (S3, GCS, Azure, local
/// files, memory), optionally under a key prefix.
///
/// `object_store` is async; this type is synchronous like every
/// [`ResultStorage`] and drives each call to completion with
/// [`futures::executor::block_on`] on the calling thread. That is fine for the
/// in-memory and local-file stores from any thread. Network stores (S3, GCS,
/// Azure) must run inside a tokio runtime context: call this storage from
/// `tokio::task::spawn_blocking` (which has the context) or after
/// `Handle::enter`, and never from an async task, where blocking would stall
/// the runtime (and deadlock a current-thread runtime).
///
/// Object stores make each `put` atomic, so readers never see a partial record.
///
/// # Examples
///
/// ```
/// use std::sync::Arc;
/// use object_store::memory::InMemory;
/// use prefect_results::{ObjectStoreStorage, ResultStorage, StorageKey};
///
/// let storage = ObjectStoreStorage::new(Arc::new(InMemory::new())).with_prefix("results")?;
/// let key = StorageKey::new("a.json")?;
/// storage.write(&key, b"{}")?;
/// assert_eq!(storage.read(&key)?.as_deref(), Some(&b"{}"[..]));
/// # Ok::<(), prefect_results::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct ObjectStoreStorage {
    store: Arc<dyn ObjectStore>,
    prefix: Path,
}

impl ObjectStoreStorage {
    /// Storage at the top of `store`.
    pub fn new(store: Arc<dyn ObjectStore>) -> Self {
        Self { store, prefix: Path::default() }
    }

    /// Stores every key under `prefix` (a `/`-separated relative path).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidKey`] if `prefix` is not a valid [`StorageKey`].
    pub fn with_prefix(mut self, prefix: &str) -> Result<Self> {
        let prefix = StorageKey::new(prefix)?;
        self.prefix = prefix.segments().map(PathPart::from).collect();
        Ok(self)
    }

    /// The underlying object store.
    pub fn store(&self) -> &Arc<dyn ObjectStore> {
        &self.store
    }

    /// The object path of `key`.
    pub fn path_of(&self, key: &StorageKey) -> Path {
        let prefix = self.prefix.parts();
        prefix.chain(key.segments().map(PathPart::from)).collect()
    }

    fn fail(&self, op: Operation, key: &StorageKey, e: object_store::Error) -> Error {
        Error::Backend { op, location: self.location(key), source: Box::new(e) }
    }
}

impl ResultStorage for ObjectStoreStorage {
    fn write(&self, key: &StorageKey, bytes: &[u8]) -> Result<()> {
        let payload = PutPayload::from(bytes.to_vec());
        block_on(self.store.put(&self.path_of(key), payload))
            .map(drop)
            .map_err(|e| self.fail(Operation::Write, key, e))
    }

    fn read(&self, key: &StorageKey) -> Result<Option<Vec<u8>>> {
        let read = async {
            let got = self.store.get(&self.path_of(key)).await?;
            got.bytes().await
        };
        match block_on(read) {
            Ok(bytes) => Ok(Some(bytes.to_vec())),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(self.fail(Operation::Read, key, e)),
        }
    }

    fn exists(&self, key: &StorageKey) -> Result<bool> {
        match block_on(self.store.head(&self.path_of(key))) {
            Ok(_) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(e) => Err(self.fail(Operation::Exists, key, e)),
        }
    }

    fn delete(&self, key: &StorageKey) -> Result<()> {
        match block_on(self.store.delete(&self.path_of(key))) {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(self.fail(Operation::Delete, key, e)),
        }
    }

    fn location(&self, key: &StorageKey) -> String {
        format!("{}/{}", self.store, self.path_of(key))
    }
}
