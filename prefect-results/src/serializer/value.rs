//! The object-safe trait every value encoding implements.

use std::fmt;

use crate::error::BoxError;

/// A value encoding: how any `serde` value becomes bytes and back.
///
/// Implement it to store results in a format this crate does not ship (CBOR,
/// MessagePack, bincode, an encrypted wrapper…), then turn it into a
/// [`Serializer`](crate::Serializer) with
/// [`Serializer::custom`](crate::Serializer::custom). The trait is object safe:
/// values reach it as `&dyn erased_serde::Serialize` and leave it through a
/// [`ValueSink`], so one implementation serves every value type.
///
/// The built-in encodings implement it too ([`JsonSerializer`](crate::JsonSerializer),
/// [`PostcardSerializer`](crate::PostcardSerializer)), so an implementation can
/// wrap one of them.
///
/// # Contract
///
/// - [`name`](Self::name) is what records carry in their header and what
///   readers look the encoding up by. It must stay the same for the life of
///   the value; change it when the byte layout changes incompatibly (for
///   example `cbor-v2`), so old records become cache misses rather than
///   wrong values.
/// - [`deserialize`](Self::deserialize) must hand a deserializer over `bytes`
///   to the sink exactly once, and should reject trailing bytes if the format
///   can tell.
///
/// See the [module documentation](crate::serializer) for a complete example.
pub trait ValueSerializer: Send + Sync + fmt::Debug + 'static {
    /// The name stored records carry, e.g. `"cbor"`.
    ///
    /// [`Serializer::custom`](crate::Serializer::custom) reads it once and
    /// checks it: ASCII letters, digits, `-`, `_` and `.`, at most 64 bytes,
    /// and none of the built-in names.
    fn name(&self) -> &str;

    /// Encodes `value`.
    ///
    /// `&dyn erased_serde::Serialize` implements `serde::Serialize`, so it can
    /// be passed to any format's `to_vec`-style function as is.
    ///
    /// # Errors
    ///
    /// Whatever the format reports; the caller wraps it in
    /// [`Error::Serialize`](crate::Error::Serialize).
    fn serialize(&self, value: &dyn erased_serde::Serialize) -> Result<Vec<u8>, BoxError>;

    /// Decodes `bytes` by handing a deserializer over them to `sink` (see
    /// [`ValueSink::deserialize_from`]).
    ///
    /// # Errors
    ///
    /// The sink's error, or whatever the format reports (for example trailing
    /// bytes); the caller wraps it in
    /// [`Error::Deserialize`](crate::Error::Deserialize).
    fn deserialize(&self, bytes: &[u8], sink: &mut ValueSink<'_>) -> Result<(), BoxError>;
}

/// The callback a [`ValueSink`] wraps: it deserializes the caller's value type.
type Visit<'a> = dyn FnMut(&mut dyn erased_serde::Deserializer<'_>) -> Result<(), erased_serde::Error> + 'a;

/// Where a [`ValueSerializer`] delivers the value it decodes.
///
/// The value's type is known only to the caller, so an implementation cannot
/// return it; instead it builds its format's `serde::Deserializer` over the
/// bytes and passes it to [`deserialize_from`](Self::deserialize_from), which
/// deserializes the caller's type from it.
pub struct ValueSink<'a> {
    visit: &'a mut Visit<'a>,
}

impl<'a> ValueSink<'a> {
    /// A sink that runs `visit` on the deserializer it is given.
    pub(crate) fn new(visit: &'a mut Visit<'a>) -> Self {
        Self { visit }
    }

    /// Deserializes the caller's value from `deserializer`.
    ///
    /// Pass the format's deserializer the way its own `from_slice` would
    /// (usually `&mut Deserializer`), then check for trailing bytes.
    ///
    /// # Errors
    ///
    /// The format's error, or a type mismatch between the bytes and the
    /// requested value type.
    pub fn deserialize_from<'de, D: serde::Deserializer<'de>>(
        &mut self,
        deserializer: D,
    ) -> Result<(), erased_serde::Error> {
        self.deserialize_erased(&mut <dyn erased_serde::Deserializer<'de>>::erase(deserializer))
    }

    /// [`deserialize_from`](Self::deserialize_from) for an already type-erased
    /// deserializer.
    ///
    /// # Errors
    ///
    /// As [`deserialize_from`](Self::deserialize_from).
    pub fn deserialize_erased(
        &mut self,
        deserializer: &mut dyn erased_serde::Deserializer<'_>,
    ) -> Result<(), erased_serde::Error> {
        (self.visit)(deserializer)
    }
}

impl fmt::Debug for ValueSink<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ValueSink").finish_non_exhaustive()
    }
}
