//! The typed pieces generated code hands the engine so that it can cache
//! without knowing the types: a [`Codec`] for the return type and an inputs
//! function that feeds each argument to an [`InputSink`], together a
//! [`CacheSource`].
//!
//! Generated code picks them with autoref probes (`__private_v1::Probe`), so
//! a task whose types are not serde types still compiles (and is simply not
//! cached); the macros add a compile-time bound, spanned on the option, when
//! an attribute asks for caching. None of this is public API: the engine's
//! glue module re-exports it for generated code.

use std::any::Any;

use chrono::{DateTime, Utc};
use prefect_results::{CacheKeyBuilder, ResultRecord};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::CacheInputs;

/// Encodes and decodes records of `T` (the storage I/O is the engine's).
pub struct Codec<T> {
    pub(crate) decode: DecodeFn<T>,
    pub(crate) encode: EncodeFn<T>,
}

type DecodeFn<T> = fn(&[u8], DateTime<Utc>, String) -> prefect_results::Result<ResultRecord<T>>;
type EncodeFn<T> = fn(&ResultRecord<&T>) -> prefect_results::Result<Vec<u8>>;

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
            decode: |bytes, now, location| ResultRecord::<T>::from_stored(bytes, now, location),
            encode: |record| record.to_bytes(),
        }
    }
}

impl<T: Serialize + DeserializeOwned> Default for Codec<T> {
    fn default() -> Self {
        Self::new()
    }
}

/// Feeds a call's arguments, given as `&dyn Any`, to an [`InputSink`];
/// false when they are not of the expected type. Generated code writes one
/// per task (a closure without captures), so calls carry no allocation.
pub type InputsFn = for<'a, 'b> fn(&'a dyn Any, &'a mut InputSink<'b>) -> bool;

/// What the engine needs to persist and cache a call's value, carried by
/// the call beside its attempts: the value's codec (serde types only) and
/// how to read the arguments into a cache key.
pub struct CacheSource<T> {
    pub(crate) codec: Option<Codec<T>>,
    pub(crate) inputs: InputsFn,
}

impl<T> CacheSource<T> {
    /// A source with `codec` and `inputs`.
    pub fn new(codec: Option<Codec<T>>, inputs: InputsFn) -> Self {
        CacheSource { codec, inputs }
    }

    /// No codec and no known arguments (hand-built calls).
    pub fn none() -> Self {
        CacheSource { codec: None, inputs: no_inputs }
    }

    /// Feeds `args` to `sink`; false when the arguments are unknown.
    pub(crate) fn feed(&self, args: Option<&dyn Any>, sink: &mut InputSink<'_>) -> bool {
        args.is_some_and(|args| (self.inputs)(args, sink))
    }
}

/// Arguments the engine cannot describe (a flow's are its parameters,
/// recorded elsewhere; a hand-built call's are unknown).
pub fn no_inputs(_: &dyn Any, _: &mut InputSink<'_>) -> bool {
    false
}

impl<T> std::fmt::Debug for CacheSource<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CacheSource").field("codec", &self.codec.is_some()).finish_non_exhaustive()
    }
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
