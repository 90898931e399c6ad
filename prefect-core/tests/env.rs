//! Scoped overrides of the process globals: two scopes in one process run
//! with their own settings, limits and storage, side by side.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use prefect_core::concurrency::{self, ConcurrencyLimits};
use prefect_core::env::Env;
use prefect_core::record::MemoryRecorder;
use prefect_core::results::{CachePolicy, MemoryStorage, ResultStorage, StorageKey};
use prefect_core::settings::Settings;
use prefect_core::{Task, task_call};

type Io = std::io::Error;

#[tokio::test]
async fn scoped_settings_give_default_retries_to_that_scope_only() {
    let mut generous = Settings::defaults("/nonexistent/prefect-home");
    generous.tasks_default_retries = 3;
    let failing = || {
        let n = Arc::new(AtomicU32::new(0));
        let seen = n.clone();
        (
            n,
            task_call(Task::new("flaky"), move || {
                seen.fetch_add(1, Ordering::SeqCst);
                async { Err::<(), _>(Io::other("no")) }
            }),
        )
    };
    let recorder = Arc::new(MemoryRecorder::new());
    let (scoped, call) = failing();
    let _ = Env::new().recorder(recorder.clone()).settings(generous).run(call).await;
    let (plain, call) = failing();
    let _ = Env::new().recorder(recorder).run(call).await;
    assert_eq!(scoped.load(Ordering::SeqCst), 4, "1 + 3 default retries");
    assert_eq!(plain.load(Ordering::SeqCst), 1, "the process's default of 0 retries");
}

#[tokio::test]
async fn scoped_limits_are_separate_from_the_process_ones() {
    let limits = ConcurrencyLimits::new();
    limits.set_limit("db", 0);
    let env = Env::new().recorder(Arc::new(MemoryRecorder::new())).concurrency_limits(limits.clone());
    let state =
        env.run(task_call(Task::new("q").tags(["db"]), || async { Ok::<_, Io>(()) }).return_state()).await;
    assert!(state.is_cancelled(), "a scoped limit of 0 aborts: {state}");
    assert_eq!(concurrency::limit("db"), None, "the process has no such limit");
    assert_eq!(env.run(async { concurrency::limit("db") }).await, Some(0));
}

#[tokio::test]
async fn a_scoped_default_storage_holds_persisted_values() {
    let storage = Arc::new(MemoryStorage::new());
    let env = Env::new().recorder(Arc::new(MemoryRecorder::new())).result_storage(storage.clone());
    let task = Task::new("stored")
        .cache_policy(CachePolicy::TASK_SOURCE)
        .source_hash("v1")
        .result_storage_key("out/{task_name}");
    let value = env.run(task_call(task, || async { Ok::<_, Io>(5u8) }).cacheable()).await.unwrap();
    assert_eq!(value, 5);
    assert!(
        storage.exists(&StorageKey::new("out/stored").unwrap()).unwrap(),
        "written to the scoped storage"
    );
}
