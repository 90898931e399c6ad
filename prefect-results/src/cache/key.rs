//! Cache keys: 256-bit blake3 hashes of a canonical encoding.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::CacheKeyError;
use super::canonical;
use crate::storage::StorageKey;

/// The blake3 key-derivation context: changing it changes every key.
const CONTEXT: &str = "prefect-rs cache key v1";

/// A cache key: the blake3 hash of a canonical encoding, the same on every
/// machine, process and run. Shown as 64 lowercase hex digits.
///
/// Build one from a task call with
/// [`CachePolicy::key_for`](super::CachePolicy::key_for), or from any value
/// with [`CacheKey::of`].
///
/// # Examples
///
/// ```
/// use std::collections::{BTreeMap, HashMap};
/// use prefect_results::CacheKey;
///
/// let a: HashMap<_, _> = [("x", 1), ("y", 2)].into();
/// let b: BTreeMap<_, _> = [("y", 2), ("x", 1)].into();
/// assert_eq!(CacheKey::of(&a)?, CacheKey::of(&b)?);
/// assert_eq!(CacheKey::of(&a)?.to_string().len(), 64);
/// # Ok::<(), prefect_results::CacheKeyError>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CacheKey([u8; 32]);

impl CacheKey {
    /// A key from its raw bytes.
    pub const fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// The raw bytes.
    pub const fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// The key of a single value (its canonical encoding, hashed).
    ///
    /// # Errors
    ///
    /// [`CacheKeyError::Unhashable`] if the value's `Serialize` impl fails.
    pub fn of<T: Serialize + ?Sized>(value: &T) -> Result<Self, CacheKeyError> {
        let mut bytes = Vec::new();
        canonical::encode(value, &mut bytes)
            .map_err(|e| CacheKeyError::Unhashable { input: "value".into(), reason: e.0 })?;
        Ok(Self::hash(&bytes))
    }

    /// Hashes an already canonical encoding.
    pub(crate) fn hash(canonical: &[u8]) -> Self {
        let mut hasher = blake3::Hasher::new_derive_key(CONTEXT);
        hasher.update(canonical);
        Self(*hasher.finalize().as_bytes())
    }

    /// The storage key for records cached under this key: its hex form.
    pub fn storage_key(&self) -> StorageKey {
        StorageKey::from_checked(self.to_string())
    }
}

impl From<CacheKey> for StorageKey {
    fn from(key: CacheKey) -> Self {
        key.storage_key()
    }
}

impl fmt::Display for CacheKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(blake3::Hash::from_bytes(self.0).to_hex().as_str())
    }
}

impl fmt::Debug for CacheKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CacheKey({self})")
    }
}

impl FromStr for CacheKey {
    type Err = CacheKeyError;

    fn from_str(s: &str) -> Result<Self, CacheKeyError> {
        match blake3::Hash::from_hex(s) {
            Ok(hash) => Ok(Self(*hash.as_bytes())),
            Err(_) => Err(CacheKeyError::Malformed { text: s.to_owned() }),
        }
    }
}

impl Serialize for CacheKey {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for CacheKey {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}
