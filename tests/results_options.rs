//! Persistence and caching set through the builder options at run time
//! (`with_options`, hand-built tasks): the engine side, whatever the
//! attribute said.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use prefect::prelude::*;
use prefect::record::LogLevel;
use prefect::results::{self, CachePolicy, LocalStorage, MemoryStorage, ResultStorage, StorageKey};

/// Counts body executions per test (each test uses its own counter).
static SQUARES: AtomicU32 = AtomicU32::new(0);

#[task]
async fn square(x: u64) -> u64 {
    SQUARES.fetch_add(1, Ordering::SeqCst);
    x * x
}

fn cached_square(storage: &Arc<MemoryStorage>) -> impl Fn(prefect::Task) -> prefect::Task + '_ {
    move |t| t.cache_policy(CachePolicy::inputs().and_task_source()).result_storage(storage.clone())
}

#[tokio::test]
async fn a_second_call_with_the_same_input_is_served_from_the_record() {
    let harness = prefect::testing::harness();
    let storage = Arc::new(MemoryStorage::new());
    let before = SQUARES.load(Ordering::SeqCst);
    let (a, b, c) = harness
        .run(async {
            let a = square(7).with_options(cached_square(&storage)).await.unwrap();
            let b = square(7).with_options(cached_square(&storage)).return_state().await;
            let c = square(8).with_options(cached_square(&storage)).await.unwrap();
            (a, b, c)
        })
        .await;
    assert_eq!(a, 49);
    assert_eq!(b.name(), "Cached");
    assert_eq!(b.state_type(), StateType::Completed);
    assert_eq!(b.value(), Some(&49));
    assert_eq!(c, 64);
    assert_eq!(SQUARES.load(Ordering::SeqCst) - before, 2, "7 ran once, 8 once");
    assert_eq!(storage.len(), 2);
    let runs = harness.task_runs_of("square");
    let names: Vec<Vec<&str>> = runs.iter().map(|r| r.state_names()).collect();
    assert!(names.contains(&vec!["Pending", "Cached"]), "{names:?}");
}

#[task]
async fn cached_hello(name: String) -> String {
    format!("hello {name}")
}

#[tokio::test]
async fn a_hand_built_call_persists_under_a_template_and_loads_back() {
    let h = prefect::testing::harness();
    h.run(async {
        let dir = tempfile::tempdir().unwrap();
        let storage = LocalStorage::new(dir.path());
        let state = cached_hello("ada".to_string())
            .with_options(|t| {
                t.result_storage(storage.clone()).result_storage_key("greetings/{parameters.name}.json")
            })
            .return_state()
            .await;
        assert!(state.is_completed(), "{state}");
        assert!(dir.path().join("greetings/ada.json").is_file());
        let value: String = results::load_from(&storage, "greetings/ada.json").unwrap();
        assert_eq!(value, "hello ada");
        let missing = results::load_from::<String>(&storage, "greetings/bob.json").unwrap_err();
        assert!(matches!(missing, prefect::Error::NoResult { .. }), "{missing}");
    })
    .await;
}

#[tokio::test]
async fn garbage_in_a_record_is_a_logged_miss_and_gets_overwritten() {
    let harness = prefect::testing::harness();
    let dir = tempfile::tempdir().unwrap();
    let storage = LocalStorage::new(dir.path());
    let key = "sq/3.json";
    std::fs::create_dir_all(dir.path().join("sq")).unwrap();
    std::fs::write(dir.path().join(key), b"this is not a record").unwrap();
    let opts = |t: prefect::Task| {
        t.cache_policy(CachePolicy::inputs())
            .result_storage(storage.clone())
            .result_storage_key("sq/{parameters.x}.json")
    };
    let first = harness.run(square(3).with_options(opts).return_state()).await;
    assert_eq!(first.name(), "Completed");
    assert_eq!(first.value(), Some(&9));
    let warnings: Vec<String> =
        harness.all_logs().into_iter().filter(|l| l.level == LogLevel::Warning).map(|l| l.message).collect();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(warnings[0].contains(&dir.path().join(key).display().to_string()), "{warnings:?}");
    let second = harness.run(square(3).with_options(opts).return_state()).await;
    assert_eq!(second.name(), "Cached", "the garbage was replaced by a record");
}

