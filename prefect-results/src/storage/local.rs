//! Result storage in local files, with atomic writes.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use super::{ResultStorage, StorageKey, default_storage_root};
use crate::error::{Error, Operation, Result};
use crate::lock::CacheLock;

/// Stores each record as one file under a root directory.
///
/// A key `a/b.json` lives at `<root>/a/b.json`; directories are created on
/// demand. Writes are atomic: the bytes go to a temporary file in the target's
/// directory (named with a leading `.`, which no [`StorageKey`] can name), are
/// flushed to disk with `fsync`, then renamed over the target. A crash leaves
/// at worst a stray temporary file, never a half-written record under the key.
///
/// # Examples
///
/// ```
/// use prefect_results::{LocalStorage, ResultStorage, StorageKey};
///
/// let dir = tempfile::tempdir()?;
/// let storage = LocalStorage::new(dir.path());
/// let key = StorageKey::new("flow/task.json")?;
/// storage.write(&key, b"{}")?;
/// assert_eq!(storage.read(&key)?.as_deref(), Some(&b"{}"[..]));
/// assert!(dir.path().join("flow/task.json").is_file());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalStorage {
    root: PathBuf,
}

impl LocalStorage {
    /// Storage rooted at `root` (created on the first write).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    /// Storage at [`default_storage_root`] (`$PREFECT_HOME/storage`).
    ///
    /// # Errors
    ///
    /// [`Error::NoStorageRoot`] if neither `PREFECT_HOME` nor a home directory is set.
    pub fn with_default_root() -> Result<Self> {
        default_storage_root().map(Self::new)
    }

    /// The root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The file path of `key`.
    pub fn path_of(&self, key: &StorageKey) -> PathBuf {
        let mut path = self.root.clone();
        path.extend(key.segments());
        path
    }

    /// Blocks until this process holds the cross-process lock for `key`
    /// (see [`CacheLock::acquire`]).
    ///
    /// # Errors
    ///
    /// An I/O error creating or locking the lock file.
    pub fn lock(&self, key: &StorageKey) -> Result<CacheLock> {
        CacheLock::acquire(&self.root, key)
    }

    /// Takes the lock for `key` if it is free (see [`CacheLock::try_acquire`]).
    ///
    /// # Errors
    ///
    /// An I/O error creating or locking the lock file.
    pub fn try_lock(&self, key: &StorageKey) -> Result<Option<CacheLock>> {
        CacheLock::try_acquire(&self.root, key)
    }
}

impl ResultStorage for LocalStorage {
    fn write(&self, key: &StorageKey, bytes: &[u8]) -> Result<()> {
        let path = self.path_of(key);
        write_atomic(&path, bytes).map_err(|e| Error::io(Operation::Write, path.display(), e))
    }

    fn read(&self, key: &StorageKey) -> Result<Option<Vec<u8>>> {
        let path = self.path_of(key);
        match fs::read(&path) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if is_missing(&e) => Ok(None),
            Err(e) => Err(Error::io(Operation::Read, path.display(), e)),
        }
    }

    fn exists(&self, key: &StorageKey) -> Result<bool> {
        let path = self.path_of(key);
        match fs::metadata(&path) {
            Ok(meta) => Ok(meta.is_file()),
            Err(e) if is_missing(&e) => Ok(false),
            Err(e) => Err(Error::io(Operation::Exists, path.display(), e)),
        }
    }

    fn delete(&self, key: &StorageKey) -> Result<()> {
        let path = self.path_of(key);
        match fs::remove_file(&path) {
            Err(e) if !is_missing(&e) => Err(Error::io(Operation::Delete, path.display(), e)),
            _ => Ok(()),
        }
    }

    fn location(&self, key: &StorageKey) -> String {
        self.path_of(key).display().to_string()
    }

    fn lock_root(&self) -> Option<&Path> {
        Some(&self.root)
    }
}

fn is_missing(e: &io::Error) -> bool {
    matches!(e.kind(), io::ErrorKind::NotFound | io::ErrorKind::NotADirectory)
}

/// Writes `bytes` to `path` through a synced temporary file and a rename.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    if let Some(dir) = path.parent() {
        stale::clean_once(dir);
    }
    let tmp = temp_path(path);
    let file = match create_new(&tmp) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            fs::create_dir_all(tmp.parent().unwrap_or(Path::new(".")))?;
            create_new(&tmp)?
        }
        other => other?,
    };
    let done = fill_and_sync(file, bytes).and_then(|()| fs::rename(&tmp, path));
    if done.is_err() {
        // Best effort: the original error is the one worth reporting.
        let _ = fs::remove_file(&tmp);
    }
    done
}

fn create_new(path: &Path) -> io::Result<File> {
    OpenOptions::new().write(true).create_new(true).open(path)
}

fn fill_and_sync(mut file: File, bytes: &[u8]) -> io::Result<()> {
    file.write_all(bytes)?;
    file.sync_all()
}

