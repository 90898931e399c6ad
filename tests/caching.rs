//! Caching and persisted results as a user writes them: options in the
//! attributes, values stored in local files, served back as Cached.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use prefect::context::TaskRunContext;
use prefect::prelude::*;
use prefect::results::{self, CacheInputs, LocalStorage};

/// One storage directory for this test binary; each test uses its own
/// task names or inputs, so they do not see each other's records.
fn storage() -> LocalStorage {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    LocalStorage::new(DIR.get_or_init(|| tempfile::tempdir().unwrap()).path())
}

fn root() -> PathBuf {
    storage().root().to_path_buf()
}

static FETCHES: AtomicU32 = AtomicU32::new(0);
static COMPLETIONS: AtomicU32 = AtomicU32::new(0);

fn count_completion(_: &prefect::HookContext) {
    COMPLETIONS.fetch_add(1, Ordering::SeqCst);
}

#[task(cache_key = input_hash, cache_expiration = "1d", result_storage = storage, on_completion = [count_completion])]
async fn fetch(url: String, params: HashMap<String, u32>) -> Result<String, std::io::Error> {
    FETCHES.fetch_add(1, Ordering::SeqCst);
    Ok(format!("{url}?{}", params.len()))
}

#[flow]
async fn crawl(url: String) -> Result<Vec<String>, prefect::Error> {
    let a: HashMap<String, u32> = [("a".into(), 1), ("b".into(), 2), ("c".into(), 3)].into();
    // The same map built in another order: the same key.
    let b: HashMap<String, u32> = [("c".into(), 3), ("a".into(), 1), ("b".into(), 2)].into();
    let first = fetch(url.clone(), a).return_state().await;
    let second = fetch(url, b).return_state().await;
    Ok(vec![first.name().to_string(), second.name().to_string()])
}

#[tokio::test]
async fn input_hash_serves_identical_calls_across_flow_runs_and_hooks_still_fire() {
    let harness = prefect::testing::harness();
    let (fetches, completions) = (FETCHES.load(Ordering::SeqCst), COMPLETIONS.load(Ordering::SeqCst));
    let first = harness.run(crawl("https://example.com/a".into())).await.unwrap();
    let second = harness.run(crawl("https://example.com/a".into())).await.unwrap();
    assert_eq!(first, ["Completed", "Cached"], "map keys are hashed in sorted order");
    assert_eq!(second, ["Cached", "Cached"], "another flow run, same key");
    assert_eq!(FETCHES.load(Ordering::SeqCst) - fetches, 1);
    assert_eq!(COMPLETIONS.load(Ordering::SeqCst) - completions, 4, "on_completion fires on hits too");
    let hit =
        harness.task_runs_of("fetch").into_iter().find(|r| r.state().unwrap().name == "Cached").unwrap();
    assert_eq!(hit.state_names(), ["Pending", "Cached"], "a hit never runs");
    assert_eq!(hit.run_count, 0);
}

static V1: AtomicU32 = AtomicU32::new(0);
static V2: AtomicU32 = AtomicU32::new(0);

#[task(name = "versioned", cache_key = input_hash, result_storage = storage)]
async fn version_one(x: u32) -> u32 {
    V1.fetch_add(1, Ordering::SeqCst);
    x + 1
}

// The same task name and input with an edited body: its records differ.
#[task(name = "versioned", cache_key = input_hash, result_storage = storage)]
async fn version_two(x: u32) -> u32 {
    V2.fetch_add(1, Ordering::SeqCst);
    x + 2
}

#[tokio::test]
async fn editing_the_body_invalidates_the_cache() {
    let h = prefect::testing::harness();
    h.run(async {
        assert_eq!(version_one(1).await.unwrap(), 2);
        assert_eq!(version_one(1).return_state().await.name(), "Cached");
        assert_eq!(version_two(1).await.unwrap(), 3, "not the old body's value");
        assert_eq!((V1.load(Ordering::SeqCst), V2.load(Ordering::SeqCst)), (1, 1));
    })
    .await;
}

static STEPS: AtomicU32 = AtomicU32::new(0);

#[task]
async fn step(x: u32) -> u32 {
    STEPS.fetch_add(1, Ordering::SeqCst);
    x * 3
}

/// A flow that persists: its tasks inherit persistence and cache with the
/// default policy (inputs, source, flow run id).
#[flow(persist_result = true, result_storage = storage, result_storage_key = "flows/{flow_name}-{parameters.x}.json")]
async fn pipeline(x: u32) -> Result<(u32, String), prefect::Error> {
    let a = step(x).await?;
    let again = step(x).return_state().await;
    Ok((a, again.name().to_string()))
}

