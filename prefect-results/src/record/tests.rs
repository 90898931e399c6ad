use chrono::{TimeDelta, TimeZone, Utc};

use super::*;
use crate::storage::MemoryStorage;

fn key() -> StorageKey {
    StorageKey::new("flow/task.rec").unwrap()
}

fn stored(storage: &MemoryStorage) -> Vec<u8> {
    storage.read(&key()).unwrap().unwrap()
}

fn write_sample(storage: &MemoryStorage) {
    ResultRecord::new(key(), Serializer::JSON, vec![1u32, 2, 3])
        .with_task_key("task-abc")
        .write_to(storage)
        .unwrap();
}

fn corruption(bytes: &[u8]) -> Corruption {
    let storage = MemoryStorage::new();
    storage.write(&key(), bytes).unwrap();
    match ResultRecord::<Vec<u32>>::read_from(&storage, &key()) {
        Err(Error::Corrupt { location, problem }) => {
            assert_eq!(location, "memory://flow/task.rec");
            problem
        }
        other => panic!("expected a corrupt record, got {other:?}"),
    }
}

#[test]
fn round_trip_keeps_metadata() {
    let storage = MemoryStorage::new();
    let created = Utc.with_ymd_and_hms(2024, 1, 2, 3, 4, 5).unwrap();
    let cache_key = CacheKey::of(&"inputs").unwrap();
    let record = ResultRecord::new(key(), Serializer::POSTCARD, ("a".to_string(), 7u8))
        .with_created(created)
        .expires_after(TimeDelta::hours(1))
        .with_task_key("t-1")
        .with_cache_key(cache_key);
    record.write_to(&storage).unwrap();
    let read = ResultRecord::read_from_at(&storage, &key(), created).unwrap().unwrap();
    assert_eq!(read, record);
    let meta = read.metadata();
    assert_eq!(meta.storage_key(), &key());
    assert_eq!(meta.serializer(), Serializer::POSTCARD);
    assert_eq!(meta.format_version(), FORMAT_VERSION);
    assert_eq!(meta.created(), created);
    assert_eq!(meta.expiration(), Some(created + TimeDelta::hours(1)));
    assert_eq!(meta.task_key(), Some("t-1"));
    assert_eq!(meta.cache_key(), Some(&cache_key));
}

#[test]
fn layout_starts_with_magic_version_and_json() {
    let storage = MemoryStorage::new();
    write_sample(&storage);
    let bytes = stored(&storage);
    assert_eq!(bytes[..8], MAGIC);
    assert_eq!(bytes[8..10], 1u16.to_le_bytes());
    let len = u32::from_le_bytes(bytes[10..14].try_into().unwrap()) as usize;
    let meta: serde_json::Value = serde_json::from_slice(&bytes[14..14 + len]).unwrap();
    assert_eq!(meta["meta"]["serializer"], "json");
    assert_eq!(meta["meta"]["task_key"], "task-abc");
    assert_eq!(meta["value"]["len"], 7);
    assert_eq!(&bytes[14 + len..], b"[1,2,3]");
}

#[test]
fn missing_is_none() {
    let storage = MemoryStorage::new();
    assert!(ResultRecord::<u8>::read_from(&storage, &key()).unwrap().is_none());
}

#[test]
fn foreign_files_are_not_records() {
    assert_eq!(corruption(b"{\"hello\": 1}"), Corruption::NotARecord);
    assert_eq!(corruption(b"\x89PNG\r\n\x1a\n...."), Corruption::NotARecord);
}

#[test]
fn every_truncation_is_detected() {
    let storage = MemoryStorage::new();
    write_sample(&storage);
    let bytes = stored(&storage);
    for cut in 0..bytes.len() {
        let problem = corruption(&bytes[..cut]);
        assert!(
            matches!(problem, Corruption::Truncated { found, .. } if found == cut as u64),
            "cut at {cut}: {problem:?}"
        );
    }
}