#[tokio::test]
async fn records_expire() {
    let h = prefect::testing::harness();
    h.run(async {
        let storage = Arc::new(MemoryStorage::new());
        let opts = |t: prefect::Task| {
            t.cache_policy(CachePolicy::inputs())
                .cache_expiration(Duration::from_millis(200))
                .result_storage(storage.clone())
        };
        assert!(square(11).with_options(opts).return_state().await.is_completed());
        assert_eq!(square(11).with_options(opts).return_state().await.name(), "Cached");
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(
            square(11).with_options(opts).return_state().await.name(),
            "Completed",
            "expired: ran again"
        );
    })
    .await;
}

#[tokio::test]
async fn refresh_cache_runs_and_overwrites() {
    let h = prefect::testing::harness();
    h.run(async {
        let storage = Arc::new(MemoryStorage::new());
        let opts = |t: prefect::Task| t.cache_policy(CachePolicy::inputs()).result_storage(storage.clone());
        assert!(square(12).with_options(opts).await.is_ok());
        let refreshed = square(12).with_options(|t| opts(t).refresh_cache(true)).return_state().await;
        assert_eq!(refreshed.name(), "Completed");
        assert_eq!(square(12).with_options(opts).return_state().await.name(), "Cached");
    })
    .await;
}

static SLOW: AtomicU32 = AtomicU32::new(0);

#[task]
async fn slow_double(x: u32) -> u32 {
    SLOW.fetch_add(1, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(100)).await;
    x * 2
}

#[flow]
async fn concurrent_same_key(storage: Arc<MemoryStorage>) -> Result<Vec<String>, prefect::Error> {
    let opts = |t: prefect::Task| t.cache_policy(CachePolicy::inputs()).result_storage(storage.clone());
    let a = slow_double(21).with_options(opts).submit();
    let b = slow_double(21).with_options(opts).submit();
    let c = slow_double(21).with_options(opts).submit();
    let mut names = Vec::new();
    for f in [a, b, c] {
        let state = f.final_state().await?;
        assert_eq!(state.value(), Some(&42));
        names.push(state.name().to_string());
    }
    names.sort();
    Ok(names)
}

#[tokio::test]
async fn concurrent_runs_with_one_key_compute_once() {
    let h = prefect::testing::harness();
    h.run(async {
        let before = SLOW.load(Ordering::SeqCst);
        let names = concurrent_same_key(Arc::new(MemoryStorage::new())).await.unwrap();
        assert_eq!(SLOW.load(Ordering::SeqCst) - before, 1);
        assert_eq!(names, ["Cached", "Cached", "Completed"]);
    })
    .await;
}

#[derive(Clone)]
struct Client;

#[task]
async fn fetch_with(client: Client, id: u32) -> u32 {
    let _ = client;
    id + 1
}

