//! Local-file storage: atomic writes, garbage on disk, errors naming the file.

use std::fs;

use prefect_results::{Corruption, Error, LocalStorage, ResultRecord, ResultStorage, Serializer, StorageKey};

fn key(s: &str) -> StorageKey {
    StorageKey::new(s).unwrap()
}

fn corrupt_problem(storage: &LocalStorage, k: &StorageKey) -> Corruption {
    match ResultRecord::<String>::read_from(storage, k) {
        Err(Error::Corrupt { location, problem }) => {
            assert_eq!(location, storage.path_of(k).display().to_string());
            problem
        }
        other => panic!("expected Error::Corrupt, got {other:?}"),
    }
}

#[test]
fn writes_leave_only_the_record() {
    let dir = tempfile::tempdir().unwrap();
    let storage = LocalStorage::new(dir.path());
    for i in 0..20 {
        let record = ResultRecord::new(key("a/b/rec"), Serializer::JSON, format!("value {i}"));
        record.write_to(&storage).unwrap();
    }
    let names: Vec<_> =
        fs::read_dir(dir.path().join("a/b")).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(names, ["rec"]);
    let last = ResultRecord::<String>::read_from(&storage, &key("a/b/rec")).unwrap().unwrap();
    assert_eq!(last.value(), "value 19");
}

#[test]
fn a_crashed_write_is_never_readable() {
    let dir = tempfile::tempdir().unwrap();
    let storage = LocalStorage::new(dir.path());
    let k = key("flow/task");
    ResultRecord::new(k.clone(), Serializer::JSON, "old".to_string()).write_to(&storage).unwrap();

    // What a crash mid-write leaves: a partial temp file beside the record.
    let new = ResultRecord::new(k.clone(), Serializer::JSON, "new".to_string()).to_bytes().unwrap();
    let temp = dir.path().join("flow/.task.999.0.tmp");
    fs::write(&temp, &new[..new.len() / 2]).unwrap();

    // The key still reads the old, complete record...
    let read = ResultRecord::<String>::read_from(&storage, &k).unwrap().unwrap();
    assert_eq!(read.value(), "old");
    // ...and no key can name the temp file.
    assert!(StorageKey::new("flow/.task.999.0.tmp").is_err());
    // The next write replaces the record and leaves the stray temp alone.
    ResultRecord::new(k.clone(), Serializer::JSON, "newer".to_string()).write_to(&storage).unwrap();
    assert_eq!(ResultRecord::<String>::read_from(&storage, &k).unwrap().unwrap().value(), "newer");
}

#[test]
fn garbage_files_are_corrupt_records_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let storage = LocalStorage::new(dir.path());
    let k = key("r");
    let path = storage.path_of(&k);

    fs::write(&path, b"").unwrap();
    assert!(matches!(corrupt_problem(&storage, &k), Corruption::Truncated { found: 0, .. }));

    fs::write(&path, b"#!/bin/sh\necho hi\n").unwrap();
    assert_eq!(corrupt_problem(&storage, &k), Corruption::NotARecord);

    let full = ResultRecord::new(k.clone(), Serializer::JSON, "x".repeat(100)).to_bytes().unwrap();
    fs::write(&path, &full[..full.len() - 10]).unwrap();
    assert!(matches!(corrupt_problem(&storage, &k), Corruption::Truncated { .. }));

    let mut other_version = full.clone();
    other_version[8] = 9;
    fs::write(&path, &other_version).unwrap();
    assert!(matches!(corrupt_problem(&storage, &k), Corruption::UnsupportedVersion { found: 9, .. }));

    let err = {
        fs::write(&path, b"junk").unwrap();
        ResultRecord::<String>::read_from(&storage, &k).unwrap_err()
    };
    assert!(err.is_cache_miss());
    assert!(err.to_string().contains(&path.display().to_string()), "{err}");
}

#[test]
fn writing_where_a_directory_cannot_be_made_is_an_io_error() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("file");
    fs::write(&root, b"not a directory").unwrap();
    let storage = LocalStorage::new(&root);
    let err = storage.write(&key("a/b"), b"x").unwrap_err();
    assert!(matches!(err, Error::Io { .. }), "{err:?}");
    assert!(err.to_string().contains("file"), "{err}");
}

#[cfg(unix)]
#[test]
fn a_read_only_directory_is_permission_denied() {
    use std::os::unix::fs::PermissionsExt;

    let dir = tempfile::tempdir().unwrap();
    let ro = dir.path().join("ro");
    fs::create_dir(&ro).unwrap();
    fs::set_permissions(&ro, fs::Permissions::from_mode(0o500)).unwrap();
    // Root ignores permission bits; the check only means something for other users.
    if fs::write(ro.join("probe"), b"").is_ok() {
        return;
    }
    let err = LocalStorage::new(&ro).write(&key("k"), b"x").unwrap_err();
    assert!(err.is_permission_denied(), "{err:?}");
}
