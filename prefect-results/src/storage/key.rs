//! Validated storage keys: safe relative paths under a storage root.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Longest accepted key, in bytes.
pub const MAX_KEY_LEN: usize = 1024;
/// Longest accepted path segment, in bytes (the common file-name limit).
pub const MAX_SEGMENT_LEN: usize = 255;

/// A key naming one stored record: a relative, `/`-separated path that
/// cannot leave the storage root.
///
/// Rules, checked by [`StorageKey::new`]:
/// - not empty, at most [`MAX_KEY_LEN`] bytes, each segment at most
///   [`MAX_SEGMENT_LEN`] bytes;
/// - relative: no leading `/`, no drive prefix such as `C:`;
/// - no empty segments (`a//b`, trailing `/`), no `.` or `..` segments;
/// - no segment starting with `.` (names starting with a dot are reserved for
///   temporary and lock files, so a key can never name a half-written file);
/// - no `\`, NUL or other control characters.
///
/// # Examples
///
/// ```
/// use prefect_results::StorageKey;
///
/// let key = StorageKey::new("etl/fetch-3.json")?;
/// assert_eq!(key.as_str(), "etl/fetch-3.json");
/// assert!(StorageKey::new("../etc/passwd").is_err());
/// assert!(StorageKey::new("/abs").is_err());
/// # Ok::<(), prefect_results::KeyError>(())
/// ```
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StorageKey(Box<str>);

impl StorageKey {
    /// Validates `key` (see the type docs for the rules).
    ///
    /// # Errors
    ///
    /// A [`KeyError`] naming the rule the key breaks.
    pub fn new(key: impl Into<String>) -> Result<Self, KeyError> {
        let key = key.into();
        check(&key)?;
        Ok(Self(key.into_boxed_str()))
    }

    /// Wraps a key the caller has built to satisfy the rules (e.g. hex digits).
    pub(crate) fn from_checked(key: String) -> Self {
        debug_assert!(check(&key).is_ok(), "{key:?}");
        Self(key.into_boxed_str())
    }

    /// The key as a `/`-separated relative path.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The key's path segments, in order.
    pub fn segments(&self) -> impl Iterator<Item = &str> {
        self.0.split('/')
    }
}

fn check(key: &str) -> Result<(), KeyError> {
    let bad = |problem| KeyError { key: key.to_owned(), problem };
    if key.is_empty() {
        return Err(bad(KeyProblem::Empty));
    }
    if key.len() > MAX_KEY_LEN {
        return Err(bad(KeyProblem::TooLong));
    }
    if key.starts_with('/') || is_drive_prefix(key) {
        return Err(bad(KeyProblem::Absolute));
    }
    if let Some(c) = key.chars().find(|c| *c == '\\' || c.is_control()) {
        return Err(bad(KeyProblem::ForbiddenChar(c)));
    }
    for segment in key.split('/') {
        match segment {
            "" => return Err(bad(KeyProblem::EmptySegment)),
            "." | ".." => return Err(bad(KeyProblem::DotSegment)),
            s if s.starts_with('.') => return Err(bad(KeyProblem::HiddenSegment)),
            s if s.len() > MAX_SEGMENT_LEN => return Err(bad(KeyProblem::TooLong)),
            _ => {}
        }
    }
    Ok(())
}

fn is_drive_prefix(key: &str) -> bool {
    let b = key.as_bytes();
    b.len() >= 2 && b[0].is_ascii_alphabetic() && b[1] == b':'
}

impl fmt::Display for StorageKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for StorageKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "StorageKey({:?})", &*self.0)
    }
}

impl AsRef<str> for StorageKey {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl FromStr for StorageKey {
    type Err = KeyError;

    fn from_str(s: &str) -> Result<Self, KeyError> {
        Self::new(s)
    }
}

impl TryFrom<String> for StorageKey {
    type Error = KeyError;

    fn try_from(s: String) -> Result<Self, KeyError> {
        Self::new(s)
    }
}

impl TryFrom<&str> for StorageKey {
    type Error = KeyError;

    fn try_from(s: &str) -> Result<Self, KeyError> {
        Self::new(s)
    }
}

impl Serialize for StorageKey {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for StorageKey {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::new(s).map_err(serde::de::Error::custom)
    }
}

/// A rejected storage key, with the rule it broke.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid storage key {key:?}: {problem}")]
pub struct KeyError {
    key: String,
    problem: KeyProblem,
}

impl KeyError {
    /// The rejected key.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The rule it broke.
    pub fn problem(&self) -> &KeyProblem {
        &self.problem
    }

    /// True if the key tried to leave the storage root (absolute, or a `..` segment).
    pub fn escapes_root(&self) -> bool {
        matches!(self.problem, KeyProblem::Absolute | KeyProblem::DotSegment)
    }
}

/// The rule a [`KeyError`] broke.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeyProblem {
    /// The key is empty.
    Empty,
    /// The key or one segment is too long.
    TooLong,
    /// The key is an absolute path (leading `/` or a drive prefix).
    Absolute,
    /// A segment is `.` or `..`.
    DotSegment,
    /// A segment is empty (`a//b` or a trailing `/`).
    EmptySegment,
    /// A segment starts with `.`, which is reserved for temporary and lock files.
    HiddenSegment,
    /// The key holds `\`, NUL or another control character.
    ForbiddenChar(char),
}

impl fmt::Display for KeyProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty => f.write_str("it is empty"),
            Self::TooLong => write!(
                f,
                "it is longer than {MAX_KEY_LEN} bytes or has a segment longer than {MAX_SEGMENT_LEN} bytes"
            ),
            Self::Absolute => f.write_str("it is an absolute path"),
            Self::DotSegment => f.write_str("it has a `.` or `..` segment"),
            Self::EmptySegment => f.write_str("it has an empty segment"),
            Self::HiddenSegment => {
                f.write_str("a segment starts with `.` (reserved for temporary and lock files)")
            }
            Self::ForbiddenChar(c) => write!(f, "it contains the forbidden character {c:?}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_nested_relative_paths() {
        for ok in ["a", "a/b/c.json", "flow-1/task_2-0.bin", "2024-01-01T00:00:00"] {
            assert!(StorageKey::new(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn rejects_escapes_and_oddities() {
        let cases = [
            ("", KeyProblem::Empty),
            ("/etc/passwd", KeyProblem::Absolute),
            ("C:/x", KeyProblem::Absolute),
            ("../x", KeyProblem::DotSegment),
            ("a/../../x", KeyProblem::DotSegment),
            ("a/./b", KeyProblem::DotSegment),
            ("a//b", KeyProblem::EmptySegment),
            ("a/", KeyProblem::EmptySegment),
            ("a/.tmp", KeyProblem::HiddenSegment),
            ("a\\b", KeyProblem::ForbiddenChar('\\')),
            ("a\0b", KeyProblem::ForbiddenChar('\0')),
        ];
        for (key, problem) in cases {
            let err = StorageKey::new(key).unwrap_err();
            assert_eq!(err.problem(), &problem, "{key:?}");
        }
        assert!(StorageKey::new("../x").unwrap_err().escapes_root());
        assert!(StorageKey::new("x".repeat(MAX_SEGMENT_LEN + 1)).is_err());
    }

    #[test]
    fn serde_validates() {
        let key: StorageKey = serde_json::from_str("\"a/b\"").unwrap();
        assert_eq!(serde_json::to_string(&key).unwrap(), "\"a/b\"");
        assert!(serde_json::from_str::<StorageKey>("\"../b\"").is_err());
    }
}
