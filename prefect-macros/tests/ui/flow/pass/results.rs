//! A flow's result options: persistence, storage, serializer and a storage-key template
//! with flow placeholders and parameters.

use prefect::prelude::*;

fn storage() -> prefect::results::LocalStorage {
    prefect::results::LocalStorage::new("flow-results")
}

#[flow(persist_result = true, result_storage_key = "{flow_name}/{parameters.day}/{flow_run.id}.json")]
async fn etl(day: String, limit: u32) -> Result<Vec<String>, std::io::Error> {
    Ok(vec![day; limit as usize])
}

#[flow(result_storage = storage, result_serializer = "postcard", result_storage_key = "{today}/{parameters[n]}")]
fn sync_flow(n: u8) -> u8 {
    n
}

#[flow(result_storage = "out", result_serializer = "compressed/json")]
async fn stored() {}

// `persist_result = false` stores nothing, so any return type will do.
struct Handle;

#[flow(persist_result = false)]
async fn unstored() -> Handle {
    Handle
}

fn main() {
    let options = format!("{:?}", etl::flow().options());
    assert!(options.contains("persist: Some(true)"), "{options}");
    assert!(options.contains("storage_key: Some(\"{flow_name}/{parameters.day}/{flow_run.id}.json\")"), "{options}");
    assert!(!options.contains("source_hash: Some"), "{options}");
    assert!(format!("{:?}", sync_flow::flow().options()).contains("serializer: Some(\"postcard\")"));
    assert!(format!("{:?}", stored::flow().options()).contains("serializer: Some(\"zstd+json\")"));
    let _call: FlowCall<Vec<String>> = etl("mon".to_owned(), 2);
    let _call: FlowCall<Handle> = unstored();
}
