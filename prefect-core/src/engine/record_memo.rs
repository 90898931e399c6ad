//! Records this process has written or served lately, kept in memory, so
//! a cache hit reads no file.
//!
//! A read from result storage goes to tokio's blocking pool (storage I/O
//! never runs on a runtime thread), and on a small VM the hand-off there
//! and back costs far more than the read: a hit took 80 µs, nearly all of
//! it waiting for a thread. Records are immutable once written (a new
//! value for a key is a new write, and each write goes through here), so a
//! record this process wrote or read is served from memory; it is decoded
//! again on every hit, so expiration and the check of the cache key still
//! apply. What another process writes at the same location is a record for
//! the same key, served either way. A record deleted from storage by hand
//! is still served by a process that holds it in memory, until that
//! process ends or evicts it.
//!
//! Only records in local files are kept: their location is a path, the
//! same for every handle on the same directory (a memory or object store's
//! location does not tell two stores apart).
//!
//! The memo is bounded: at most [`MAX_BYTES`] of record bytes, the oldest
//! dropped first.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, LazyLock, Mutex};

/// At most this many bytes of records are kept.
pub(crate) const MAX_BYTES: usize = 32 << 20;

/// Records larger than this are never kept (a few would fill the memo).
const MAX_RECORD: usize = 1 << 20;

#[derive(Default)]
struct Memo {
    by_location: HashMap<Arc<str>, Arc<[u8]>>,
    /// Locations in the order they were stored, oldest first.
    order: VecDeque<Arc<str>>,
    bytes: usize,
}

static MEMO: LazyLock<Mutex<Memo>> = LazyLock::new(Mutex::default);

fn memo() -> std::sync::MutexGuard<'static, Memo> {
    MEMO.lock().unwrap_or_else(|e| e.into_inner())
}

/// The record stored at `location`, if this process holds it.
pub(crate) fn get(location: &str) -> Option<Arc<[u8]>> {
    memo().by_location.get(location).cloned()
}

/// Keeps `bytes` as the record at `location`.
pub(crate) fn put(location: &str, bytes: Arc<[u8]>) {
    if bytes.len() > MAX_RECORD {
        forget(location);
        return;
    }
    let mut memo = memo();
    let location: Arc<str> = Arc::from(location);
    memo.bytes += bytes.len();
    match memo.by_location.insert(location.clone(), bytes) {
        Some(old) => memo.bytes -= old.len(),
        None => memo.order.push_back(location),
    }
    while memo.bytes > MAX_BYTES {
        let Some(oldest) = memo.order.pop_front() else { break };
        if let Some(old) = memo.by_location.remove(&oldest) {
            memo.bytes -= old.len();
        }
    }
}

/// Drops the record at `location` (it turned out unusable).
pub(crate) fn forget(location: &str) {
    let mut memo = memo();
    if let Some(old) = memo.by_location.remove(location) {
        memo.bytes -= old.len();
        memo.order.retain(|l| &**l != location);
    }
}

/// Drops every kept record.
pub(crate) fn clear() {
    *memo() = Memo::default();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_what_fits_and_drops_the_oldest_first() {
        put("memo-test/a", Arc::from(vec![1u8; 10]));
        assert_eq!(get("memo-test/a").as_deref(), Some(&[1u8; 10][..]));
        put("memo-test/a", Arc::from(vec![2u8; 4]));
        assert_eq!(get("memo-test/a").as_deref(), Some(&[2u8; 4][..]));
        forget("memo-test/a");
        assert!(get("memo-test/a").is_none());
        put("memo-test/big", Arc::from(vec![0u8; MAX_RECORD + 1]));
        assert!(get("memo-test/big").is_none(), "too large to keep");
        // Fill past the bound: the first record goes, the last stays.
        let chunk = MAX_RECORD;
        for i in 0..(MAX_BYTES / chunk + 2) {
            put(&format!("memo-test/fill-{i}"), Arc::from(vec![0u8; chunk]));
        }
        assert!(get("memo-test/fill-0").is_none());
        assert!(get(&format!("memo-test/fill-{}", MAX_BYTES / chunk + 1)).is_some());
        assert!(memo().bytes <= MAX_BYTES);
    }
}
