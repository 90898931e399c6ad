//! Value serializers: JSON, postcard, and zstd compression over either.

use std::fmt;
use std::str::FromStr;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize};

mod compress;

use crate::error::{BoxError, Error, Result};

/// The encoding of a stored value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum Format {
    /// JSON via `serde_json`: readable, self-describing, the default.
    #[default]
    Json,
    /// postcard: a compact binary format. Not self-describing, so types that
    /// need `deserialize_any` (`serde_json::Value`, untagged enums,
    /// `#[serde(flatten)]`) do not round-trip through it; use JSON for those.
    Postcard,
}

/// Compression applied after encoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum Compression {
    /// Stored as encoded.
    #[default]
    None,
    /// zstd at the given level (1-22; 3 is zstd's default). Needs the `zstd`
    /// cargo feature to write or read.
    Zstd {
        /// The compression level used when writing (reading ignores it).
        level: i32,
    },
}

/// How a value becomes bytes and back: a [`Format`] plus optional
/// [`Compression`].
///
/// Each stored record names its serializer: `json`, `postcard`, `zstd+json`
/// or `zstd+postcard` ([`Display`](fmt::Display)). [`FromStr`] also takes
/// Prefect's names `compressed/json` and `binary` / `compressed/binary`
/// (= postcard). The zstd level is a write setting and is not part of the name.
///
/// # Examples
///
/// ```
/// use prefect_results::Serializer;
///
/// let s = Serializer::POSTCARD;
/// let bytes = s.serialize(&vec![1u32, 2, 3])?;
/// assert_eq!(s.deserialize::<Vec<u32>>(&bytes)?, vec![1, 2, 3]);
/// assert_eq!("compressed/json".parse::<Serializer>()?, Serializer::JSON.compressed());
/// assert_eq!(Serializer::JSON.compressed().to_string(), "zstd+json");
/// # Ok::<(), prefect_results::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Serializer {
    format: Format,
    compression: Compression,
}

/// zstd's own default level.
const DEFAULT_ZSTD_LEVEL: i32 = 3;

impl Serializer {
    /// JSON, uncompressed (the default).
    pub const JSON: Self = Self::new(Format::Json);
    /// postcard, uncompressed.
    pub const POSTCARD: Self = Self::new(Format::Postcard);

    /// `format`, uncompressed.
    pub const fn new(format: Format) -> Self {
        Self { format, compression: Compression::None }
    }

    /// The same format, zstd-compressed at level 3.
    pub const fn compressed(self) -> Self {
        self.with_zstd_level(DEFAULT_ZSTD_LEVEL)
    }

    /// The same format, zstd-compressed at `level`.
    pub const fn with_zstd_level(self, level: i32) -> Self {
        Self { format: self.format, compression: Compression::Zstd { level } }
    }

    /// False for a compressed serializer when this build lacks the `zstd`
    /// feature (its `serialize` and `deserialize` would fail).
    pub const fn is_supported(&self) -> bool {
        match self.compression {
            Compression::None => true,
            Compression::Zstd { .. } => cfg!(feature = "zstd"),
        }
    }

    /// The value encoding.
    pub const fn format(&self) -> Format {
        self.format
    }

    /// The compression applied after encoding.
    pub const fn compression(&self) -> Compression {
        self.compression
    }

    /// Encodes `value` (then compresses, if configured).
    ///
    /// # Errors
    ///
    /// [`Error::Serialize`] if the value's `Serialize` impl fails or the format
    /// cannot express it; [`Error::FeatureDisabled`] for zstd without the
    /// `zstd` feature.
    pub fn serialize<T: Serialize + ?Sized>(&self, value: &T) -> Result<Vec<u8>> {
        let encoded = match self.format {
            Format::Json => serde_json::to_vec(value).map_err(|e| self.ser_err(e)),
            Format::Postcard => postcard::to_allocvec(value).map_err(|e| self.ser_err(e)),
        }?;
        match self.compression {
            Compression::None => Ok(encoded),
            Compression::Zstd { level } => compress::compress(&encoded, level)
                .map_err(|e| e.into_error(|source| Error::Serialize { serializer: *self, source })),
        }
    }

    /// Decompresses (if configured) and decodes `bytes` as a `T`.
    ///
    /// # Errors
    ///
    /// [`Error::Deserialize`] if the bytes do not decode as a `T`;
    /// [`Error::FeatureDisabled`] for zstd without the `zstd` feature.
    pub fn deserialize<T: DeserializeOwned>(&self, bytes: &[u8]) -> Result<T> {
        let decompressed;
        let encoded = match self.compression {
            Compression::None => bytes,
            Compression::Zstd { .. } => {
                decompressed = compress::decompress(bytes)
                    .map_err(|e| e.into_error(|source| Error::Deserialize { serializer: *self, source }))?;
                &decompressed
            }
        };
        match self.format {
            Format::Json => serde_json::from_slice(encoded).map_err(|e| self.de_err(e)),
            Format::Postcard => postcard::from_bytes(encoded).map_err(|e| self.de_err(e)),
        }
    }

    fn ser_err(&self, e: impl Into<BoxError>) -> Error {
        Error::Serialize { serializer: *self, source: e.into() }
    }

    fn de_err(&self, e: impl Into<BoxError>) -> Error {
        Error::Deserialize { serializer: *self, source: e.into() }
    }
}

impl fmt::Display for Serializer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Compression::Zstd { .. } = self.compression {
            f.write_str("zstd+")?;
        }
        f.write_str(match self.format {
            Format::Json => "json",
            Format::Postcard => "postcard",
        })
    }
}

impl FromStr for Serializer {
    type Err = Error;

    fn from_str(name: &str) -> Result<Self> {
        let unknown = || Error::UnknownSerializer { name: name.to_owned() };
        let (compressed, format) = match name.split_once(['+', '/']) {
            Some(("zstd" | "compressed", rest)) => (true, rest),
            Some(_) => return Err(unknown()),
            None => (false, name),
        };
        let format = match format {
            "json" => Format::Json,
            "postcard" | "binary" => Format::Postcard,
            _ => return Err(unknown()),
        };
        let serializer = Self::new(format);
        Ok(if compressed { serializer.compressed() } else { serializer })
    }
}

impl Serialize for Serializer {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Serializer {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        name.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests;