/// `<dir>/.<name>.<pid>.<n>.tmp`: hidden (no key can name it) and unique per write.
/// Temp files left by writers that died mid-write (killed between creating
/// the temp file and renaming it), removed once per directory per process.
mod stale {
    use std::collections::HashSet;
    use std::path::{Path, PathBuf};
    use std::sync::{LazyLock, Mutex};

    static CLEANED: LazyLock<Mutex<HashSet<PathBuf>>> = LazyLock::new(Default::default);

    /// Removes the stale temp files in `dir`, the first time this process
    /// writes there. Only names of the form `.{name}.{pid}.{n}.tmp` written
    /// by a process that is gone are touched: nothing else in the directory
    /// is ever changed.
    pub(super) fn clean_once(dir: &Path) {
        let first = CLEANED.lock().unwrap_or_else(|e| e.into_inner()).insert(dir.to_owned());
        if !first {
            return;
        }
        let Ok(entries) = std::fs::read_dir(dir) else { return };
        for entry in entries.flatten() {
            let name = entry.file_name();
            let Some(pid) = name.to_str().and_then(writer_pid) else { continue };
            if pid != std::process::id() && is_gone(pid) && entry.file_type().is_ok_and(|t| t.is_file()) {
                let _ = std::fs::remove_file(entry.path());
            }
        }
    }

    /// The writer's pid in a temp file's name `.{name}.{pid}.{n}.tmp`.
    pub(super) fn writer_pid(name: &str) -> Option<u32> {
        let inner = name.strip_prefix('.')?.strip_suffix(".tmp")?;
        let mut parts = inner.rsplitn(3, '.');
        let counter = parts.next()?;
        let pid = parts.next()?;
        let record = parts.next()?;
        let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        (digits(counter) && !record.is_empty()).then_some(())?;
        if !digits(pid) {
            return None;
        }
        pid.parse().ok()
    }

    /// Whether no process has `pid` (Linux `/proc`; elsewhere, unknown: kept).
    fn is_gone(pid: u32) -> bool {
        cfg!(target_os = "linux") && !Path::new(&format!("/proc/{pid}")).exists()
    }
}

fn temp_path(path: &Path) -> PathBuf {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    path.with_file_name(format!(".{name}.{}.{n}.tmp", std::process::id()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(s: &str) -> StorageKey {
        StorageKey::new(s).unwrap()
    }

    #[test]
    fn round_trip_and_overwrite() {
        let dir = tempfile::tempdir().unwrap();
        let storage = LocalStorage::new(dir.path());
        let k = key("a/b/c.bin");
        assert_eq!(storage.read(&k).unwrap(), None);
        assert!(!storage.exists(&k).unwrap());
        storage.write(&k, b"one").unwrap();
        storage.write(&k, b"two").unwrap();
        assert_eq!(storage.read(&k).unwrap().unwrap(), b"two");
        assert!(storage.exists(&k).unwrap());
        storage.delete(&k).unwrap();
        storage.delete(&k).unwrap();
        assert!(!storage.exists(&k).unwrap());
    }

    #[test]
    fn temp_files_of_dead_writers_are_removed_and_nothing_else() {
        let dir = tempfile::tempdir().unwrap();
        let records = dir.path().join("records");
        fs::create_dir_all(&records).unwrap();
        // A pid above any kernel's limit: its process is gone.
        let stale = records.join(".a.json.2147483000.0.tmp");
        let live = records.join(format!(".b.json.{}.7.tmp", std::process::id()));
        let foreign = records.join("notes.tmp");
        for file in [&stale, &live, &foreign] {
            fs::write(file, b"partial").unwrap();
        }
        LocalStorage::new(dir.path()).write(&key("records/c.json"), b"{}").unwrap();
        assert!(!stale.exists(), "a dead writer's temp file is removed");
        assert!(live.exists(), "this process's own temp file is kept");
        assert_eq!(fs::read(&foreign).unwrap(), b"partial", "a file that is not ours is left alone");
        assert_eq!(stale::writer_pid(".a.b.json.42.3.tmp"), Some(42));
        assert_eq!(stale::writer_pid(".x.tmp"), None);
    }

    #[test]
    fn no_temp_file_is_left_behind() {
        let dir = tempfile::tempdir().unwrap();
        let storage = LocalStorage::new(dir.path());
        for i in 0..5 {
            storage.write(&key("x/r"), &[i; 64]).unwrap();
        }
        let names: Vec<_> =
            fs::read_dir(dir.path().join("x")).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names, vec!["r"]);
    }

    #[test]
    fn a_directory_is_not_a_record() {
        let dir = tempfile::tempdir().unwrap();
        let storage = LocalStorage::new(dir.path());
        storage.write(&key("d/f"), b"x").unwrap();
        assert!(!storage.exists(&key("d")).unwrap());
        assert_eq!(storage.read(&key("d/f/g")).unwrap(), None);
    }
}
