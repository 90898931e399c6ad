//! [`Spool`]: what a recorder could not hand to the server yet, on disk,
//! in order.
//!
//! One directory per recorder under the spool root
//! (`$PREFECT_HOME/spool/<pid>-<uuid>/`), made at the first entry:
//! `owner.json` (the recording process, as its lease names it), then one
//! file per entry, `00000000000000000001.batch` (first line the batch id,
//! then the events as JSON) or `…0002.release` (the recorder closed).
//! Each file is written to a temporary name, synced and renamed, so an
//! entry is either whole or absent; a file that does not parse is renamed
//! `*.rejected` and logged, never deleted.
//!
//! A directory whose process is gone (same machine, process dead) is an
//! orphan: the next recorder that starts with the same root sends it.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use prefect_store::{BatchId, LeaseOwner};

/// One spooled entry.
#[derive(Debug)]
pub(crate) enum Entry {
    /// A batch: its id and its events as a JSON array.
    Batch { id: BatchId, events: Vec<u8> },
    /// The recorder closed: its lease is to be released.
    Release,
}

/// A recorder's spool directory.
#[derive(Debug)]
pub(crate) struct Spool {
    dir: PathBuf,
    owner: LeaseOwner,
    /// The sequence number of the next entry.
    next: u64,
    made: bool,
}

impl Spool {
    /// A spool for `owner` under `root`, made on the first entry.
    pub(crate) fn new(root: &Path, owner: LeaseOwner) -> Spool {
        let name = format!("{}-{}", owner.pid, uuid::Uuid::now_v7().simple());
        Spool { dir: root.join(name), owner, next: 1, made: false }
    }

    /// An orphan's spool, to send what it holds.
    fn adopt(dir: PathBuf, owner: LeaseOwner) -> io::Result<Spool> {
        let last = entries(&dir)?.last().and_then(|p| sequence(p)).unwrap_or(0);
        Ok(Spool { dir, owner, next: last + 1, made: true })
    }

    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }

    pub(crate) fn owner(&self) -> &LeaseOwner {
        &self.owner
    }

    /// Appends a batch.
    pub(crate) fn push_batch(&mut self, id: BatchId, events: &[u8]) -> io::Result<()> {
        let mut content = Vec::with_capacity(events.len() + 40);
        content.extend_from_slice(id.to_string().as_bytes());
        content.push(b'\n');
        content.extend_from_slice(events);
        self.push("batch", &content)
    }

    /// Appends the recorder's closing.
    pub(crate) fn push_release(&mut self) -> io::Result<()> {
        self.push("release", b"")
    }

    fn push(&mut self, kind: &str, content: &[u8]) -> io::Result<()> {
        if !self.made {
            fs::create_dir_all(&self.dir)?;
            let owner = serde_json::to_vec(&self.owner).map_err(io::Error::other)?;
            write_synced(&self.dir.join("owner.json"), &owner)?;
            self.made = true;
        }
        let path = self.dir.join(format!("{:020}.{kind}", self.next));
        write_synced(&path, content)?;
        self.next += 1;
        Ok(())
    }

    /// The entries waiting, oldest first.
    pub(crate) fn entries(&self) -> io::Result<Vec<PathBuf>> {
        if !self.made {
            return Ok(Vec::new());
        }
        entries(&self.dir)
    }

    /// Reads an entry; `None` (after renaming it `*.rejected` and logging
    /// it) when it does not parse.
    pub(crate) fn read(&self, path: &Path) -> io::Result<Option<Entry>> {
        if path.extension().is_some_and(|e| e == "release") {
            return Ok(Some(Entry::Release));
        }
        let content = fs::read(path)?;
        let parsed = content.iter().position(|b| *b == b'\n').and_then(|newline| {
            let id = std::str::from_utf8(&content[..newline]).ok()?.parse().ok()?;
            Some(Entry::Batch { id: BatchId(id), events: content[newline + 1..].to_vec() })
        });
        if parsed.is_none() {
            self.reject(path, "it does not parse as a spooled batch");
        }
        Ok(parsed)
    }

    /// Sets an entry aside (renamed `*.rejected`, kept), saying why.
    pub(crate) fn reject(&self, path: &Path, why: &str) {
        let aside = path.with_extension(format!(
            "{}.rejected",
            path.extension().and_then(|e| e.to_str()).unwrap_or_default()
        ));
        match fs::rename(path, &aside) {
            Ok(()) => tracing::error!(
                file = %aside.display(),
                "a spooled batch of run events was set aside: {why}; it is kept in that file"
            ),
            Err(e) => {
                tracing::error!(file = %path.display(), "cannot set a spooled batch aside ({e}): {why}")
            }
        }
    }

    /// Deletes a sent entry.
    pub(crate) fn remove(&self, path: &Path) -> io::Result<()> {
        fs::remove_file(path)
    }

    /// Deletes the directory once nothing but its owner file is left
    /// (entries set aside keep it).
    pub(crate) fn remove_if_done(&mut self) {
        if !self.made {
            return;
        }
        let rest = fs::read_dir(&self.dir)
            .map(|d| d.filter_map(|e| e.ok()).filter(|e| e.file_name() != "owner.json").count())
            .unwrap_or(1);
        if rest == 0
            && fs::remove_file(self.dir.join("owner.json")).is_ok()
            && fs::remove_dir(&self.dir).is_ok()
        {
            self.made = false;
        }
    }
}