#[tokio::test]
async fn a_flow_persists_its_value_and_its_tasks_inherit_the_default_policy() {
    let h = prefect::testing::harness();
    h.run(async {
        let before = STEPS.load(Ordering::SeqCst);
        let (value, second) = pipeline(5).await.unwrap();
        assert_eq!((value, second.as_str()), (15, "Cached"), "identical calls in one flow run");
        let (_, next_run) = pipeline(5).await.unwrap();
        assert_eq!(next_run, "Cached");
        assert_eq!(
            STEPS.load(Ordering::SeqCst) - before,
            2,
            "once per flow run: the key includes the run id"
        );
        let stored: (u32, String) = results::load_from(&storage(), "flows/pipeline-5.json").unwrap();
        assert_eq!(stored, (15, "Cached".to_string()));
    })
    .await;
}

static LOOKUPS: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// One record per city, whatever the day; no caching for unknown cities.
fn by_city(ctx: &TaskRunContext, inputs: &CacheInputs) -> Option<String> {
    LOOKUPS.lock().unwrap().push(ctx.task_name().to_string());
    let city: String = inputs.parse("city")?;
    (city != "atlantis").then(|| format!("weather/{city}"))
}

#[task(cache_key = by_city, result_storage = storage)]
async fn weather(city: String, day: u32) -> String {
    format!("{city} on day {day}: sunny")
}

#[tokio::test]
async fn a_custom_key_function_decides_the_key() {
    let h = prefect::testing::harness();
    h.run(async {
        assert_eq!(weather("lyon".to_string(), 1).await.unwrap(), "lyon on day 1: sunny");
        let other_day = weather("lyon".to_string(), 2).return_state().await;
        assert_eq!(
            (other_day.name(), other_day.value().unwrap().as_str()),
            ("Cached", "lyon on day 1: sunny")
        );
        assert!(root().join("weather/lyon").is_file());
        assert_eq!(weather("atlantis".to_string(), 1).return_state().await.name(), "Completed");
        assert_eq!(
            weather("atlantis".to_string(), 1).return_state().await.name(),
            "Completed",
            "None: not cached"
        );
        assert!(LOOKUPS.lock().unwrap().iter().all(|name| name == "weather"));
    })
    .await;
}

static LOADS: AtomicU32 = AtomicU32::new(0);

/// Prefect 1's `target`: the file's existence is the cache.
#[task(target = "targets/{date:%A}/{task_name}-{parameters.table}.prefect", result_storage = storage)]
async fn load_table(table: String) -> u64 {
    LOADS.fetch_add(1, Ordering::SeqCst);
    table.len() as u64
}

#[tokio::test]
async fn target_caches_by_file_existence_with_prefect_1_date_forms() {
    let h = prefect::testing::harness();
    h.run(async {
        let before = LOADS.load(Ordering::SeqCst);
        assert_eq!(load_table("users".to_string()).await.unwrap(), 5);
        let day = chrono::Utc::now().format("%A").to_string();
        assert!(root().join(format!("targets/{day}/load_table-users.prefect")).is_file());
        assert_eq!(load_table("users".to_string()).return_state().await.name(), "Cached");
        assert_eq!(LOADS.load(Ordering::SeqCst) - before, 1);
    })
    .await;
}

#[task(persist_result = true, result_storage = storage, result_storage_key = "skips/{task_run.id}")]
async fn maybe_skip(skip: bool) -> Result<u32, prefect::Signal> {
    if skip { Err(prefect::Signal::skip("nothing to do")) } else { Ok(1) }
}

#[tokio::test]
async fn runs_without_a_value_store_nothing() {
    let h = prefect::testing::harness();
    h.run(async {
        let before = std::fs::read_dir(root().join("skips")).map(|d| d.count()).unwrap_or(0);
        let skipped = maybe_skip(true).return_state().await;
        assert_eq!(skipped.name(), "Skipped");
        let after = std::fs::read_dir(root().join("skips")).map(|d| d.count()).unwrap_or(0);
        assert_eq!(before, after);
        maybe_skip(false).await.unwrap();
        let written = std::fs::read_dir(root().join("skips")).map(|d| d.count()).unwrap_or(0);
        assert_eq!(written, after + 1);
    })
    .await;
}

/// An in-memory object store (S3, GCS and Azure plug in the same way).
fn object_storage() -> prefect_results::ObjectStoreStorage {
    static STORE: OnceLock<std::sync::Arc<object_store::memory::InMemory>> = OnceLock::new();
    let store = STORE.get_or_init(Default::default).clone();
    prefect_results::ObjectStoreStorage::new(store).with_prefix("results").unwrap()
}

#[task(cache_key = inputs, result_storage = object_storage, result_serializer = "zstd+json")]
async fn compressed(text: String) -> String {
    text.repeat(100)
}

