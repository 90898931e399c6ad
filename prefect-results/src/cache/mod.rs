//! Cache keys and cache policies.
//!
//! A [`CachePolicy`] says which parts of a task call identify its result;
//! [`CachePolicy::key_for`] turns one call into a [`CacheKey`]: the blake3
//! hash of a canonical encoding of those parts. The encoding follows the JSON
//! data model with map and struct entries sorted, so a `HashMap` gives the same
//! key whatever its insertion order, and the key is the same on every machine,
//! process and run. A call whose inputs cannot be serialized gets no key
//! ([`CacheKeyError::Unhashable`]), never a key of the other inputs.
//!
//! [`CacheLock`](crate::CacheLock) makes two processes with the same key
//! compute once.

mod builder;
pub(crate) mod canonical;
mod key;
mod policy;

use std::fmt;

pub use builder::{CacheKeyBuilder, TaskIdentity};
pub use key::CacheKey;
pub use policy::CachePolicy;

/// Why a call has no cache key (the engine then runs it without caching).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CacheKeyError {
    /// The policy is [`CachePolicy::NONE`].
    #[error("caching is disabled by the cache policy")]
    Disabled,
    /// An input's `Serialize` impl failed.
    #[error("input `{input}` cannot be hashed: {reason}")]
    Unhashable {
        /// The argument name (or "flow parameters", or "value").
        input: String,
        /// The serializer's message.
        reason: String,
    },
    /// The policy uses a part of the call that was not supplied.
    #[error("the cache policy uses the {0}, but none was given")]
    Missing(Component),
    /// Text is not 64 hex digits.
    #[error("`{text}` is not a cache key (64 hex digits)")]
    Malformed {
        /// The rejected text.
        text: String,
    },
    /// Text is not a cache policy.
    #[error(
        "`{text}` is not a cache policy: expected components joined by `+`, each one of \
         inputs, task_source, flow_parameters, run_id, default, none (inputs may exclude \
         arguments: `inputs - client`)"
    )]
    UnknownPolicy {
        /// The rejected text.
        text: String,
    },
}

/// A part of a task call a [`CachePolicy`] can use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Component {
    /// The hash of the task's source.
    TaskSource,
    /// The flow run's parameters.
    FlowParameters,
    /// The run id.
    RunId,
}

impl fmt::Display for Component {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::TaskSource => "task source hash",
            Self::FlowParameters => "flow parameters",
            Self::RunId => "run id",
        })
    }
}

#[cfg(test)]
mod tests;
