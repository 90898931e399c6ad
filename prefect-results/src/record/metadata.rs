//! What a record says about its value.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::format::FORMAT_VERSION;
use crate::cache::CacheKey;
use crate::serializer::Serializer;
use crate::storage::StorageKey;

/// The metadata stored with every [`ResultRecord`](super::ResultRecord).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordMetadata {
    pub(super) storage_key: StorageKey,
    pub(super) serializer: Serializer,
    pub(super) created: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) expiration: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) task_key: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) cache_key: Option<CacheKey>,
}

impl RecordMetadata {
    /// The key the record was written under.
    pub fn storage_key(&self) -> &StorageKey {
        &self.storage_key
    }

    /// The serializer that encoded the value.
    pub fn serializer(&self) -> Serializer {
        self.serializer
    }

    /// The record format version ([`FORMAT_VERSION`](crate::record::FORMAT_VERSION)).
    pub fn format_version(&self) -> u16 {
        FORMAT_VERSION
    }

    /// When the record was created.
    pub fn created(&self) -> DateTime<Utc> {
        self.created
    }

    /// When the record stops being valid, if ever.
    pub fn expiration(&self) -> Option<DateTime<Utc>> {
        self.expiration
    }

    /// The key of the task that produced the value, if recorded.
    pub fn task_key(&self) -> Option<&str> {
        self.task_key.as_deref()
    }

    /// The cache key the value was stored for, if any.
    pub fn cache_key(&self) -> Option<&CacheKey> {
        self.cache_key.as_ref()
    }

    /// True if the record has an expiration at or before `now`.
    pub fn is_expired(&self, now: DateTime<Utc>) -> bool {
        self.expiration.is_some_and(|at| at <= now)
    }
}