#[tokio::test]
async fn values_go_to_object_stores_compressed() {
    let h = prefect::testing::harness();
    h.run(async {
        let first = compressed("abc".to_string()).await.unwrap();
        let second = compressed("abc".to_string()).return_state().await;
        assert_eq!((second.name(), second.value()), ("Cached", Some(&first)));
        let key = prefect::results::CachePolicy::inputs()
            .key_for(prefect::results::TaskIdentity::new("compressed"))
            .input("text", "abc")
            .finish()
            .unwrap();
        let record: prefect::results::ResultRecord<String> =
            prefect::results::ResultRecord::read_from(&object_storage(), &key.storage_key())
                .unwrap()
                .unwrap();
        assert_eq!(record.metadata().serializer().to_string(), "zstd+json");
        assert_eq!(record.metadata().task_key(), Some("compressed"));
        assert_eq!(record.into_value(), first);
    })
    .await;
}

static SUMMARIES: AtomicU32 = AtomicU32::new(0);

/// Keyed by the flow run's parameters, not the task's own input.
#[task(cache_key = flow_parameters + task_source, result_storage = storage)]
async fn summary(rows: u32) -> u32 {
    SUMMARIES.fetch_add(1, Ordering::SeqCst);
    rows
}

#[flow]
async fn nightly(day: String, rows: u32) -> Result<String, prefect::Error> {
    let _ = day;
    Ok(summary(rows).return_state().await.name().to_string())
}

#[tokio::test]
async fn flow_parameters_key_tasks_by_their_flow_runs_parameters() {
    let h = prefect::testing::harness();
    h.run(async {
        let before = SUMMARIES.load(Ordering::SeqCst);
        assert_eq!(nightly("mon".into(), 1).await.unwrap(), "Completed");
        assert_eq!(nightly("mon".into(), 1).await.unwrap(), "Cached");
        assert_eq!(nightly("tue".into(), 1).await.unwrap(), "Completed", "other parameters: another key");
        assert_eq!(SUMMARIES.load(Ordering::SeqCst) - before, 2);
    })
    .await;
}

#[task(persist_result = true, result_storage = storage, result_storage_key = "mapped/{task_name}-{map_index}.json")]
async fn part(x: u32) -> u32 {
    x * 10
}

#[tokio::test]
async fn mapped_runs_render_their_map_index() {
    let h = prefect::testing::harness();
    h.run(async {
        let values: Vec<u32> = part::map(vec![1, 2, 3]).await.into_iter().map(Result::unwrap).collect();
        assert_eq!(values, [10, 20, 30]);
        for (i, v) in values.iter().enumerate() {
            let stored: u32 = results::load_from(&storage(), &format!("mapped/part-{i}.json")).unwrap();
            assert_eq!(stored, *v);
        }
    })
    .await;
}

fn nan_storage() -> Arc<prefect::results::MemoryStorage> {
    static SHARED: std::sync::OnceLock<Arc<prefect::results::MemoryStorage>> = std::sync::OnceLock::new();
    SHARED.get_or_init(Default::default).clone()
}

#[task(cache_key = input_hash, result_storage = nan_storage)]
async fn ratio(a: f64, b: f64) -> f64 {
    a / b
}

#[tokio::test]
async fn a_nan_input_and_value_are_hashed_and_stored_faithfully() {
    let harness = prefect::testing::harness();
    let first = harness.run(ratio(0.0, 0.0)).await.unwrap();
    assert!(first.is_nan());
    let again = harness.run(ratio(0.0, 0.0).return_state()).await;
    assert_eq!(again.name(), "Cached", "served from the record, not lost as null");
    assert!(again.value().unwrap().is_nan());
    // NaN as an input keys like any value: the same NaN hits.
    let nan_in = harness.run(ratio(f64::NAN, 1.0)).await.unwrap();
    assert!(nan_in.is_nan());
    assert_eq!(harness.run(ratio(f64::NAN, 1.0).return_state()).await.name(), "Cached");
}

#[tokio::test]
async fn a_key_function_over_a_policy_is_said_once() {
    use prefect::results::{CachePolicy, MemoryStorage};
    let harness = prefect::testing::harness();
    let storage = Arc::new(MemoryStorage::new());
    let task = prefect::Task::new("overridden-key")
        .cache_policy(CachePolicy::inputs())
        .cache_key_fn(|_, _| Some("fixed".to_string()))
        .result_storage(storage);
    for _ in 0..3 {
        let call = prefect::task_call(task.clone(), || async { Ok::<_, std::io::Error>(1u8) }).cacheable();
        harness.run(call).await.unwrap();
    }
    let said =
        harness.all_logs().into_iter().filter(|l| l.message.contains("its cache policy is not used")).count();
    assert_eq!(said, 1);
}