#[tokio::test]
async fn an_unhashable_input_means_no_caching_with_one_warning() {
    let harness = prefect::testing::harness();
    let storage = Arc::new(MemoryStorage::new());
    let opts = |t: prefect::Task| t.cache_policy(CachePolicy::inputs()).result_storage(storage.clone());
    let first = harness.run(fetch_with(Client, 1).with_options(opts).return_state()).await;
    let second = harness.run(fetch_with(Client, 1).with_options(opts).return_state()).await;
    assert_eq!((first.name(), second.name()), ("Completed", "Completed"));
    let warnings: Vec<String> = harness
        .all_logs()
        .into_iter()
        .filter(|l| l.message.contains("Not cached"))
        .map(|l| l.message)
        .collect();
    assert_eq!(warnings.len(), 2, "one per call: {warnings:?}");
    assert!(warnings[0].contains("`client`"), "{warnings:?}");
    assert!(
        warnings[0].contains(r#"cache_key = input_hash(exclude = ["client"])"#)
            && warnings[0].contains("cache_key = my_key_fn"),
        "the warning says how to cache anyway: {warnings:?}"
    );

    // Excluding the client makes the call cacheable.
    let excluded = |t: prefect::Task| {
        t.cache_policy(CachePolicy::inputs().exclude(["client"])).result_storage(storage.clone())
    };
    assert!(harness.run(fetch_with(Client, 1).with_options(excluded).return_state()).await.is_completed());
    assert_eq!(
        harness.run(fetch_with(Client, 1).with_options(excluded).return_state()).await.name(),
        "Cached"
    );
}

#[tokio::test]
async fn a_failed_write_leaves_the_run_completed_and_the_next_call_misses() {
    let harness = prefect::testing::harness();
    let dir = tempfile::tempdir().unwrap();
    // The storage root is a file: no record can be written under it.
    let root = dir.path().join("not-a-dir");
    std::fs::write(&root, b"").unwrap();
    let storage = LocalStorage::new(&root);
    let opts = |t: prefect::Task| t.cache_policy(CachePolicy::inputs()).result_storage(storage.clone());
    let first = harness.run(square(5).with_options(opts).return_state()).await;
    assert_eq!(first.name(), "Completed");
    assert_eq!(first.value(), Some(&25));
    let errors: Vec<String> = harness
        .all_logs()
        .into_iter()
        .filter(|l| l.message.starts_with("Failed to persist"))
        .map(|l| l.message)
        .collect();
    assert_eq!(errors.len(), 1, "{errors:?}");
    let second = harness.run(square(5).with_options(opts).return_state()).await;
    assert_eq!(second.name(), "Completed", "nothing was stored: a miss");
}

#[tokio::test]
async fn target_serves_an_existing_record_without_running() {
    let h = prefect::testing::harness();
    h.run(async {
        let storage = Arc::new(MemoryStorage::new());
        let before = SQUARES.load(Ordering::SeqCst);
        let opts =
            |t: prefect::Task| t.target("targets/{task_name}-{parameters.x}").result_storage(storage.clone());
        assert!(square(4).with_options(opts).return_state().await.is_completed());
        assert!(storage.exists(&StorageKey::new("targets/square-4").unwrap()).unwrap());
        let second = square(4).with_options(opts).return_state().await;
        assert_eq!((second.name(), second.value()), ("Cached", Some(&16)));
        assert_eq!(SQUARES.load(Ordering::SeqCst) - before, 1);
    })
    .await;
}

#[tokio::test]
async fn keys_are_pinned_so_every_machine_and_version_finds_the_same_records() {
    let h = prefect::testing::harness();
    h.run(async {
        let storage = Arc::new(MemoryStorage::new());
        let opts = |t: prefect::Task| {
            t.source_hash("0123456789abcdef")
                .cache_policy(CachePolicy::inputs().and_task_source())
                .result_storage(storage.clone())
        };
        square(6).with_options(opts).await.unwrap();
        let keys: Vec<String> = storage.keys().iter().map(|k| k.to_string()).collect();
        assert_eq!(keys, ["2c1c84539b75ccaad9ea533fbf529474ef78f737b337091f6f631dfb96f902d4"]);
    })
    .await;
}

#[tokio::test]
async fn truncated_and_other_version_records_are_misses_never_wrong_values() {
    let h = prefect::testing::harness();
    h.run(async {
        let dir = tempfile::tempdir().unwrap();
        let storage = LocalStorage::new(dir.path());
        let opts = |t: prefect::Task| {
            t.cache_policy(CachePolicy::inputs())
                .result_storage(storage.clone())
                .result_storage_key("sq/{parameters.x}")
        };
        let path = dir.path().join("sq/13");
        assert!(square(13).with_options(opts).return_state().await.is_completed());
        let good = std::fs::read(&path).unwrap();

        std::fs::write(&path, &good[..good.len() - 1]).unwrap(); // truncated by one byte
        // This process keeps the record it wrote: the file is not read.
        let state = square(13).with_options(opts).return_state().await;
        assert_eq!((state.name(), state.value()), ("Cached", Some(&169)));
        // A process that reads the file finds it unusable and computes again.
        prefect::testing::forget_records_in_memory();
        let state = square(13).with_options(opts).return_state().await;
        assert_eq!((state.name(), state.value()), ("Completed", Some(&169)));

        let mut other_version = good.clone();
        other_version[8] = other_version[8].wrapping_add(1); // the format version, after the magic
        std::fs::write(&path, &other_version).unwrap();
        prefect::testing::forget_records_in_memory();
        let state = square(13).with_options(opts).return_state().await;
        assert_eq!((state.name(), state.value()), ("Completed", Some(&169)));

        let mut flipped = good;
        let last = flipped.len() - 1;
        flipped[last] ^= 0x01; // a flipped value byte: caught by the checksum
        std::fs::write(&path, &flipped).unwrap();
        prefect::testing::forget_records_in_memory();
        let state = square(13).with_options(opts).return_state().await;
        assert_eq!((state.name(), state.value()), ("Completed", Some(&169)));
        assert_eq!(
            square(13).with_options(opts).return_state().await.name(),
            "Cached",
            "rewritten each time"
        );
    })
    .await;
}

/// A format of the user's own: JSON with a version prefix.
#[derive(Debug)]
struct Tagged;

impl prefect::results::ValueSerializer for Tagged {
    fn name(&self) -> &str {
        "tagged-json"
    }

    fn serialize(
        &self,
        value: &dyn prefect::results::erased_serde::Serialize,
    ) -> Result<Vec<u8>, prefect::BoxError> {
        let mut out = b"v1:".to_vec();
        out.extend(serde_json::to_vec(value)?);
        Ok(out)
    }

    fn deserialize(
        &self,
        bytes: &[u8],
        sink: &mut prefect::results::ValueSink<'_>,
    ) -> Result<(), prefect::BoxError> {
        let body = bytes.strip_prefix(b"v1:").ok_or("missing the v1: prefix")?;
        sink.deserialize_from(&mut serde_json::Deserializer::from_slice(body))?;
        Ok(())
    }
}

#[tokio::test]
async fn a_custom_serializer_stores_and_serves_task_values() {
    let h = prefect::testing::harness();
    h.run(async {
        let dir = tempfile::tempdir().unwrap();
        let storage = LocalStorage::new(dir.path());
        let tagged = prefect::results::Serializer::custom(Tagged).unwrap();
        let opts = |t: prefect::Task| {
            t.cache_policy(CachePolicy::inputs())
                .result_storage(storage.clone())
                .result_serializer(tagged)
                .result_storage_key("tagged/{parameters.x}")
        };
        assert!(square(21).with_options(opts).return_state().await.is_completed());
        let bytes = std::fs::read(dir.path().join("tagged/21")).unwrap();
        assert!(bytes.windows(6).any(|w| w == b"v1:441"), "the value is in the custom format");
        let again = square(21).with_options(opts).return_state().await;
        assert_eq!((again.name(), again.value()), ("Cached", Some(&441)));
    })
    .await;
}

fn shared_location() -> Arc<MemoryStorage> {
    static SHARED: std::sync::OnceLock<Arc<MemoryStorage>> = std::sync::OnceLock::new();
    SHARED.get_or_init(Default::default).clone()
}

/// Prefect 1's LocalResult location: one file per task, whatever the inputs.
#[task(result_storage_key = "{task_name}.prefect", result_storage = shared_location)]
async fn weekday_report(day: u32) -> u32 {
    day * 100
}

#[task(cache_key = input_hash, result_storage_key = "cached-{task_name}.prefect", result_storage = shared_location)]
async fn cached_report(day: u32) -> u32 {
    day * 100
}

#[tokio::test]
async fn a_storage_key_decides_where_a_value_goes_not_whether_it_is_served() {
    let harness = prefect::testing::harness();
    assert_eq!(harness.run(weekday_report(1)).await.unwrap(), 100);
    let second = harness.run(weekday_report(2).return_state()).await;
    assert_eq!((second.name(), second.value()), ("Completed", Some(&200)), "not another input's value");
    let stored: u32 = prefect::results::load_from(&*shared_location(), "weekday_report.prefect").unwrap();
    assert_eq!(stored, 200, "the location holds the last value");

    // With a cache option it is served, but only for the inputs it holds.
    assert_eq!(harness.run(cached_report(1)).await.unwrap(), 100);
    let other = harness.run(cached_report(2).return_state()).await;
    assert_eq!((other.name(), other.value()), ("Completed", Some(&200)));
    let same = harness.run(cached_report(2).return_state()).await;
    assert_eq!((same.name(), same.value()), ("Cached", Some(&200)));
    let warned = harness
        .all_logs()
        .into_iter()
        .filter(|l| l.message.contains("no {parameters.x} placeholder"))
        .count();
    assert_eq!(warned, 1, "the shared location is said once");
}
