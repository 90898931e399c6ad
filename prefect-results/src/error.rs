//! The crate's error type.

use std::fmt;
use std::io;

use chrono::{DateTime, Utc};

use crate::cache::CacheKeyError;
use crate::serializer::Serializer;
use crate::storage::KeyError;
use crate::template::TemplateError;

/// A boxed foreign error kept as the `source` of an [`Error`].
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// `Result` with this crate's [`Error`] as the default error type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in `prefect-results`.
///
/// The engine treats [`Error::Corrupt`] and [`Error::Expired`] on a cache
/// lookup as a cache miss (see [`Error::is_cache_miss`]) and write errors such
/// as [`Error::StorageFull`] as "log and keep the task's state".
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A storage key was empty, absolute, or tried to leave the storage root.
    #[error(transparent)]
    InvalidKey(#[from] KeyError),

    /// A storage-key template failed to parse or to render.
    #[error(transparent)]
    Template(#[from] TemplateError),

    /// No cache key could be computed (for example, an input failed to serialize).
    #[error(transparent)]
    CacheKey(#[from] CacheKeyError),

    /// A value could not be serialized with the chosen serializer.
    #[error("cannot serialize a value as {serializer}: {source}")]
    Serialize {
        /// The serializer that failed.
        serializer: Serializer,
        /// The underlying serde or compression error.
        #[source]
        source: BoxError,
    },

    /// Bytes could not be deserialized with the chosen serializer.
    #[error("cannot deserialize a value as {serializer}: {source}")]
    Deserialize {
        /// The serializer that failed.
        serializer: Serializer,
        /// The underlying serde or decompression error.
        #[source]
        source: BoxError,
    },

    /// A serializer name (in options or in a stored record) is neither built
    /// in nor registered by [`Serializer::custom`] in this process.
    #[error(
        "unknown serializer `{name}`; expected one of: json, postcard, zstd+json, zstd+postcard \
         (aliases: binary, compressed/json, compressed/postcard, compressed/binary), or the name of \
         a custom serializer registered with `Serializer::custom`, optionally prefixed with `zstd+`"
    )]
    UnknownSerializer {
        /// The name that was given.
        name: String,
    },

    /// [`Serializer::custom`] was given a serializer whose name cannot be
    /// used: empty, too long, with characters other than ASCII letters,
    /// digits, `-`, `_` and `.`, a built-in name, or a name already registered
    /// by another type.
    #[error("cannot use `{name}` as a custom serializer name: {reason}")]
    InvalidSerializerName {
        /// The name the serializer gave.
        name: String,
        /// Why it was rejected.
        reason: String,
    },

    /// The operation needs a cargo feature of this crate that is not enabled.
    #[error("{what} needs the `{feature}` feature of prefect-results")]
    FeatureDisabled {
        /// What was attempted, e.g. "zstd compression".
        what: &'static str,
        /// The cargo feature to enable.
        feature: &'static str,
    },

    /// A stored record exists but cannot be used: it is truncated, foreign,
    /// of another format version, or its value does not decode.
    #[error("result record at {location} is unusable: {problem}")]
    Corrupt {
        /// The file path or object location of the record.
        location: String,
        /// What is wrong with it.
        problem: Corruption,
    },

    /// A stored record is intact but its expiration time has passed.
    #[error("result record at {location} expired at {expired_at}")]
    Expired {
        /// The file path or object location of the record.
        location: String,
        /// When the record expired.
        expired_at: DateTime<Utc>,
    },

    /// The device or quota ran out of space while writing.
    #[error("no space left to write {location}: {source}")]
    StorageFull {
        /// The file path being written.
        location: String,
        /// The operating-system error.
        #[source]
        source: io::Error,
    },

    /// The operating system refused access (permissions or read-only file system).
    #[error("permission denied to {op} {location}: {source}")]
    PermissionDenied {
        /// What was attempted.
        op: Operation,
        /// The file path involved.
        location: String,
        /// The operating-system error.
        #[source]
        source: io::Error,
    },

    /// Any other I/O failure of the local file system.
    #[error("cannot {op} {location}: {source}")]
    Io {
        /// What was attempted.
        op: Operation,
        /// The file path involved.
        location: String,
        /// The operating-system error.
        #[source]
        source: io::Error,
    },

    /// A remote or pluggable storage backend (e.g. an object store) failed.
    #[error("storage backend failed to {op} {location}: {source}")]
    Backend {
        /// What was attempted.
        op: Operation,
        /// The object location involved.
        location: String,
        /// The backend's error.
        #[source]
        source: BoxError,
    },

    /// Neither `PREFECT_HOME` nor a home directory is set, so there is no
    /// default storage root.
    #[error("no default storage root: set PREFECT_HOME or HOME")]
    NoStorageRoot,
}

