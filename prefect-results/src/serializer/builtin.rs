//! The built-in encodings as [`ValueSerializer`]s.
//!
//! [`Serializer`](super::Serializer) does not go through these for its own
//! JSON and postcard paths (it calls `serde_json` and `postcard` directly,
//! without type erasure); they exist so a user encoding can wrap a built-in
//! one (encryption over JSON, say).

use super::value::{ValueSerializer, ValueSink};
use crate::error::BoxError;

/// JSON via `serde_json`, as a [`ValueSerializer`] named `json`.
///
/// Produces the same bytes as [`Serializer::JSON`](super::Serializer::JSON).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct JsonSerializer;

impl ValueSerializer for JsonSerializer {
    fn name(&self) -> &str {
        "json"
    }

    fn serialize(&self, value: &dyn erased_serde::Serialize) -> Result<Vec<u8>, BoxError> {
        Ok(serde_json::to_vec(value)?)
    }

    fn deserialize(&self, bytes: &[u8], sink: &mut ValueSink<'_>) -> Result<(), BoxError> {
        // As `serde_json::from_slice`: decode, then reject trailing non-whitespace.
        let mut de = serde_json::Deserializer::from_slice(bytes);
        sink.deserialize_from(&mut de)?;
        de.end()?;
        Ok(())
    }
}

/// postcard, as a [`ValueSerializer`] named `postcard`.
///
/// Produces the same bytes as [`Serializer::POSTCARD`](super::Serializer::POSTCARD).
/// postcard is not self-describing: types that need `deserialize_any` do not
/// round-trip through it (see [`Format::Postcard`](super::Format::Postcard)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct PostcardSerializer;

impl ValueSerializer for PostcardSerializer {
    fn name(&self) -> &str {
        "postcard"
    }

    fn serialize(&self, value: &dyn erased_serde::Serialize) -> Result<Vec<u8>, BoxError> {
        Ok(postcard::to_allocvec(value)?)
    }

    fn deserialize(&self, bytes: &[u8], sink: &mut ValueSink<'_>) -> Result<(), BoxError> {
        // As `postcard::from_bytes`, which ignores trailing bytes: records
        // written through the direct path must decode the same way here.
        let mut de = postcard::Deserializer::from_bytes(bytes);
        sink.deserialize_from(&mut de)?;
        Ok(())
    }
}
