//! Result records: a value plus the metadata needed to trust it later.
//!
//! A [`ResultRecord`] is stored as one file or object per key.
//! [`ResultRecord::read_from`] tells apart a missing record (`Ok(None)`), a
//! corrupt, truncated, foreign or other-version one ([`Error::Corrupt`]), and
//! an expired one ([`Error::Expired`]); the engine treats the last two as a
//! cache miss ([`Error::is_cache_miss`]).
//!
//! # On-disk format (version 1)
//!
//! ```text
//! offset  size  field
//! 0       8     magic: 0x89 'P' 'F' 'R' 'S' '\r' '\n' 0x1A     (MAGIC)
//! 8       2     format version, u16 little-endian                (FORMAT_VERSION = 1)
//! 10      4     metadata length N, u32 little-endian (at most 1 MiB)
//! 14      N     metadata, UTF-8 JSON:
//!               {"meta": {"storage_key": "...", "serializer": "json" | "postcard" | "zstd+json" | "<custom>" | ...,
//!                         "created": RFC 3339, "expiration"?: RFC 3339,
//!                         "task_key"?: "...", "cache_key"?: 64 hex digits},
//!                "value": {"len": <value bytes>, "blake3": 64 hex digits}}
//! 14+N    len   the value, as written by the named serializer
//! ```
//!
//! The magic catches foreign files (its first byte is not ASCII; the `\r\n`
//! and `0x1A` catch text-mode mangling, as in PNG); the two lengths catch
//! truncation at any byte; the blake3 checksum catches flipped bytes, which a
//! non-self-describing format such as postcard could otherwise decode into a
//! wrong value. Expiration is checked before the checksum and the value are
//! looked at, so an expired hit costs only the header parse. Readers accept
//! unknown metadata fields, so later versions can add fields without bumping
//! the format version.
//!
//! The serializer name is parsed as [`Serializer`] parses names: a custom one
//! must have been registered with [`Serializer::custom`] in the reading
//! process, or the record is [`Error::Corrupt`] ([`Corruption::BadMetadata`]),
//! a cache miss.

mod format;
mod metadata;

use chrono::{DateTime, TimeDelta, Utc};
use serde::Serialize;
use serde::de::DeserializeOwned;

pub use format::{FORMAT_VERSION, MAGIC};
pub use metadata::RecordMetadata;

use crate::cache::CacheKey;
use crate::error::{Corruption, Error, Result};
use crate::serializer::Serializer;
use crate::storage::{ResultStorage, StorageKey};

/// A stored value with its [`RecordMetadata`].
///
/// # Examples
///
/// ```
/// use chrono::{TimeDelta, Utc};
/// use prefect_results::{MemoryStorage, ResultRecord, Serializer, StorageKey};
///
/// let storage = MemoryStorage::new();
/// let key = StorageKey::new("etl/total")?;
/// ResultRecord::new(key.clone(), Serializer::JSON, 42u64)
///     .expires_after(TimeDelta::days(1))
///     .write_to(&storage)?;
///
/// let hit = ResultRecord::<u64>::read_from(&storage, &key)?.expect("stored");
/// assert_eq!(*hit.value(), 42);
///
/// // A day and a second later the record is expired: a cache miss.
/// let later = Utc::now() + TimeDelta::days(1) + TimeDelta::seconds(1);
/// let err = ResultRecord::<u64>::read_from_at(&storage, &key, later).unwrap_err();
/// assert!(err.is_expired() && err.is_cache_miss());
/// # Ok::<(), prefect_results::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct ResultRecord<T> {
    metadata: RecordMetadata,
    value: T,
}

impl<T> ResultRecord<T> {
    /// A record of `value` for `key`, created now, never expiring.
    pub fn new(key: StorageKey, serializer: Serializer, value: T) -> Self {
        let metadata = RecordMetadata {
            storage_key: key,
            serializer,
            created: Utc::now(),
            expiration: None,
            task_key: None,
            cache_key: None,
        };
        Self { metadata, value }
    }

    /// A record stored under `cache_key` (its hex form) and naming it.
    pub fn for_cache_key(cache_key: CacheKey, serializer: Serializer, value: T) -> Self {
        Self::new(cache_key.storage_key(), serializer, value).with_cache_key(cache_key)
    }

    /// Sets the creation time (default: when [`new`](Self::new) ran).
    pub fn with_created(mut self, created: DateTime<Utc>) -> Self {
        self.metadata.created = created;
        self
    }

    /// Sets when the record expires (`None`: never).
    pub fn with_expiration(mut self, expiration: Option<DateTime<Utc>>) -> Self {
        self.metadata.expiration = expiration;
        self
    }

    /// Expires the record `ttl` after its creation time (never, on overflow).
    pub fn expires_after(self, ttl: TimeDelta) -> Self {
        let at = self.metadata.created.checked_add_signed(ttl);
        self.with_expiration(at)
    }

    /// Records the key of the task that produced the value.
    pub fn with_task_key(mut self, task_key: impl Into<String>) -> Self {
        self.metadata.task_key = Some(task_key.into());
        self
    }

    /// Records the cache key the value is stored for.
    pub fn with_cache_key(mut self, cache_key: CacheKey) -> Self {
        self.metadata.cache_key = Some(cache_key);
        self
    }

