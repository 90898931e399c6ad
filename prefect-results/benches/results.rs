//! `cargo bench -p prefect-results --bench results`
//!
//! - `cache_hit_read`: reading and decoding a record with a ~1 KB value from
//!   local files (what a cache hit costs the engine), per serializer;
//! - `write_record`: writing such a record atomically (temp file, fsync,
//!   rename); the items/s column is records per second;
//! - `cache_key`: computing a call's key with the default policy for a ~1 KB
//!   input (a struct, and a 40-entry map whose entries must be sorted).
//! - `*_custom`: the same record through a user `ValueSerializer` (the
//!   built-in encodings registered under other names), i.e. through
//!   type erasure; compare with the built-in rows for its cost.

use std::collections::HashMap;

use divan::counter::ItemsCount;
use divan::{Bencher, black_box};
use prefect_results::{
    BoxError, CacheKey, CachePolicy, JsonSerializer, LocalStorage, MemoryStorage, PostcardSerializer,
    ResultRecord, ResultStorage, Serializer, StorageKey, TaskIdentity, ValueSerializer, ValueSink,
    erased_serde,
};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Payload {
    id: u64,
    name: String,
    values: Vec<u32>,
}

/// About 1 KB as JSON.
fn payload() -> Payload {
    Payload { id: 7, name: "x".repeat(200), values: (0..160).map(|i| (i * 7919) % 10_000).collect() }
}

/// About 1 KB of map entries.
fn map_input() -> HashMap<String, u64> {
    (0..40).map(|i| (format!("parameter_{i:02}"), i * 1_000_003)).collect()
}

fn main() {
    let json = serde_json::to_vec(&payload()).unwrap().len();
    let map = serde_json::to_vec(&map_input()).unwrap().len();
    println!("payload: {json} bytes as JSON; map input: {map} bytes as JSON");
    divan::main();
}

const SERIALIZERS: [Serializer; 2] = [Serializer::JSON, Serializer::POSTCARD];

fn stored(storage: &dyn ResultStorage, serializer: Serializer) -> StorageKey {
    let key = CacheKey::of(&serializer.to_string()).unwrap();
    ResultRecord::for_cache_key(key, serializer, payload()).write_to(storage).unwrap();
    key.storage_key()
}

#[divan::bench(args = SERIALIZERS)]
fn cache_hit_read(bencher: Bencher, serializer: Serializer) {
    let dir = tempfile::tempdir().unwrap();
    let storage = LocalStorage::new(dir.path());
    let key = stored(&storage, serializer);
    bencher.bench_local(|| ResultRecord::<Payload>::read_from(&storage, black_box(&key)).unwrap().unwrap());
}

#[divan::bench(args = SERIALIZERS)]
fn cache_hit_read_memory(bencher: Bencher, serializer: Serializer) {
    let storage = MemoryStorage::new();
    let key = stored(&storage, serializer);
    bencher.bench_local(|| ResultRecord::<Payload>::read_from(&storage, black_box(&key)).unwrap().unwrap());
}

#[divan::bench]
fn cache_miss_local(bencher: Bencher) {
    let dir = tempfile::tempdir().unwrap();
    let storage = LocalStorage::new(dir.path());
    let key = CacheKey::of(&"absent").unwrap().storage_key();
    bencher.bench_local(|| ResultRecord::<Payload>::read_from(&storage, black_box(&key)).unwrap());
}

#[divan::bench(args = SERIALIZERS, sample_count = 40, sample_size = 5)]
fn write_record(bencher: Bencher, serializer: Serializer) {
    let dir = tempfile::tempdir().unwrap();
    let storage = LocalStorage::new(dir.path());
    let record = ResultRecord::new(StorageKey::new("bench/record").unwrap(), serializer, payload());
    bencher.counter(ItemsCount::new(1usize)).bench_local(|| record.write_to(&storage).unwrap());
}

#[divan::bench(args = SERIALIZERS)]
fn encode_record(bencher: Bencher, serializer: Serializer) {
    let record = ResultRecord::new(StorageKey::new("bench/record").unwrap(), serializer, payload());
    bencher.bench_local(|| black_box(&record).to_bytes().unwrap());
}

/// A built-in encoding under another name: what a user encoding costs.
#[derive(Debug)]
struct Custom<S>(&'static str, S);

impl<S: ValueSerializer> ValueSerializer for Custom<S> {
    fn name(&self) -> &str {
        self.0
    }

    fn serialize(&self, value: &dyn erased_serde::Serialize) -> Result<Vec<u8>, BoxError> {
        self.1.serialize(value)
    }

    fn deserialize(&self, bytes: &[u8], sink: &mut ValueSink<'_>) -> Result<(), BoxError> {
        self.1.deserialize(bytes, sink)
    }
}

/// `json` or `postcard`, through type erasure.
fn custom(format: &str) -> Serializer {
    match format {
        "json" => Serializer::custom(Custom("custom-json", JsonSerializer)),
        _ => Serializer::custom(Custom("custom-postcard", PostcardSerializer)),
    }
    .unwrap()
}

#[divan::bench(args = ["json", "postcard"])]
fn cache_hit_read_memory_custom(bencher: Bencher, format: &str) {
    let storage = MemoryStorage::new();
    let key = stored(&storage, custom(format));
    bencher.bench_local(|| ResultRecord::<Payload>::read_from(&storage, black_box(&key)).unwrap().unwrap());
}

#[divan::bench(args = ["json", "postcard"])]
fn encode_record_custom(bencher: Bencher, format: &str) {
    let record = ResultRecord::new(StorageKey::new("bench/record").unwrap(), custom(format), payload());
    bencher.bench_local(|| black_box(&record).to_bytes().unwrap());
}

#[divan::bench]
fn cache_key_struct(bencher: Bencher) {
    let input = payload();
    let task = TaskIdentity::new("fetch").with_source_hash("0123456789abcdef");
    bencher.bench_local(|| {
        CachePolicy::DEFAULT
            .key_for(task)
            .input("payload", black_box(&input))
            .run_id("0190a0b0-0000-7000-8000-000000000000")
            .finish()
            .unwrap()
    });
}

#[divan::bench]
fn cache_key_map(bencher: Bencher) {
    let input = map_input();
    let task = TaskIdentity::new("fetch").with_source_hash("0123456789abcdef");
    bencher.bench_local(|| {
        CachePolicy::DEFAULT
            .key_for(task)
            .input("params", black_box(&input))
            .run_id("0190a0b0-0000-7000-8000-000000000000")
            .finish()
            .unwrap()
    });
}