/// The spools under `root` whose process is gone (on this machine).
pub(crate) fn orphans(root: &Path) -> Vec<Spool> {
    let Ok(dirs) = fs::read_dir(root) else { return Vec::new() };
    let here = LeaseOwner::current();
    let mut found = Vec::new();
    for dir in dirs.filter_map(|d| d.ok()).map(|d| d.path()).filter(|p| p.is_dir()) {
        let owner = match fs::read(dir.join("owner.json")) {
            Ok(bytes) => serde_json::from_slice::<LeaseOwner>(&bytes),
            Err(_) => continue,
        };
        match owner {
            Ok(owner) if owner.is_dead_here(&here) => match Spool::adopt(dir.clone(), owner) {
                Ok(spool) => found.push(spool),
                Err(e) => {
                    tracing::warn!(dir = %dir.display(), "cannot read a spool left by another process: {e}")
                }
            },
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(dir = %dir.display(), "a spool's owner.json does not parse ({e}); left as it is")
            }
        }
    }
    found
}

/// The entry files of `dir`, oldest first.
fn entries(dir: &Path) -> io::Result<Vec<PathBuf>> {
    let mut found: Vec<PathBuf> = fs::read_dir(dir)?
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "batch" || e == "release") && sequence(p).is_some())
        .collect();
    found.sort();
    Ok(found)
}

/// An entry's sequence number, from its name.
fn sequence(path: &Path) -> Option<u64> {
    path.file_stem()?.to_str()?.parse().ok()
}

/// Writes `content` to `path` so that it is there whole or not at all,
/// and stays there through a power cut.
fn write_synced(path: &Path, content: &[u8]) -> io::Result<()> {
    let partial = path.with_extension("partial");
    let mut file = File::create(&partial)?;
    file.write_all(content)?;
    file.sync_all()?;
    drop(file);
    fs::rename(&partial, path)?;
    if let Some(dir) = path.parent() {
        // The rename itself is durable once the directory is synced.
        File::open(dir)?.sync_all()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_come_back_in_order_and_bad_ones_are_set_aside() {
        let root = tempfile::tempdir().unwrap();
        let mut spool = Spool::new(root.path(), LeaseOwner::current());
        assert!(spool.entries().unwrap().is_empty());
        assert!(!spool.dir().exists(), "made only when needed");
        let (a, b) = (BatchId::new(), BatchId::new());
        spool.push_batch(a, b"[1]").unwrap();
        spool.push_batch(b, b"[2]").unwrap();
        spool.push_release().unwrap();
        let found = spool.entries().unwrap();
        assert_eq!(found.len(), 3);
        match spool.read(&found[0]).unwrap() {
            Some(Entry::Batch { id, events }) => assert_eq!((id, events.as_slice()), (a, &b"[1]"[..])),
            other => panic!("{other:?}"),
        }
        assert!(matches!(spool.read(&found[2]).unwrap(), Some(Entry::Release)));

        fs::write(&found[1], b"not a batch").unwrap();
        assert!(spool.read(&found[1]).unwrap().is_none());
        assert!(found[1].with_extension("batch.rejected").exists(), "kept, not deleted");
        spool.remove(&found[0]).unwrap();
        spool.remove(&found[2]).unwrap();
        assert!(spool.entries().unwrap().is_empty());
        spool.remove_if_done();
        assert!(spool.dir().exists(), "the rejected entry keeps the directory");
    }

    #[test]
    fn spools_of_dead_processes_are_orphans() {
        let root = tempfile::tempdir().unwrap();
        let mut live = Spool::new(root.path(), LeaseOwner::current());
        live.push_release().unwrap();
        let dead_owner = LeaseOwner { pid: 0x7fff_fff0, ..LeaseOwner::current() };
        let mut dead = Spool::new(root.path(), dead_owner.clone());
        dead.push_batch(BatchId::new(), b"[]").unwrap();
        let found = orphans(root.path());
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].dir(), dead.dir());
        assert_eq!(found[0].owner(), &dead_owner);
        assert_eq!(found[0].next, 2);
    }
}