impl Error {
    /// True for errors a cache lookup should treat as a miss: a corrupt,
    /// foreign or truncated record ([`Error::Corrupt`]) or an expired one
    /// ([`Error::Expired`]).
    pub fn is_cache_miss(&self) -> bool {
        matches!(self, Self::Corrupt { .. } | Self::Expired { .. })
    }

    /// True if the record was found but has expired.
    pub fn is_expired(&self) -> bool {
        matches!(self, Self::Expired { .. })
    }

    /// True if the record was found but is unusable (see [`Corruption`]).
    pub fn is_corrupt(&self) -> bool {
        matches!(self, Self::Corrupt { .. })
    }

    /// True if a write failed because the disk or quota is full.
    pub fn is_storage_full(&self) -> bool {
        matches!(self, Self::StorageFull { .. })
    }

    /// True if the operating system refused access.
    pub fn is_permission_denied(&self) -> bool {
        matches!(self, Self::PermissionDenied { .. })
    }

    /// Maps an I/O error of `op` on `location` to the most specific variant.
    pub(crate) fn io(op: Operation, location: impl fmt::Display, source: io::Error) -> Self {
        use io::ErrorKind as K;
        let location = location.to_string();
        match source.kind() {
            K::StorageFull | K::QuotaExceeded | K::FileTooLarge => Self::StorageFull { location, source },
            K::PermissionDenied | K::ReadOnlyFilesystem => Self::PermissionDenied { op, location, source },
            _ => Self::Io { op, location, source },
        }
    }
}

/// What was wrong with a stored record (see [`Error::Corrupt`]).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Corruption {
    /// The data does not start with the record magic bytes: a foreign file.
    NotARecord,
    /// The data ends before the length its header announces.
    Truncated {
        /// Bytes the header announced.
        expected: u64,
        /// Bytes actually present.
        found: u64,
    },
    /// The record was written in a format version this crate cannot read.
    UnsupportedVersion {
        /// The version in the file.
        found: u16,
        /// The version this crate reads and writes.
        supported: u16,
    },
    /// The metadata block is not valid.
    BadMetadata {
        /// Why it was rejected.
        reason: String,
    },
    /// The value bytes do not match the checksum in the metadata.
    ChecksumMismatch,
    /// The value bytes are intact but do not decode as the requested type.
    UndecodableValue {
        /// The serializer's error message.
        reason: String,
    },
}

impl fmt::Display for Corruption {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotARecord => f.write_str("not a prefect-rs result record (bad magic bytes)"),
            Self::Truncated { expected, found } => {
                write!(f, "truncated: expected {expected} bytes, found {found}")
            }
            Self::UnsupportedVersion { found, supported } => write!(
                f,
                "record format version {found} is not supported (this build reads version {supported})"
            ),
            Self::BadMetadata { reason } => write!(f, "invalid metadata: {reason}"),
            Self::ChecksumMismatch => f.write_str("value checksum mismatch"),
            Self::UndecodableValue { reason } => write!(f, "value does not decode: {reason}"),
        }
    }
}

/// A storage operation, named in errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Operation {
    /// Reading a record.
    Read,
    /// Writing a record.
    Write,
    /// Checking whether a record exists.
    Exists,
    /// Deleting a record.
    Delete,
    /// Creating or locking a lock file.
    Lock,
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Read => "read",
            Self::Write => "write",
            Self::Exists => "check",
            Self::Delete => "delete",
            Self::Lock => "lock",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mapped(kind: io::ErrorKind) -> Error {
        Error::io(Operation::Write, "/r/k", io::Error::from(kind))
    }

    #[test]
    fn io_errors_map_to_typed_variants() {
        use io::ErrorKind as K;
        for kind in [K::StorageFull, K::QuotaExceeded, K::FileTooLarge] {
            assert!(mapped(kind).is_storage_full(), "{kind:?}");
        }
        for kind in [K::PermissionDenied, K::ReadOnlyFilesystem] {
            assert!(mapped(kind).is_permission_denied(), "{kind:?}");
        }
        let other = mapped(K::Interrupted);
        assert!(matches!(other, Error::Io { op: Operation::Write, .. }));
        assert!(!other.is_cache_miss());
        assert!(mapped(K::StorageFull).to_string().contains("/r/k"));
    }

    #[test]
    fn enospc_from_the_os_is_storage_full() {
        // 28 is ENOSPC on Linux and macOS.
        if cfg!(unix) {
            assert!(Error::io(Operation::Write, "x", io::Error::from_raw_os_error(28)).is_storage_full());
        }
    }
}
