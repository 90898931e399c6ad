//! Value serializers: how a result value becomes bytes and back.
//!
//! A [`Serializer`] is a [`Format`] (the encoding) plus a [`Compression`]
//! (applied after encoding). The formats are:
//!
//! - JSON (`json`, the default): readable and self-describing;
//! - postcard (`postcard`): compact binary, not self-describing;
//! - any user type implementing [`ValueSerializer`], registered by
//!   [`Serializer::custom`] under the name it gives.
//!
//! Compression wraps any of them: [`Serializer::compressed`] gives zstd, and the
//! name becomes `zstd+<format>`. Every stored record names its serializer in
//! its header, next to the record format version, and is decoded with the
//! serializer that name parses to.
//!
//! # Custom serializers
//!
//! Implement [`ValueSerializer`]: a name, an encoder taking
//! `&dyn erased_serde::Serialize`, and a decoder that hands its format's
//! `serde::Deserializer` to a [`ValueSink`]. [`Serializer::custom`] checks the
//! name and registers the implementation for this process, so records naming
//! it can be read back. Register it before reading such records: until then
//! their name is unknown and a read is a cache miss ([`Error::Corrupt`]).
//!
//! ```
//! use prefect_results::erased_serde;
//! use prefect_results::{BoxError, MemoryStorage, ResultRecord, Serializer, StorageKey};
//! use prefect_results::{ValueSerializer, ValueSink};
//!
//! /// Indented JSON, for results people read by hand.
//! #[derive(Debug)]
//! struct PrettyJson;
//!
//! impl ValueSerializer for PrettyJson {
//!     fn name(&self) -> &str {
//!         "pretty-json"
//!     }
//!
//!     fn serialize(&self, value: &dyn erased_serde::Serialize) -> Result<Vec<u8>, BoxError> {
//!         Ok(serde_json::to_vec_pretty(value)?)
//!     }
//!
//!     fn deserialize(&self, bytes: &[u8], sink: &mut ValueSink<'_>) -> Result<(), BoxError> {
//!         let mut de = serde_json::Deserializer::from_slice(bytes);
//!         sink.deserialize_from(&mut de)?;
//!         de.end()?; // no trailing bytes
//!         Ok(())
//!     }
//! }
//!
//! let pretty = Serializer::custom(PrettyJson)?; // `Copy`, like the built-ins
//! assert_eq!(pretty.to_string(), "pretty-json");
//! assert_eq!(pretty.serialize(&[1, 2])?, b"[\n  1,\n  2\n]");
//!
//! // Records name it, and read back through the registry.
//! let storage = MemoryStorage::new();
//! let key = StorageKey::new("reports/daily")?;
//! ResultRecord::new(key.clone(), pretty, vec!["ok".to_string()]).write_to(&storage)?;
//! let hit = ResultRecord::<Vec<String>>::read_from(&storage, &key)?.expect("stored");
//! assert_eq!(hit.metadata().serializer(), pretty);
//! assert_eq!(hit.value(), &["ok"]);
//!
//! // The name is parsed like the built-in ones, with or without compression.
//! assert_eq!("pretty-json".parse::<Serializer>()?, pretty);
//! assert_eq!("zstd+pretty-json".parse::<Serializer>()?, pretty.compressed());
//!
//! // Names are unique: the built-in encodings hold theirs (they implement
//! // the trait too, so a custom encoding can wrap one).
//! let err = Serializer::custom(prefect_results::JsonSerializer).unwrap_err();
//! assert!(matches!(err, prefect_results::Error::InvalidSerializerName { .. }));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Performance
//!
//! The built-in formats are called directly, with no type erasure. A custom
//! format goes through `erased_serde`: a few virtual calls per serde method,
//! so values with many small elements pay the most. In this crate's bench
//! (`cargo bench -p prefect-results --bench results`), reading a ~1 KB record
//! from memory takes 4 µs with [`Serializer::JSON`] and 9 µs with JSON
//! wrapped as a custom format (postcard: 1.6 µs and 8 µs); writing the record
//! to a local file takes about 350 µs either way.

use std::fmt;
use std::str::FromStr;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize};

