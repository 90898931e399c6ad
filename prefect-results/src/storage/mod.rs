//! Where result records live: the [`ResultStorage`] trait and its backends.
//!
//! Storage is byte-level and synchronous: a backend stores opaque bytes under a
//! [`StorageKey`]. [`ResultRecord`](crate::ResultRecord) adds the record format
//! on top. Backends:
//!
//! - [`LocalStorage`]: files under a root directory, written atomically
//!   (temp file in the same directory, fsync, rename). The default root is
//!   [`default_storage_root`] (`$PREFECT_HOME/storage`).
//! - [`MemoryStorage`]: a map in memory, for tests and short-lived processes.
#![cfg_attr(
    feature = "object-store",
    doc = "- [`ObjectStoreStorage`]: any `object_store::ObjectStore` (S3, GCS, Azure, ...)."
)]

mod key;
mod local;
mod memory;
#[cfg(feature = "object-store")]
mod object;
mod root;

use std::sync::Arc;

pub use key::{KeyError, KeyProblem, MAX_KEY_LEN, MAX_SEGMENT_LEN, StorageKey};
pub use local::LocalStorage;
pub use memory::MemoryStorage;
#[cfg(feature = "object-store")]
pub use object::ObjectStoreStorage;
pub use root::default_storage_root;

use crate::error::Result;

/// A place to store result bytes under [`StorageKey`]s.
///
/// Implementations must make [`write`](ResultStorage::write) atomic: a reader
/// sees either the previous bytes, or the new bytes in full, never a prefix.
/// The trait is object safe; the engine holds an `Arc<dyn ResultStorage>`.
///
/// # Examples
///
/// ```
/// use prefect_results::{MemoryStorage, ResultStorage, StorageKey};
///
/// let storage = MemoryStorage::new();
/// let key = StorageKey::new("a/b")?;
/// storage.write(&key, b"bytes")?;
/// assert_eq!(storage.read(&key)?.as_deref(), Some(&b"bytes"[..]));
/// assert!(storage.exists(&key)?);
/// storage.delete(&key)?;
/// assert_eq!(storage.read(&key)?, None);
/// # Ok::<(), prefect_results::Error>(())
/// ```
pub trait ResultStorage: Send + Sync + std::fmt::Debug {
    /// Stores `bytes` under `key`, replacing what was there, atomically.
    ///
    /// # Errors
    ///
    /// [`Error::StorageFull`](crate::Error::StorageFull),
    /// [`Error::PermissionDenied`](crate::Error::PermissionDenied) or another
    /// I/O or backend error.
    fn write(&self, key: &StorageKey, bytes: &[u8]) -> Result<()>;

    /// The bytes stored under `key`, or `None` if there are none.
    ///
    /// # Errors
    ///
    /// An I/O or backend error other than "not found".
    fn read(&self, key: &StorageKey) -> Result<Option<Vec<u8>>>;

    /// Whether something is stored under `key`.
    ///
    /// # Errors
    ///
    /// An I/O or backend error.
    fn exists(&self, key: &StorageKey) -> Result<bool>;

    /// Removes what is stored under `key`; removing a missing key is not an error.
    ///
    /// # Errors
    ///
    /// An I/O or backend error other than "not found".
    fn delete(&self, key: &StorageKey) -> Result<()>;

    /// A human-readable location of `key` (a file path, an object URL),
    /// used in error messages.
    fn location(&self, key: &StorageKey) -> String {
        key.to_string()
    }

    /// The directory under which [`CacheLock`](crate::CacheLock)s for this
    /// storage live, if the backend supports cross-process locks (local
    /// files do; memory and object stores do not).
    fn lock_root(&self) -> Option<&std::path::Path> {
        None
    }
}

macro_rules! forward_storage {
    ($($ty:ty),*) => {$(
        impl<S: ResultStorage + ?Sized> ResultStorage for $ty {
            fn write(&self, key: &StorageKey, bytes: &[u8]) -> Result<()> {
                (**self).write(key, bytes)
            }
            fn read(&self, key: &StorageKey) -> Result<Option<Vec<u8>>> {
                (**self).read(key)
            }
            fn exists(&self, key: &StorageKey) -> Result<bool> {
                (**self).exists(key)
            }
            fn delete(&self, key: &StorageKey) -> Result<()> {
                (**self).delete(key)
            }
            fn location(&self, key: &StorageKey) -> String {
                (**self).location(key)
            }
            fn lock_root(&self) -> Option<&std::path::Path> {
                (**self).lock_root()
            }
        }
    )*};
}

forward_storage!(&S, Box<S>, Arc<S>);
