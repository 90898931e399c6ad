//! Where a run's value is kept is recorded with the run: the run database
//! names the record a task or flow wrote, and the record a cache hit read,
//! with its cache key (what the UI's Results tab and task run page show).

use std::sync::Arc;

use prefect::RunId;
use prefect::prelude::*;
use prefect::results::LocalStorage;
use prefect::store::prelude::*;
use prefect::store::{FlowRunFilter, RecorderOptions, SqliteStore};

#[task(cache_key = input_hash)]
async fn double(x: u64) -> u64 {
    x * 2
}

/// Tasks inherit the flow's `persist_result = true`; this one opts out.
#[task(persist_result = false)]
async fn plus_one(x: u64) -> u64 {
    x + 1
}

#[flow(persist_result = true, result_storage_key = "flows/pipeline-{parameters.x}.json")]
async fn pipeline(x: u64) -> Result<u64, prefect::Error> {
    let doubled = double(x).await?;
    plus_one(doubled).await
}

#[tokio::test]
async fn the_database_names_each_record_a_run_wrote_or_read() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteStore::open(dir.path().join("prefect.db")).unwrap());
    let recorder = Arc::new(RecorderOptions::default().start(store.clone()).unwrap());
    let results = dir.path().join("results");
    let env =
        prefect::env::Env::new().recorder(recorder).result_storage(Arc::new(LocalStorage::new(&results)));
    assert_eq!(env.run(pipeline(20)).await.unwrap(), 41);
    assert_eq!(env.run(pipeline(20)).await.unwrap(), 41);

    // Newest first: the second run is the one served from the cache.
    let runs = store.list_flow_runs(&FlowRunFilter::new()).await.unwrap();
    let [second, first] = &runs[..] else { panic!("two flow runs, got {runs:?}") };
    for (run, from_cache) in [(first, false), (second, true)] {
        let detail = store.inspect_flow_run(run.id, 100).await.unwrap();
        let doubled = detail.task_runs.iter().find(|t| t.task_name == "double").unwrap();
        let plus_one = detail.task_runs.iter().find(|t| t.task_name == "plus_one").unwrap();
        assert_eq!(doubled.state.as_ref().unwrap().name, if from_cache { "Cached" } else { "Completed" });
        let kept: Vec<(RunId, bool)> = detail.results.iter().map(|r| (r.run, r.from_cache)).collect();
        // The task's record, then the flow's own (written when it ends);
        // the task that opted out persists nothing.
        assert_eq!(kept, [(RunId::Task(doubled.id), from_cache), (RunId::Flow(run.id), false)]);

        let task = store.inspect_task_run(doubled.id).await.unwrap().result.expect("its record");
        let key = task.cache_key.clone().expect("cached by input hash");
        assert_eq!(key.len(), 64, "a BLAKE3 key in hex: {key}");
        assert!(task.location.starts_with(results.to_str().unwrap()), "{}", task.location);
        assert!(std::path::Path::new(&task.location).is_file(), "the record is where it says");
        assert_eq!(task.flow_run_id, Some(run.id));
        assert_eq!(store.inspect_task_run(plus_one.id).await.unwrap().result, None);

        let own = detail.results.last().unwrap();
        assert!(own.location.ends_with("flows/pipeline-20.json"), "{}", own.location);
        assert_eq!(own.cache_key, None, "a storage key, not a cache key");
    }
    // Both runs name the same record.
    let locations: Vec<String> = [first, second]
        .iter()
        .map(|r| {
            futures::executor::block_on(store.inspect_flow_run(r.id, 100)).unwrap().results[0]
                .location
                .clone()
        })
        .collect();
    assert_eq!(locations[0], locations[1]);
}
