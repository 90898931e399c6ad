//! A user-defined value encoding through records and storages, as a user
//! would plug one in.

use std::collections::BTreeMap;
use std::sync::Arc;

use prefect_results::erased_serde;
use prefect_results::{
    BoxError, CachePolicy, Corruption, Error, LocalStorage, MemoryStorage, ResultRecord, ResultStorage,
    Serializer, StorageKey, TaskIdentity, ValueSerializer, ValueSink,
};
use serde::{Deserialize, Serialize};

/// JSON written as lowercase hex: a layout no built-in format reads.
#[derive(Debug)]
struct HexJson;

impl ValueSerializer for HexJson {
    fn name(&self) -> &str {
        "hex-json"
    }

    fn serialize(&self, value: &dyn erased_serde::Serialize) -> Result<Vec<u8>, BoxError> {
        let json = serde_json::to_vec(value)?;
        Ok(json.iter().flat_map(|b| format!("{b:02x}").into_bytes()).collect())
    }

    fn deserialize(&self, bytes: &[u8], sink: &mut ValueSink<'_>) -> Result<(), BoxError> {
        let hex = std::str::from_utf8(bytes)?;
        if hex.len() % 2 != 0 {
            return Err("odd number of hex digits".into());
        }
        let json = (0..hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&hex[i..i + 2], 16))
            .collect::<Result<Vec<_>, _>>()?;
        let mut de = serde_json::Deserializer::from_slice(&json);
        sink.deserialize_from(&mut de)?;
        de.end()?;
        Ok(())
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
enum Status {
    Ok,
    Partial { missing: Vec<String> },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Report {
    title: String,
    rows: Vec<(u32, f64)>,
    tags: BTreeMap<String, bool>,
    note: Option<String>,
    status: Status,
}

fn report() -> Report {
    Report {
        title: "daily ✓".into(),
        rows: (0..50).map(|i| (i, f64::from(i) / 4.0)).collect(),
        tags: [("a".to_string(), true)].into(),
        note: Some("custom".into()),
        status: Status::Partial { missing: vec!["eu".into()] },
    }
}

fn hex_json() -> Serializer {
    Serializer::custom(HexJson).unwrap()
}

fn serializers() -> Vec<Serializer> {
    let mut all = vec![hex_json()];
    if cfg!(feature = "zstd") {
        all.push(hex_json().compressed());
    }
    all
}

fn storages(dir: &std::path::Path) -> Vec<Arc<dyn ResultStorage>> {
    vec![Arc::new(LocalStorage::new(dir)), Arc::new(MemoryStorage::new())]
}

/// The metadata JSON of a stored record (layout: magic, version, length, JSON).
fn header(bytes: &[u8]) -> serde_json::Value {
    let len = u32::from_le_bytes(bytes[10..14].try_into().unwrap()) as usize;
    serde_json::from_slice(&bytes[14..14 + len]).unwrap()
}

#[test]
fn a_custom_serializer_in_every_storage() {
    let dir = tempfile::tempdir().unwrap();
    for storage in storages(dir.path()) {
        for serializer in serializers() {
            let key = StorageKey::new(format!("reports/{serializer}.rec")).unwrap();
            let record = ResultRecord::new(key.clone(), serializer, report()).with_task_key("t");
            record.write_to(&*storage).unwrap();
            let read = ResultRecord::<Report>::read_from(&*storage, &key).unwrap().unwrap();
            assert_eq!(read, record, "{serializer} in {storage:?}");
            assert_eq!(read.metadata().serializer(), serializer);
            assert_eq!(read.metadata().format_version(), 1);
            // The header names the serializer as it prints.
            let bytes = storage.read(&key).unwrap().unwrap();
            assert_eq!(header(&bytes)["meta"]["serializer"], serializer.to_string());
        }
    }
}

#[test]
fn the_value_bytes_are_the_custom_layout() {
    let storage = MemoryStorage::new();
    let key = StorageKey::new("hex").unwrap();
    ResultRecord::new(key.clone(), hex_json(), vec![1u8, 2]).write_to(&storage).unwrap();
    let bytes = storage.read(&key).unwrap().unwrap();
    let meta = header(&bytes);
    assert_eq!(meta["meta"]["serializer"], "hex-json");
    assert!(bytes.ends_with(b"5b312c325d"), "{bytes:?}"); // `[1,2]`
}

#[test]
fn a_cache_miss_then_a_hit_with_a_custom_serializer() {
    let storage = MemoryStorage::new();
    let key = CachePolicy::DEFAULT
        .key_for(TaskIdentity::new("double").with_source_hash("v1"))
        .input("x", &21)
        .run_id("run-1")
        .finish()
        .unwrap();
    assert!(ResultRecord::<u32>::read_from(&storage, &key.storage_key()).unwrap().is_none());
    ResultRecord::for_cache_key(key, hex_json(), 42u32).write_to(&storage).unwrap();
    let hit = ResultRecord::<u32>::read_from(&storage, &key.storage_key()).unwrap().unwrap();
    assert_eq!(*hit.value(), 42);
    assert_eq!(hit.metadata().cache_key(), Some(&key));
}

#[test]
fn an_unregistered_serializer_name_is_a_corrupt_record_naming_its_location() {
    let storage = MemoryStorage::new();
    let key = StorageKey::new("flow/unknown.rec").unwrap();
    ResultRecord::new(key.clone(), Serializer::JSON, 5u8).write_to(&storage).unwrap();
    // As if written by a process that registered `nope` and read by one that
    // did not (same length, so the header's length prefix still holds).
    let mut bytes = storage.read(&key).unwrap().unwrap();
    let field = b"\"serializer\":\"json\"";
    let at = bytes.windows(field.len()).position(|w| w == field).unwrap();
    bytes[at..at + field.len()].copy_from_slice(b"\"serializer\":\"nope\"");
    storage.write(&key, &bytes).unwrap();
    let err = ResultRecord::<u8>::read_from(&storage, &key).unwrap_err();
    assert!(err.is_cache_miss() && err.is_corrupt(), "{err}");
    let Error::Corrupt { location, problem } = &err else { panic!("{err:?}") };
    assert_eq!(location, "memory://flow/unknown.rec");
    assert!(
        matches!(problem, Corruption::BadMetadata { reason } if reason.contains("unknown serializer `nope`")),
        "{problem:?}"
    );
    // Once registered, the same bytes read fine (the value is plain JSON).
    #[derive(Debug)]
    struct Nope;
    impl ValueSerializer for Nope {
        fn name(&self) -> &str {
            "nope"
        }
        fn serialize(&self, value: &dyn erased_serde::Serialize) -> Result<Vec<u8>, BoxError> {
            Ok(serde_json::to_vec(value)?)
        }
        fn deserialize(&self, bytes: &[u8], sink: &mut ValueSink<'_>) -> Result<(), BoxError> {
            Ok(sink.deserialize_from(&mut serde_json::Deserializer::from_slice(bytes))?)
        }
    }
    Serializer::custom(Nope).unwrap();
    let read = ResultRecord::<u8>::read_from(&storage, &key).unwrap().unwrap();
    assert_eq!((*read.value(), read.metadata().serializer().to_string()), (5, "nope".to_string()));
}

#[test]
fn a_custom_value_that_does_not_decode_is_undecodable() {
    let storage = MemoryStorage::new();
    let key = StorageKey::new("wrong-type").unwrap();
    ResultRecord::new(key.clone(), hex_json(), "text").write_to(&storage).unwrap();
    match ResultRecord::<u32>::read_from(&storage, &key) {
        Err(Error::Corrupt { problem: Corruption::UndecodableValue { reason }, .. }) => {
            assert!(reason.contains("hex-json"), "{reason}");
        }
        other => panic!("expected an undecodable value, got {other:?}"),
    }
    let bytes = ResultRecord::new(key, hex_json(), 1u8).to_bytes().unwrap();
    let err = ResultRecord::<String>::from_bytes(&bytes, chrono::Utc::now()).unwrap_err();
    assert!(err.is_cache_miss() && err.to_string().contains("<bytes>"), "{err}");
}
