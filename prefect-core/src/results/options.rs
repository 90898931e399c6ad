//! The result and caching options of a task or flow, kept apart from the
//! other options so that runs without them carry one `None`.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use prefect_results::{CachePolicy, KeyTemplate, ResultStorage, Serializer};

use super::CacheInputs;
use crate::context::TaskRunContext;
use crate::error::Error;

/// A custom cache key function: `None` means "do not cache this call".
pub(crate) type CacheKeyFn = Arc<dyn Fn(&TaskRunContext, &CacheInputs) -> Option<String> + Send + Sync>;

/// What `persist_result`, `result_*`, `cache_*`, `refresh_cache` and
/// `target` set. `None` everywhere means "not given": a flow's value is then
/// inherited by its tasks, and the settings give the last default.
#[derive(Clone, Default)]
pub(crate) struct ResultOptions {
    pub(crate) persist: Option<bool>,
    pub(crate) storage: Option<Arc<dyn ResultStorage>>,
    pub(crate) serializer: Option<Serializer>,
    pub(crate) storage_key: Option<KeyTemplate>,
    pub(crate) policy: Option<CachePolicy>,
    pub(crate) key_fn: Option<CacheKeyFn>,
    pub(crate) expiration: Option<Duration>,
    pub(crate) refresh: Option<bool>,
    pub(crate) target: Option<KeyTemplate>,
    /// The first template given that did not parse: reported when a run starts.
    pub(crate) invalid: Option<(&'static str, String)>,
}

impl ResultOptions {
    /// True if any option asks for caching (a policy, a key function, a target).
    pub(crate) fn asks_for_caching(&self) -> bool {
        self.policy.as_ref().is_some_and(|p| !p.is_none()) || self.key_fn.is_some() || self.target.is_some()
    }

    /// True if any option implies persistence (as in Prefect, giving a
    /// storage, serializer, key or cache option switches it on).
    pub(crate) fn implies_persistence(&self) -> bool {
        self.asks_for_caching()
            || self.storage.is_some()
            || self.serializer.is_some()
            || self.storage_key.is_some()
            || self.expiration.is_some()
            || self.refresh == Some(true)
    }

    /// What a flow's options say about its tasks' persistence: its
    /// `persist_result`, else on if it names a storage or serializer.
    pub(crate) fn inherited_persist(&self) -> Option<bool> {
        self.persist.or((self.storage.is_some() || self.serializer.is_some()).then_some(true))
    }

    /// Parses a template option, keeping the error for [`validate`](Self::validate).
    pub(crate) fn template(&mut self, option: &'static str, text: &str) -> Option<KeyTemplate> {
        match KeyTemplate::parse(text) {
            Ok(template) => Some(template),
            Err(e) => {
                self.invalid.get_or_insert((option, e.to_string()));
                None
            }
        }
    }

    /// Checks what the setters could not.
    pub(crate) fn validate(&self) -> Result<(), Error> {
        if let Some((option, reason)) = &self.invalid {
            return Err(Error::InvalidOption { option, reason: reason.clone() });
        }
        if self.persist == Some(false) && self.asks_for_caching() {
            return Err(Error::InvalidOption {
                option: "persist_result",
                reason: "persist_result = false turns off the cache that cache_key / target asks for; \
                         drop one of them"
                    .into(),
            });
        }
        if self.serializer.is_some_and(|s| !s.is_supported()) {
            return Err(Error::InvalidOption {
                option: "result_serializer",
                reason: "zstd compression needs the `zstd` feature of prefect-rs".into(),
            });
        }
        if self.expiration.is_some_and(|d| d.is_zero()) {
            return Err(Error::InvalidOption {
                option: "cache_expiration",
                reason: "an expiration of zero would never give a hit; give a positive duration".into(),
            });
        }
        Ok(())
    }
}

impl fmt::Debug for ResultOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResultOptions")
            .field("persist", &self.persist)
            .field("storage", &self.storage)
            .field("serializer", &self.serializer.map(|s| s.to_string()))
            .field("storage_key", &self.storage_key.as_ref().map(KeyTemplate::as_str))
            .field("policy", &self.policy.as_ref().map(ToString::to_string))
            .field("key_fn", &self.key_fn.is_some())
            .field("expiration", &self.expiration)
            .field("refresh", &self.refresh)
            .field("target", &self.target.as_ref().map(KeyTemplate::as_str))
            .finish()
    }
}