mod builtin;
mod compress;
mod custom;
mod registry;
mod value;

pub use builtin::{JsonSerializer, PostcardSerializer};
pub use custom::CustomFormat;
pub use value::{ValueSerializer, ValueSink};

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
    /// A user encoding registered with [`Serializer::custom`].
    Custom(CustomFormat),
}

impl Format {
    /// The name records carry for this format, without compression.
    pub const fn name(&self) -> &str {
        match self {
            Self::Json => "json",
            Self::Postcard => "postcard",
            Self::Custom(custom) => custom.name(),
        }
    }
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
/// Each stored record names its serializer: `json`, `postcard`, `zstd+json`,
/// `zstd+postcard`, or a custom format's name with or without `zstd+`
/// ([`Display`](fmt::Display)). [`FromStr`] also takes Prefect's names
/// `compressed/json` and `binary` / `compressed/binary` (= postcard), and
/// looks custom names up among those registered by [`Serializer::custom`].
/// The zstd level is a write setting and is not part of the name.
///
/// Two serializers are equal when their formats have the same name and their
/// compression (level included) is the same.
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
///
/// See the [module documentation](self) for a custom format.
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

    /// A user encoding, uncompressed, registered for this process under its
    /// [`name`](ValueSerializer::name) so that records naming it can be read
    /// (by [`FromStr`], serde, and [`ResultRecord`](crate::ResultRecord)).
    ///
    /// Calling it again with a value of the same type replaces the registered
    /// one for the whole process, serializers returned earlier included: the
    /// last registration wins, and a name always means one implementation to
    /// writers and readers alike.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidSerializerName`] if the name is empty, longer than 64
    /// bytes, has characters other than ASCII letters, digits, `-`, `_` and
    /// `.`, is a built-in name (`json`, `postcard`, `binary`, `zstd`,
    /// `compressed`, in any case), or is already registered by another type.
    pub fn custom<S: ValueSerializer>(serializer: S) -> Result<Self> {
        registry::register(serializer).map(|custom| Self::new(Format::Custom(custom)))
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
        // Built-ins are called directly: type erasure costs a virtual call per
        // serde method, paid only by custom formats.
        let encoded = match self.format {
            Format::Json => serde_json::to_vec(value).map_err(|e| self.ser_err(e)),
            Format::Postcard => postcard::to_allocvec(value).map_err(|e| self.ser_err(e)),
            // `&T` is sized even when `T` is not, so it erases.
            Format::Custom(custom) => {
                custom.value_serializer().serialize(&value).map_err(|e| self.ser_err(e))
            }
        }?;
        match self.compression {
            Compression::None => Ok(encoded),
            Compression::Zstd { level } => {
                compress::compress(&encoded, level).map_err(|e| e.into_error(|source| self.ser_err(source)))
            }
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
                decompressed =
                    compress::decompress(bytes).map_err(|e| e.into_error(|source| self.de_err(source)))?;
                &decompressed
            }
        };
        match self.format {
            Format::Json => serde_json::from_slice(encoded).map_err(|e| self.de_err(e)),
            Format::Postcard => postcard::from_bytes(encoded).map_err(|e| self.de_err(e)),
            Format::Custom(custom) => self.deserialize_custom(custom, encoded),
        }
    }

    /// Decodes through a custom format's [`ValueSink`].
    fn deserialize_custom<T: DeserializeOwned>(&self, custom: CustomFormat, bytes: &[u8]) -> Result<T> {
        let mut value = None;
        let visit = &mut |de: &mut dyn erased_serde::Deserializer<'_>| {
            value = Some(erased_serde::deserialize::<T>(de)?);
            Ok(())
        };
        custom
            .value_serializer()
            .deserialize(bytes, &mut ValueSink::new(visit))
            .map_err(|e| self.de_err(e))?;
        // A faulty implementation may return Ok without using the sink.
        value.ok_or_else(|| self.de_err(format!("`{}` returned without decoding a value", custom.name())))
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
        f.write_str(self.format.name())
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
            // A custom name has no `+` or `/`, so `format` is all of it.
            custom => Format::Custom(registry::lookup(custom).ok_or_else(unknown)?),
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
