//! Persisted results and caching.
//!
//! Everything storage-level comes from the `prefect-results` crate and is
//! re-exported here: serializers (including user-defined encodings, see
//! [`ValueSerializer`] and [`Serializer::custom`]), storages, records, key
//! templates, cache keys and policies. This module adds what ties them to
//! runs:
//!
//! - the task and flow options (`persist_result`, `result_storage`,
//!   `result_serializer`, `result_storage_key`, `cache_policy`,
//!   `cache_key_fn`, `cache_expiration`, `refresh_cache`, `target`) on
//!   [`Task`](crate::Task) and [`Flow`](crate::Flow);
//! - [`CacheInputs`], what a custom cache key function sees;
//! - [`load`] / [`load_from`], to read a persisted value back.
//!
//! # How a cached task run goes
//!
//! 1. Its key is computed: the rendered `target`, else the custom key
//!    function's answer, else the cache policy's [`CacheKey`] (the task's
//!    name, its source hash, its inputs... hashed with blake3). A
//!    `result_storage_key` template, when given, names where the record
//!    lives instead of the key's hex form.
//! 2. A valid, unexpired record under that key ends the run Completed, named
//!    `Cached`, with the stored value and without running the body. Its
//!    `on_completion` hooks still run. A corrupt, truncated, foreign or
//!    expired record is a miss, with one warning naming the file.
//! 3. On a miss, the run takes the key's lock (in-process, then a file lock
//!    shared by processes on the host), looks again, and runs the body; a
//!    concurrent run with the same key waits and is then served from the
//!    record. A Completed value is written as a record; a failed write is
//!    logged and changes nothing else.
//!
//! Persistence is on for a task when it (or, for storage, serializer and
//! `persist_result`, its flow) gives any of these options, or when the
//! setting `results.persist_by_default` is true; a task that persists
//! without a cache option caches with [`CachePolicy::DEFAULT`] (inputs, source
//! and flow run id: identical calls in one flow run), as Prefect does.
//!
//! # Examples
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), prefect_core::Error> {
//! use prefect_core::results::{self, CachePolicy, MemoryStorage};
//! use prefect_core::{Task, task_call};
//!
//! let storage = std::sync::Arc::new(MemoryStorage::new());
//! let task = Task::new("answer")
//!     .source_hash("v1")
//!     .cache_policy(CachePolicy::TASK_SOURCE)
//!     .result_storage(storage.clone())
//!     .result_storage_key("answers/{task_name}.json");
//! let first = task_call(task.clone(), || async { Ok::<_, std::io::Error>(42u32) }).cacheable().await?;
//! let again = task_call(task, || async { Ok::<_, std::io::Error>(0u32) }).cacheable().await?;
//! assert_eq!((first, again), (42, 42)); // the second run was served from the record
//! assert_eq!(results::load_from::<u32>(&*storage, "answers/answer.json")?, 42);
//! # Ok(()) }
//! ```

pub(crate) mod glue;
pub(crate) mod options;

use std::sync::{Arc, OnceLock};

use serde::de::DeserializeOwned;

pub(crate) use glue::{CacheSource, Codec, InputSink};
pub(crate) use options::ResultOptions;
#[cfg(feature = "object-store")]
pub use prefect_results::ObjectStoreStorage;
pub use prefect_results::{
    CacheKey, CacheKeyError, CachePolicy, KeyContext, KeyTemplate, LocalStorage, MemoryStorage,
    RecordMetadata, ResultRecord, ResultStorage, Serializer, StorageKey, TaskIdentity, TemplateError,
};
// User-defined value encodings: implement `ValueSerializer`, pass it to
// `Serializer::custom`; `erased_serde` is the version the trait is written against.
pub use prefect_results::{
    Compression, CustomFormat, Format, JsonSerializer, PostcardSerializer, ValueSerializer, ValueSink,
    erased_serde,
};

use crate::error::Error;
use crate::settings;

/// A call's arguments as JSON, for custom cache key functions.
///
/// Arguments whose type is not `Serialize` appear as `"<type name>"`.
///
/// ```
/// use prefect_core::context::TaskRunContext;
/// use prefect_core::results::CacheInputs;
///
/// // `#[task(cache_key = by_city)]`: one record per city, whatever the date.
/// fn by_city(_: &TaskRunContext, inputs: &CacheInputs) -> Option<String> {
///     let city: String = inputs.parse("city")?;
///     Some(format!("weather/{city}"))
/// }
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CacheInputs {
    pub(crate) values: serde_json::Map<String, serde_json::Value>,
}

impl CacheInputs {
    /// The argument `name`, as JSON.
    pub fn get(&self, name: &str) -> Option<&serde_json::Value> {
        self.values.get(name)
    }

    /// The argument `name`, decoded as a `T`; `None` if absent or of another shape.
    pub fn parse<T: DeserializeOwned>(&self, name: &str) -> Option<T> {
        self.values.get(name).and_then(|v| T::deserialize(v).ok())
    }

    /// Every argument, by name.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &serde_json::Value)> {
        self.values.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// All arguments as a JSON object.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::Value::Object(self.values.clone())
    }
}

static DEFAULT_STORAGE: OnceLock<Arc<dyn ResultStorage>> = OnceLock::new();

/// The process's storage for tasks and flows that name none: the one set
/// with [`set_default_storage`], else local files under the setting
/// `results.storage_path` (`$PREFECT_HOME/storage`).
pub fn default_storage() -> Arc<dyn ResultStorage> {
    DEFAULT_STORAGE
        .get_or_init(|| Arc::new(LocalStorage::new(settings::current().results_storage_path.clone())))
        .clone()
}

/// Sets the process's default storage, before any run uses it (scoped
/// instead with [`Env::result_storage`](crate::env::Env::result_storage)).
///
/// # Errors
/// [`Error::AlreadySet`] once it was set or used.
pub fn set_default_storage(storage: Arc<dyn ResultStorage>) -> Result<(), Error> {
    DEFAULT_STORAGE.set(storage).map_err(|_| Error::AlreadySet { what: "the default result storage" })
}

/// The default storage of runs in the current scope.
pub(crate) fn storage_for_run() -> Arc<dyn ResultStorage> {
    crate::env::result_storage().unwrap_or_else(default_storage)
}

/// Reads the value persisted under `key` in the [default storage](default_storage).
///
/// # Errors
///
/// [`Error::NoResult`] if nothing is stored there, [`Error::Results`] if
/// the record is corrupt, expired or not a `T`, [`Error::InvalidOption`]
/// if `key` is not a valid storage key.
pub fn load<T: DeserializeOwned>(key: &str) -> Result<T, Error> {
    load_from(&*default_storage(), key)
}

/// Reads the value persisted under `key` in `storage`.
///
/// # Errors
///
/// As [`load`].
pub fn load_from<T: DeserializeOwned>(storage: &dyn ResultStorage, key: &str) -> Result<T, Error> {
    let key =
        StorageKey::new(key).map_err(|e| Error::InvalidOption { option: "key", reason: e.to_string() })?;
    match ResultRecord::<T>::read_from(storage, &key)? {
        Some(record) => Ok(record.into_value()),
        None => Err(Error::NoResult { location: storage.location(&key) }),
    }
}
