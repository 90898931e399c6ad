//! Every serializer through every built-in storage, as the engine would use them.

use std::collections::BTreeMap;
use std::sync::Arc;

use prefect_results::{
    CachePolicy, LocalStorage, MemoryStorage, ResultRecord, ResultStorage, Serializer, StorageKey,
    TaskIdentity,
};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Report {
    title: String,
    rows: Vec<(u32, f64)>,
    tags: BTreeMap<String, bool>,
    note: Option<String>,
}

fn report() -> Report {
    Report {
        title: "daily ✓".into(),
        rows: (0..100).map(|i| (i, f64::from(i) / 3.0)).collect(),
        tags: [("a".to_string(), true), ("b".to_string(), false)].into(),
        note: None,
    }
}

fn serializers() -> Vec<Serializer> {
    let mut all = vec![Serializer::JSON, Serializer::POSTCARD];
    if cfg!(feature = "zstd") {
        all.extend([Serializer::JSON.compressed(), Serializer::POSTCARD.compressed()]);
    }
    all
}

fn storages(dir: &std::path::Path) -> Vec<Arc<dyn ResultStorage>> {
    vec![Arc::new(LocalStorage::new(dir)), Arc::new(MemoryStorage::new())]
}

#[test]
fn every_serializer_in_every_storage() {
    let dir = tempfile::tempdir().unwrap();
    for storage in storages(dir.path()) {
        for serializer in serializers() {
            let key = StorageKey::new(format!("reports/{serializer}.rec")).unwrap();
            let record = ResultRecord::new(key.clone(), serializer, report());
            record.write_to(&*storage).unwrap();
            let read = ResultRecord::<Report>::read_from(&*storage, &key).unwrap().unwrap();
            assert_eq!(read, record, "{serializer} in {storage:?}");
            assert_eq!(read.metadata().serializer().to_string(), serializer.to_string());
        }
    }
}

#[test]
fn a_cache_miss_then_a_hit() {
    let dir = tempfile::tempdir().unwrap();
    let storage: Arc<dyn ResultStorage> = Arc::new(LocalStorage::new(dir.path()));
    let policy = CachePolicy::DEFAULT;
    let key_of = |x: u32| {
        policy
            .key_for(TaskIdentity::new("square").with_source_hash("v1"))
            .input("x", &x)
            .run_id("run-1")
            .finish()
            .unwrap()
    };
    let key = key_of(4);
    assert!(ResultRecord::<u32>::read_from(&*storage, &key.storage_key()).unwrap().is_none());
    ResultRecord::for_cache_key(key, Serializer::POSTCARD, 16u32).write_to(&*storage).unwrap();
    let hit = ResultRecord::<u32>::read_from(&*storage, &key_of(4).storage_key()).unwrap().unwrap();
    assert_eq!((*hit.value(), hit.metadata().cache_key()), (16, Some(&key)));
    assert!(ResultRecord::<u32>::read_from(&*storage, &key_of(5).storage_key()).unwrap().is_none());
}

#[test]
fn file_existence_caching_like_prefect_1_target() {
    use chrono::Utc;
    use prefect_results::{KeyContext, KeyTemplate};

    let dir = tempfile::tempdir().unwrap();
    let storage = LocalStorage::new(dir.path());
    let target = KeyTemplate::parse("{flow_name}/{task_name}-{today}.json").unwrap();
    let ctx = KeyContext::new(Utc::now()).flow_name("etl").task_name("extract");
    let key = target.render(&ctx).unwrap();
    assert!(!storage.exists(&key).unwrap());
    ResultRecord::new(key.clone(), Serializer::JSON, "rows").write_to(&storage).unwrap();
    assert!(storage.exists(&key).unwrap());
    assert!(storage.path_of(&key).starts_with(dir.path().join("etl")));
}
