//! The typed pieces generated code hands the engine so that it can cache
//! without knowing the types: a [`Codec`] for the return type and an inputs
//! function that feeds each argument to an [`InputSink`].
//!
//! Both are chosen by autoref probes, so a task whose types are not serde
//! types still compiles (and is simply not cached); the macros add a
//! compile-time bound, spanned on the option, when an attribute asks for
//! caching.

use std::marker::PhantomData;

use chrono::{DateTime, Utc};
use prefect_results::{CacheKeyBuilder, ResultRecord, ResultStorage, StorageKey};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::CacheInputs;

/// Reads and writes records of `T`.
pub struct Codec<T> {
    pub(crate) read: ReadFn<T>,
    pub(crate) write: WriteFn<T>,
}

type ReadFn<T> =
    fn(&dyn ResultStorage, &StorageKey, DateTime<Utc>) -> prefect_results::Result<Option<ResultRecord<T>>>;
type WriteFn<T> = fn(&ResultRecord<&T>, &dyn ResultStorage) -> prefect_results::Result<()>;

impl<T> Clone for Codec<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T> Copy for Codec<T> {}

impl<T> std::fmt::Debug for Codec<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Codec")
    }
}

impl<T: Serialize + DeserializeOwned> Codec<T> {
    /// The codec of a serde type.
    pub fn new() -> Self {
        Codec {
            read: |storage, key, now| ResultRecord::<T>::read_from_at(storage, key, now),
            write: |record, storage| record.write_to(storage),
        }
    }
}

impl<T: Serialize + DeserializeOwned> Default for Codec<T> {
    fn default() -> Self {
        Self::new()
    }
}

/// Feeds a call's arguments to an [`InputSink`].
pub type InputsFn<A> = for<'a, 'b> fn(&'a A, &'a mut InputSink<'b>);

/// What a generated call gives the engine for caching.
pub struct CacheGlue<A, T> {
    pub(crate) codec: Option<Codec<T>>,
    pub(crate) inputs: InputsFn<A>,
}

impl<A, T> std::fmt::Debug for CacheGlue<A, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CacheGlue").field("codec", &self.codec.is_some()).finish()
    }
}

/// The glue of one task: its return type's codec (if it has one) and its
/// inputs function.
pub fn cache_glue<A, T>(codec: Option<Codec<T>>, inputs: InputsFn<A>) -> CacheGlue<A, T> {
    CacheGlue { codec, inputs }
}

/// Collects a call's arguments: into a cache key, and as JSON for custom
/// key functions and `{parameters.x}` in storage keys.
#[derive(Debug, Default)]
pub struct InputSink<'a> {
    pub(crate) key: Option<CacheKeyBuilder<'a>>,
    pub(crate) json: Option<serde_json::Map<String, serde_json::Value>>,
}

impl InputSink<'_> {
    /// Adds an argument whose type is `Serialize`.
    pub fn serialize<T: Serialize + ?Sized>(&mut self, name: &str, value: &T) {
        if let Some(key) = self.key.take() {
            self.key = Some(key.input(name, value));
        }
        if let Some(json) = &mut self.json {
            let value = serde_json::to_value(value)
                .unwrap_or_else(|e| serde_json::Value::String(format!("<not serializable: {e}>")));
            json.insert(name.to_owned(), value);
        }
    }

    /// Adds an argument whose type is not `Serialize`: a key that uses it
    /// cannot be computed.
    pub fn opaque(&mut self, name: &str, type_name: &'static str) {
        if let Some(key) = self.key.take() {
            self.key = Some(key.input(name, &NotSerialize(type_name)));
        }
        if let Some(json) = &mut self.json {
            json.insert(name.to_owned(), serde_json::Value::String(format!("<{type_name}>")));
        }
    }

    pub(crate) fn into_inputs(self) -> CacheInputs {
        CacheInputs { values: self.json.unwrap_or_default() }
    }
}

/// Stands for an argument without `Serialize`: serializing it fails with
/// a message naming its type.
struct NotSerialize(&'static str);

impl Serialize for NotSerialize {
    fn serialize<S: serde::Serializer>(&self, _: S) -> Result<S::Ok, S::Error> {
        Err(serde::ser::Error::custom(format_args!("`{}` does not implement Serialize", self.0)))
    }
}

/// Finds out whether `T` has a codec (call as `(&&CodecProbe::<T>::new()).codec()`).
#[derive(Debug)]
pub struct CodecProbe<T>(PhantomData<T>);

impl<T> CodecProbe<T> {
    /// A probe.
    pub fn new() -> Self {
        CodecProbe(PhantomData)
    }
}

impl<T> Default for CodecProbe<T> {
    fn default() -> Self {
        Self::new()
    }
}

/// Chosen when `T: Serialize + DeserializeOwned`.
pub trait ViaCodec<T> {
    /// `Some(codec)`.
    fn codec(&self) -> Option<Codec<T>>;
}

/// Chosen otherwise.
pub trait ViaNoCodec<T> {
    /// `None`.
    fn codec(&self) -> Option<Codec<T>>;
}

impl<T: Serialize + DeserializeOwned> ViaCodec<T> for &CodecProbe<T> {
    fn codec(&self) -> Option<Codec<T>> {
        Some(Codec::new())
    }
}

impl<T> ViaNoCodec<T> for CodecProbe<T> {
    fn codec(&self) -> Option<Codec<T>> {
        None
    }
}

/// Feeds one argument to a sink (call as `(&&KeyProbe(&x)).feed("x", sink)`).
#[derive(Debug)]
pub struct KeyProbe<'a, T>(pub &'a T);

/// Chosen when the argument is `Serialize`.
pub trait ViaKeySerialize {
    /// Adds the value.
    fn feed(&self, name: &str, sink: &mut InputSink<'_>);
}

/// Chosen otherwise.
pub trait ViaKeyOpaque {
    /// Adds a placeholder that makes keys using it fail.
    fn feed(&self, name: &str, sink: &mut InputSink<'_>);
}

impl<T: Serialize> ViaKeySerialize for &KeyProbe<'_, T> {
    fn feed(&self, name: &str, sink: &mut InputSink<'_>) {
        sink.serialize(name, self.0);
    }
}

impl<T> ViaKeyOpaque for KeyProbe<'_, T> {
    fn feed(&self, name: &str, sink: &mut InputSink<'_>) {
        sink.opaque(name, std::any::type_name::<T>());
    }
}
