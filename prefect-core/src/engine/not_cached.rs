//! Why a task run that persists its value is not cached, and how that is
//! said.

/// Why a call's value is stored under its run id (or its storage key)
/// without a cache key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum NotCached {
    /// The `target` template could not be rendered.
    TargetUnrenderable(String),
    /// The `result_storage_key` template could not be rendered.
    StorageKeyUnrenderable(String),
    /// The key needs the call's arguments, which the engine cannot read (a
    /// hand-built call).
    ArgumentsUnknown,
    /// The custom key function returned `None`: do not cache this call.
    KeyFnDeclined,
    /// The custom key function's key is not a valid storage key.
    KeyFnInvalid(String),
    /// The custom key function panicked.
    KeyFnPanicked(String),
    /// An input of the key cannot be hashed (its `Serialize` failed, or it
    /// has none).
    Unhashable {
        /// The argument.
        input: String,
        /// Why.
        reason: String,
    },
    /// The cache policy's key could not be computed.
    PolicyKey(String),
}

impl NotCached {
    /// Logs the reason: a warning when the task asked for caching (else a
    /// debug line), except that a key function declining is a choice, and a
    /// storage key that does not render always warns.
    pub(crate) fn log(&self, asked: bool) {
        match self {
            NotCached::KeyFnDeclined => tracing::debug!("Not cached: {self}"),
            NotCached::StorageKeyUnrenderable(_) => tracing::warn!("{self}"),
            _ if asked => tracing::warn!("Not cached: {self}"),
            _ => tracing::debug!("Not cached: {self}"),
        }
    }
}

impl std::fmt::Display for NotCached {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NotCached::TargetUnrenderable(why) => write!(f, "cannot render target: {why}"),
            NotCached::StorageKeyUnrenderable(why) => {
                write!(f, "Cannot render result_storage_key: {why}; storing under the run id")
            }
            NotCached::ArgumentsUnknown => {
                f.write_str("the call's arguments are not known (a hand-built call)")
            }
            NotCached::KeyFnDeclined => f.write_str("the cache key function returned None"),
            NotCached::KeyFnInvalid(why) => write!(f, "the cache key function's key: {why}"),
            NotCached::KeyFnPanicked(why) => write!(f, "the cache key function panicked: {why}"),
            NotCached::Unhashable { input, reason } => write!(
                f,
                "input `{input}` cannot be hashed: {reason}; leave it out of the key with \
                 `cache_key = input_hash(exclude = [\"{input}\"])`, or key the task yourself with \
                 `cache_key = my_key_fn`"
            ),
            NotCached::PolicyKey(why) => f.write_str(why),
        }
    }
}
