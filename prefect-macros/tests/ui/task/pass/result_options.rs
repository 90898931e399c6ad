//! Every result and cache option of `#[task]` at once, and the descriptor they build.

use prefect::prelude::*;
use prefect::results::MemoryStorage;

#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct Page {
    url: String,
    body: String,
}

fn memory() -> MemoryStorage {
    MemoryStorage::new()
}

#[task(
    persist_result = true,
    result_storage = "results/pages",
    result_serializer = "zstd+json",
    result_storage_key = "{flow_name}/{task_name}/{parameters.url}-{date:%Y%m%d}.json",
    cache_key = input_hash(exclude = ["attempt"]) + flow_parameters + run_id,
    cache_expiration = "1d 12h",
    refresh_cache = false,
    target = "pages/{parameters[url]}-{map_index}",
)]
async fn fetch(url: String, attempt: u32) -> Result<Page, std::io::Error> {
    let _ = attempt;
    Ok(Page { body: String::new(), url })
}

#[task(result_storage = memory, result_serializer = "binary", cache_key = default, refresh_cache = true)]
fn sync_cached(n: u64) -> Vec<u64> {
    vec![n]
}

#[task(cache_key = task_source + run_id, persist_result = true)]
async fn per_run() -> u8 {
    1
}

// `none` and `persist_result = false` ask for nothing to be stored: no serde bound.
struct Handle;

#[task(cache_key = none, persist_result = false)]
async fn uncached() -> Handle {
    Handle
}

fn main() {
    let options = format!("{:?}", fetch::task().options());
    for part in [
        "persist: Some(true)",
        "serializer: Some(\"zstd+json\")",
        "policy: Some(\"inputs - attempt + task_source + flow_parameters + run_id\")",
        "expiration: Some(129600s)",
        "refresh: Some(false)",
        "target: Some(\"pages/{parameters[url]}-{map_index}\")",
        "storage_key: Some(\"{flow_name}/{task_name}/{parameters.url}-{date:%Y%m%d}.json\")",
    ] {
        assert!(options.contains(part), "{part} not in {options}");
    }
    let sync = format!("{:?}", sync_cached::task().options());
    assert!(sync.contains("policy: Some(\"inputs + task_source + run_id\")"), "{sync}");
    assert!(sync.contains("serializer: Some(\"postcard\")"), "{sync}");
    assert!(format!("{:?}", per_run::task().options()).contains("task_source + run_id"));
    assert!(format!("{:?}", uncached::task().options()).contains("policy: Some(\"none\")"));
    let _call: TaskCall<Page> = fetch("https://example.invalid".to_owned(), 1);
    let _call: TaskCall<Handle> = uncached();
}