#[test]
fn other_versions_are_rejected() {
    let storage = MemoryStorage::new();
    write_sample(&storage);
    let mut bytes = stored(&storage);
    bytes[8..10].copy_from_slice(&2u16.to_le_bytes());
    let expected = Corruption::UnsupportedVersion { found: 2, supported: 1 };
    assert_eq!(corruption(&bytes), expected);
}

#[test]
fn flipped_value_byte_fails_the_checksum() {
    let storage = MemoryStorage::new();
    write_sample(&storage);
    let mut bytes = stored(&storage);
    let last = bytes.len() - 2;
    bytes[last] = b'9';
    assert_eq!(corruption(&bytes), Corruption::ChecksumMismatch);
}

#[test]
fn garbage_metadata_and_trailing_bytes() {
    let storage = MemoryStorage::new();
    write_sample(&storage);
    let bytes = stored(&storage);
    let mut garbled = bytes.clone();
    garbled[14] = b'!';
    assert!(matches!(corruption(&garbled), Corruption::BadMetadata { .. }));
    let mut longer = bytes.clone();
    longer.push(0);
    assert!(matches!(corruption(&longer), Corruption::BadMetadata { .. }));
    let mut huge = bytes;
    huge[10..14].copy_from_slice(&u32::MAX.to_le_bytes());
    assert!(matches!(corruption(&huge), Corruption::BadMetadata { .. }));
}

#[test]
fn wrong_type_is_undecodable() {
    let storage = MemoryStorage::new();
    ResultRecord::new(key(), Serializer::JSON, "text").write_to(&storage).unwrap();
    assert!(matches!(corruption(&stored(&storage)), Corruption::UndecodableValue { .. }));
}

#[test]
fn expiration_is_checked_at_read_time() {
    let storage = MemoryStorage::new();
    let created = Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0).unwrap();
    let expires = created + TimeDelta::minutes(5);
    ResultRecord::new(key(), Serializer::JSON, 1u8)
        .with_created(created)
        .with_expiration(Some(expires))
        .write_to(&storage)
        .unwrap();
    let read = |now| ResultRecord::<u8>::read_from_at(&storage, &key(), now);
    assert!(read(expires - TimeDelta::seconds(1)).unwrap().is_some());
    let err = read(expires).unwrap_err();
    assert!(err.is_expired() && err.is_cache_miss() && !err.is_corrupt());
    assert!(matches!(err, Error::Expired { expired_at, .. } if expired_at == expires));
    // Records created in the past with a past expiration are expired now too.
    assert!(ResultRecord::<u8>::read_from(&storage, &key()).unwrap_err().is_expired());
}

#[test]
fn from_bytes_names_no_location() {
    let err = ResultRecord::<u8>::from_bytes(b"nope", Utc::now()).unwrap_err();
    assert!(err.to_string().contains("<bytes>"), "{err}");
    let bytes = ResultRecord::new(key(), Serializer::JSON, 5u8).to_bytes().unwrap();
    assert_eq!(*ResultRecord::<u8>::from_bytes(&bytes, Utc::now()).unwrap().value(), 5);
}

#[test]
fn non_finite_floats_survive_a_json_record() {
    let key = StorageKey::new("floats").unwrap();
    let value = (f64::NAN, vec![f64::INFINITY, -1.5], f32::NEG_INFINITY);
    let record = ResultRecord::new(key, Serializer::JSON, value);
    let bytes = record.to_bytes().unwrap();
    let back = ResultRecord::<(f64, Vec<f64>, f32)>::from_bytes(&bytes, chrono::Utc::now()).unwrap();
    let (nan, list, neg) = back.into_value();
    assert!(nan.is_nan());
    assert_eq!(list, [f64::INFINITY, -1.5]);
    assert_eq!(neg, f32::NEG_INFINITY);
    // Finite values stay JSON.
    let plain = ResultRecord::new(StorageKey::new("plain").unwrap(), Serializer::JSON, 1.5f64);
    let back = ResultRecord::<f64>::from_bytes(&plain.to_bytes().unwrap(), chrono::Utc::now()).unwrap();
    assert_eq!(back.metadata().serializer, Serializer::JSON);
}
