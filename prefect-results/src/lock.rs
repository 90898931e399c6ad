//! Cross-process locks per cache key.

use std::fs::{self, File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};

use fs4::{FileExt, TryLockError};

use crate::error::{Error, Operation, Result};
use crate::storage::StorageKey;

/// The directory under a storage root that holds lock files.
pub const LOCK_DIR: &str = ".locks";

/// An exclusive, cross-process lock on one key, released on drop.
///
/// Two processes (or threads) that want to compute the same cache key take
/// this lock first; the second waits ([`acquire`](Self::acquire)) or backs off
/// ([`try_acquire`](Self::try_acquire)), then finds the first one's record. The
/// lock is an OS file lock (`flock` on Unix, `LockFileEx` on Windows) on
/// `<root>/.locks/<hash of key>.lock`, so it is released even if the holder
/// crashes. Lock files are small and left in place: deleting them would race
/// with waiters. In-process deduplication is the engine's job; this lock is for
/// processes on one host sharing a storage root.
///
/// # Examples
///
/// ```
/// use prefect_results::{CacheLock, StorageKey};
///
/// let root = tempfile::tempdir()?;
/// let key = StorageKey::new("abc")?;
/// let held = CacheLock::acquire(root.path(), &key)?;
/// assert!(CacheLock::try_acquire(root.path(), &key)?.is_none());
/// drop(held);
/// assert!(CacheLock::try_acquire(root.path(), &key)?.is_some());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct CacheLock {
    file: File,
    path: PathBuf,
}

impl CacheLock {
    /// Blocks until the lock for `key` under `root` is held.
    ///
    /// # Errors
    ///
    /// An I/O error creating or locking the lock file.
    pub fn acquire(root: &Path, key: &StorageKey) -> Result<Self> {
        let (file, path) = open(root, key)?;
        match FileExt::lock(&file) {
            Ok(()) => Ok(Self { file, path }),
            Err(e) => Err(Error::io(Operation::Lock, path.display(), e)),
        }
    }

    /// Takes the lock for `key` under `root` if no one holds it; `None` if
    /// someone does.
    ///
    /// # Errors
    ///
    /// An I/O error creating or locking the lock file.
    pub fn try_acquire(root: &Path, key: &StorageKey) -> Result<Option<Self>> {
        let (file, path) = open(root, key)?;
        match FileExt::try_lock(&file) {
            Ok(()) => Ok(Some(Self { file, path })),
            Err(TryLockError::WouldBlock) => Ok(None),
            Err(TryLockError::Error(e)) => Err(Error::io(Operation::Lock, path.display(), e)),
        }
    }

    /// The lock file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Releases the lock now (dropping it does the same, ignoring errors).
    ///
    /// # Errors
    ///
    /// An I/O error from the operating system's unlock call.
    pub fn release(self) -> Result<()> {
        FileExt::unlock(&self.file).map_err(|e| Error::io(Operation::Lock, self.path.display(), e))
    }
}

impl Drop for CacheLock {
    fn drop(&mut self) {
        // Closing the file releases the lock too; an explicit unlock makes it
        // immediate even if the descriptor was duplicated.
        let _ = FileExt::unlock(&self.file);
    }
}

fn open(root: &Path, key: &StorageKey) -> Result<(File, PathBuf)> {
    let dir = root.join(LOCK_DIR);
    let name = blake3::hash(key.as_str().as_bytes()).to_hex();
    let path = dir.join(format!("{}.lock", &name[..32]));
    let open = || OpenOptions::new().create(true).truncate(false).write(true).open(&path);
    let file = match open() {
        Err(e) if e.kind() == io::ErrorKind::NotFound => fs::create_dir_all(&dir).and_then(|()| open()),
        other => other,
    };
    match file {
        Ok(file) => Ok((file, path)),
        Err(e) => Err(Error::io(Operation::Lock, path.display(), e)),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::mpsc;
    use std::thread;
    use std::time::Duration;

    use super::*;

    #[test]
    fn second_holder_waits_for_the_first() {
        let root = tempfile::tempdir().unwrap();
        let key = StorageKey::new("k").unwrap();
        let held = CacheLock::acquire(root.path(), &key).unwrap();
        assert!(held.path().starts_with(root.path().join(LOCK_DIR)));

        let (tx, rx) = mpsc::channel();
        let waiter = {
            let (root, key) = (root.path().to_owned(), key.clone());
            thread::spawn(move || {
                let lock = CacheLock::acquire(&root, &key).unwrap();
                tx.send(()).unwrap();
                lock.release().unwrap();
            })
        };
        // The waiter cannot get the lock while it is held.
        assert!(rx.recv_timeout(Duration::from_millis(100)).is_err());
        assert!(CacheLock::try_acquire(root.path(), &key).unwrap().is_none());
        drop(held);
        rx.recv_timeout(Duration::from_secs(10)).unwrap();
        waiter.join().unwrap();
    }

    #[test]
    fn different_keys_do_not_contend() {
        let root = tempfile::tempdir().unwrap();
        let a = CacheLock::acquire(root.path(), &StorageKey::new("a").unwrap()).unwrap();
        let b = CacheLock::try_acquire(root.path(), &StorageKey::new("b").unwrap()).unwrap();
        assert!(b.is_some());
        assert_ne!(a.path(), b.unwrap().path());
    }
}
