//! Result serializers, result storage, result records, storage-key templates,
//! cache keys and cache policies for prefect-rs.
//!
//! This crate is storage-level only: it never runs tasks. The engine uses it to
//! persist a task's value and to find it again:
//!
//! 1. a [`CachePolicy`] turns a call into a [`CacheKey`] (blake3 over a
//!    canonical encoding of the task name, its inputs and so on), or a
//!    [`KeyTemplate`] renders a [`StorageKey`] from run context;
//! 2. a [`ResultRecord`] holds the value with its metadata (serializer,
//!    creation time, expiration, task and cache keys) and is written to a
//!    [`ResultStorage`] (local files, memory, object stores) in a small
//!    [self-checking format](record#on-disk-format-version-1);
//! 3. [`ResultRecord::read_from`] finds it again: `Ok(None)` when missing, an
//!    [`Error`] with [`Error::is_cache_miss`] when corrupt or expired.
//!
//! A [`CacheLock`] lets two processes with the same key compute it once.
//!
//! Values are encoded by a [`Serializer`]: JSON (the default), postcard, or
//! any user encoding implementing [`ValueSerializer`] (CBOR, MessagePack,
//! Arrow…, registered with [`Serializer::custom`]), each optionally
//! zstd-compressed. Every record names its serializer, so it is read back
//! with the one it was written with; see the [`serializer`] module.
//!
//! # Examples
//!
//! ```
//! use chrono::TimeDelta;
//! use prefect_results::{CachePolicy, LocalStorage, ResultRecord, Serializer, TaskIdentity};
//!
//! let dir = tempfile::tempdir()?;
//! let storage = LocalStorage::new(dir.path());
//!
//! // The engine computes the call's key...
//! let policy = CachePolicy::inputs().and_task_source();
//! let task = TaskIdentity::new("fetch").with_source_hash("9f2c");
//! let key = policy.key_for(task).input("url", "https://example.com").finish()?;
//!
//! // ...misses, runs the task, and stores its value for a day...
//! assert!(ResultRecord::<String>::read_from(&storage, &key.storage_key())?.is_none());
//! ResultRecord::for_cache_key(key, Serializer::JSON, "<html>".to_string())
//!     .expires_after(TimeDelta::days(1))
//!     .write_to(&storage)?;
//!
//! // ...and the next identical call is a hit.
//! let hit = ResultRecord::<String>::read_from(&storage, &key.storage_key())?;
//! assert_eq!(hit.map(|r| r.into_value()).as_deref(), Some("<html>"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Feature flags
//!
//! - `zstd`: zstd compression of values ([`Serializer::compressed`]). Without
//!   it, compressed serializers return [`Error::FeatureDisabled`].
//! - `object-store`: `ObjectStoreStorage`, a [`ResultStorage`] over any
//!   [`object_store`](https://docs.rs/object_store) backend (enables its local
//!   file system backend; add `object_store`'s `aws`, `gcp` or `azure` features
//!   for clouds).
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod cache;
mod error;
mod lock;
pub mod record;
pub mod serializer;
pub mod storage;
pub mod template;

/// The `erased-serde` that [`ValueSerializer`] is written against, so
/// implementations need not depend on a matching version themselves.
pub use erased_serde;

pub use cache::{CacheKey, CacheKeyBuilder, CacheKeyError, CachePolicy, TaskIdentity};
pub use error::{BoxError, Corruption, Error, Operation, Result};
pub use lock::{CacheLock, LOCK_DIR};
pub use record::{RecordMetadata, ResultRecord};
pub use serializer::{
    Compression, CustomFormat, Format, JsonSerializer, PostcardSerializer, Serializer, ValueSerializer,
    ValueSink,
};
#[cfg(feature = "object-store")]
#[cfg_attr(docsrs, doc(cfg(feature = "object-store")))]
pub use storage::ObjectStoreStorage;
pub use storage::{KeyError, LocalStorage, MemoryStorage, ResultStorage, StorageKey, default_storage_root};
pub use template::{KeyContext, KeyTemplate, TemplateError, validate_template};
