//! Cross-process locks: threads and a child process contend for one key.

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;

use prefect_results::{CacheLock, LocalStorage, ResultRecord, ResultStorage, Serializer, StorageKey};

const CHILD_ENV: &str = "PREFECT_RESULTS_LOCK_CHILD_ROOT";
const LOCKED: &str = "prefect-results: child holds the lock";

#[test]
fn contenders_compute_once() {
    let dir = tempfile::tempdir().unwrap();
    let storage = Arc::new(LocalStorage::new(dir.path()));
    let key = StorageKey::new("shared").unwrap();
    let computed = Arc::new(AtomicUsize::new(0));
    let workers: Vec<_> = (0..8)
        .map(|_| {
            let (storage, key, computed) = (storage.clone(), key.clone(), computed.clone());
            thread::spawn(move || {
                let _lock = storage.lock(&key).unwrap();
                if let Some(hit) = ResultRecord::<u64>::read_from(&*storage, &key).unwrap() {
                    return *hit.value();
                }
                computed.fetch_add(1, Ordering::SeqCst);
                ResultRecord::new(key.clone(), Serializer::JSON, 42u64).write_to(&*storage).unwrap();
                42
            })
        })
        .collect();
    for worker in workers {
        assert_eq!(worker.join().unwrap(), 42);
    }
    assert_eq!(computed.load(Ordering::SeqCst), 1);
    assert!(storage.exists(&key).unwrap());
}

/// Runs as the lock holder when started by `a_child_process_holds_the_lock`.
#[test]
fn child_lock_holder() {
    let Some(root) = std::env::var_os(CHILD_ENV) else {
        return;
    };
    let lock = CacheLock::acquire(root.as_ref(), &StorageKey::new("k").unwrap()).unwrap();
    println!("\n{LOCKED}");
    std::io::stdout().flush().unwrap();
    let _ = std::io::stdin().read_to_end(&mut Vec::new());
    lock.release().unwrap();
}

#[test]
fn a_child_process_holds_the_lock() {
    let dir = tempfile::tempdir().unwrap();
    let key = StorageKey::new("k").unwrap();
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "child_lock_holder", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, dir.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    assert!(lines.any(|line| line.unwrap().contains(LOCKED)), "child never locked");

    assert!(CacheLock::try_acquire(dir.path(), &key).unwrap().is_none());
    drop(child.stdin.take());
    assert!(child.wait().unwrap().success());
    assert!(CacheLock::try_acquire(dir.path(), &key).unwrap().is_some());
}
