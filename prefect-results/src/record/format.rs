//! Encoding and decoding the on-disk layout documented in the parent module.

use serde::{Deserialize, Serialize};

use super::RecordMetadata;
use crate::error::Corruption;

/// The first eight bytes of every record.
pub const MAGIC: [u8; 8] = *b"\x89PFRS\r\n\x1a";
/// The record format version this crate writes and reads.
pub const FORMAT_VERSION: u16 = 1;

const FIXED_LEN: usize = MAGIC.len() + 2 + 4;
const MAX_METADATA_LEN: usize = 1 << 20;

#[derive(Serialize)]
struct HeaderOut<'a> {
    meta: &'a RecordMetadata,
    value: ValueInfo,
}

#[derive(Deserialize)]
struct HeaderIn {
    meta: RecordMetadata,
    value: ValueInfo,
}

#[derive(Serialize, Deserialize)]
struct ValueInfo {
    len: u64,
    #[serde(with = "hex_hash")]
    blake3: blake3::Hash,
}

/// A record split into its parts, value not yet verified or decoded.
#[derive(Debug)]
pub(crate) struct Decoded<'a> {
    pub(crate) meta: RecordMetadata,
    checksum: blake3::Hash,
    pub(crate) value: &'a [u8],
}

impl Decoded<'_> {
    /// Checks the value bytes against the stored checksum.
    pub(crate) fn verify(&self) -> Result<(), Corruption> {
        if blake3::hash(self.value) == self.checksum { Ok(()) } else { Err(Corruption::ChecksumMismatch) }
    }
}

/// Lays out a record: fixed header, metadata JSON, value bytes.
pub(crate) fn encode(meta: &RecordMetadata, value: &[u8]) -> Result<Vec<u8>, serde_json::Error> {
    let header =
        HeaderOut { meta, value: ValueInfo { len: value.len() as u64, blake3: blake3::hash(value) } };
    let json = serde_json::to_vec(&header)?;
    let mut out = Vec::with_capacity(FIXED_LEN + json.len() + value.len());
    out.extend_from_slice(&MAGIC);
    out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    // The metadata is a few hundred bytes: it always fits in a u32.
    out.extend_from_slice(&(json.len() as u32).to_le_bytes());
    out.extend_from_slice(&json);
    out.extend_from_slice(value);
    Ok(out)
}

/// Splits `bytes` into metadata and value, checking magic, version and lengths.
pub(crate) fn decode(bytes: &[u8]) -> Result<Decoded<'_>, Corruption> {
    let magic_len = bytes.len().min(MAGIC.len());
    if bytes[..magic_len] != MAGIC[..magic_len] {
        return Err(Corruption::NotARecord);
    }
    let truncated =
        |expected: usize| Corruption::Truncated { expected: expected as u64, found: bytes.len() as u64 };
    let fixed = bytes.get(..FIXED_LEN).ok_or_else(|| truncated(FIXED_LEN))?;
    let version = u16::from_le_bytes([fixed[8], fixed[9]]);
    if version != FORMAT_VERSION {
        return Err(Corruption::UnsupportedVersion { found: version, supported: FORMAT_VERSION });
    }
    let meta_len = u32::from_le_bytes([fixed[10], fixed[11], fixed[12], fixed[13]]) as usize;
    if meta_len > MAX_METADATA_LEN {
        return Err(bad_metadata(format!("length {meta_len} exceeds 1 MiB")));
    }
    let meta_end = FIXED_LEN + meta_len;
    let json = bytes.get(FIXED_LEN..meta_end).ok_or_else(|| truncated(meta_end))?;
    let header: HeaderIn = serde_json::from_slice(json).map_err(|e| bad_metadata(e.to_string()))?;
    split_value(bytes, meta_end, header)
}

fn split_value(bytes: &[u8], start: usize, header: HeaderIn) -> Result<Decoded<'_>, Corruption> {
    let value = &bytes[start..];
    let expected = header.value.len;
    if (value.len() as u64) < expected {
        return Err(Corruption::Truncated { expected: start as u64 + expected, found: bytes.len() as u64 });
    }
    if value.len() as u64 > expected {
        let extra = value.len() as u64 - expected;
        return Err(bad_metadata(format!("{extra} bytes after the value")));
    }
    Ok(Decoded { meta: header.meta, checksum: header.value.blake3, value })
}

fn bad_metadata(reason: String) -> Corruption {
    Corruption::BadMetadata { reason }
}

mod hex_hash {
    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(hash: &blake3::Hash, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(hash.to_hex().as_str())
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<blake3::Hash, D::Error> {
        let hex = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        blake3::Hash::from_hex(hex.as_bytes()).map_err(serde::de::Error::custom)
    }
}