    /// The metadata.
    pub fn metadata(&self) -> &RecordMetadata {
        &self.metadata
    }

    /// The value.
    pub fn value(&self) -> &T {
        &self.value
    }

    /// The value, consuming the record.
    pub fn into_value(self) -> T {
        self.value
    }

    /// Metadata and value, consuming the record.
    pub fn into_parts(self) -> (RecordMetadata, T) {
        (self.metadata, self.value)
    }
}

impl<T: Serialize> ResultRecord<T> {
    /// The record's bytes in the on-disk format.
    ///
    /// # Errors
    ///
    /// [`Error::Serialize`] if the value cannot be serialized.
    ///
    /// A value with a NaN or an infinity, asked to be stored as JSON (which
    /// cannot hold them: it would read back as `null`, and never decode), is
    /// stored in the binary format instead, with the same compression; the
    /// record names the format it used, so it reads back faithfully.
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        let mut metadata = std::borrow::Cow::Borrowed(&self.metadata);
        if matches!(metadata.serializer.format(), crate::serializer::Format::Json)
            && crate::cache::canonical::has_non_finite(&self.value)
        {
            let compression = metadata.serializer.compression();
            let binary = match compression {
                crate::serializer::Compression::None => Serializer::POSTCARD,
                crate::serializer::Compression::Zstd { level } => Serializer::POSTCARD.with_zstd_level(level),
            };
            metadata.to_mut().serializer = binary;
        }
        let value = metadata.serializer.serialize(&self.value)?;
        format::encode(&metadata, &value)
            .map_err(|e| Error::Serialize { serializer: Serializer::JSON, source: Box::new(e) })
    }

    /// Serializes the record and writes it atomically under its storage key.
    ///
    /// # Errors
    ///
    /// [`Error::Serialize`], or the storage's write error (for example
    /// [`Error::StorageFull`] or [`Error::PermissionDenied`]).
    pub fn write_to<S: ResultStorage + ?Sized>(&self, storage: &S) -> Result<()> {
        storage.write(&self.metadata.storage_key, &self.to_bytes()?)
    }
}

impl<T: DeserializeOwned> ResultRecord<T> {
    /// Reads the record at `key`, checking expiration against the current time.
    ///
    /// # Errors
    ///
    /// See [`read_from_at`](Self::read_from_at).
    pub fn read_from<S: ResultStorage + ?Sized>(storage: &S, key: &StorageKey) -> Result<Option<Self>> {
        Self::read_from_at(storage, key, Utc::now())
    }

    /// Reads the record at `key`; `Ok(None)` if there is none.
    ///
    /// # Errors
    ///
    /// - [`Error::Corrupt`] (naming the location) if the stored bytes are not a
    ///   record, are truncated, have another format version, fail their
    ///   checksum, or do not decode as a `T`;
    /// - [`Error::Expired`] if the record expired at or before `now`;
    /// - the storage's read error.
    pub fn read_from_at<S: ResultStorage + ?Sized>(
        storage: &S,
        key: &StorageKey,
        now: DateTime<Utc>,
    ) -> Result<Option<Self>> {
        let Some(bytes) = storage.read(key)? else {
            return Ok(None);
        };
        Self::from_bytes_at(&bytes, now).map(Some).map_err(|e| e.at(storage.location(key)))
    }

    /// Decodes a record from its bytes, checking expiration against `now`.
    ///
    /// # Errors
    ///
    /// As [`read_from_at`](Self::read_from_at), with the location `<bytes>`.
    pub fn from_bytes(bytes: &[u8], now: DateTime<Utc>) -> Result<Self> {
        Self::from_bytes_at(bytes, now).map_err(|e| e.at("<bytes>".to_owned()))
    }

    /// Decodes a record read from `location` (for errors) elsewhere, for
    /// callers that do the storage I/O themselves (off an async runtime's
    /// threads, say).
    ///
    /// # Errors
    ///
    /// As [`read_from_at`](Self::read_from_at), naming `location`.
    pub fn from_stored(bytes: &[u8], now: DateTime<Utc>, location: String) -> Result<Self> {
        Self::from_bytes_at(bytes, now).map_err(|e| e.at(location))
    }

    fn from_bytes_at(bytes: &[u8], now: DateTime<Utc>) -> Result<Self, RecordError> {
        let decoded = format::decode(bytes)?;
        if let Some(at) = decoded.meta.expiration.filter(|at| *at <= now) {
            return Err(RecordError::Expired(at));
        }
        decoded.verify()?;
        let value = decoded
            .meta
            .serializer
            .deserialize(decoded.value)
            .map_err(|e| Corruption::UndecodableValue { reason: e.to_string() })?;
        Ok(Self { metadata: decoded.meta, value })
    }
}

/// Why bytes did not yield a usable record (before a location is attached).
enum RecordError {
    Corrupt(Corruption),
    Expired(DateTime<Utc>),
}

impl RecordError {
    fn at(self, location: String) -> Error {
        match self {
            Self::Corrupt(problem) => Error::Corrupt { location, problem },
            Self::Expired(expired_at) => Error::Expired { location, expired_at },
        }
    }
}

impl From<Corruption> for RecordError {
    fn from(c: Corruption) -> Self {
        Self::Corrupt(c)
    }
}

#[cfg(test)]
mod tests;
