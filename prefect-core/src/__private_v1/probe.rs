//! One autoref probe for every per-type choice generated code makes.
//!
//! `(&&Probe::<T>::new()).method(..)` resolves to the `Via*` trait's method
//! when `T` has the capability (its impl is on `&Probe<T>`, found first by
//! autoref) and to the `No*` fallback otherwise (on `Probe<T>`, found
//! after one auto-deref). So a task whose types lack `Clone` or serde
//! still compiles, and simply does without what needs them.

use std::marker::PhantomData;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::results::glue::{Codec, InputSink};

/// Asks what `T` can do.
#[derive(Debug)]
pub struct Probe<T: ?Sized>(PhantomData<fn() -> Box<T>>);

impl<T: ?Sized> Probe<T> {
    /// A probe.
    pub fn new() -> Self {
        Probe(PhantomData)
    }
}

impl<T: ?Sized> Default for Probe<T> {
    fn default() -> Self {
        Self::new()
    }
}

/// Chosen when `T: Clone`.
pub trait ViaClone<T> {
    /// `Some(clone)`.
    fn cloner(&self) -> Option<fn(&T) -> T>;
}

/// Chosen otherwise.
pub trait NoClone<T> {
    /// `None`.
    fn cloner(&self) -> Option<fn(&T) -> T>;
}

impl<T: Clone> ViaClone<T> for &Probe<T> {
    fn cloner(&self) -> Option<fn(&T) -> T> {
        Some(T::clone)
    }
}

impl<T> NoClone<T> for Probe<T> {
    fn cloner(&self) -> Option<fn(&T) -> T> {
        None
    }
}

/// Chosen when `T: Serialize + DeserializeOwned`: values can be persisted.
pub trait ViaCodec<T> {
    /// `Some(codec)`.
    fn codec(&self) -> Option<Codec<T>>;
}

/// Chosen otherwise.
pub trait NoCodec<T> {
    /// `None`.
    fn codec(&self) -> Option<Codec<T>>;
}

impl<T: Serialize + DeserializeOwned> ViaCodec<T> for &Probe<T> {
    fn codec(&self) -> Option<Codec<T>> {
        Some(Codec::new())
    }
}

impl<T> NoCodec<T> for Probe<T> {
    fn codec(&self) -> Option<Codec<T>> {
        None
    }
}

/// Chosen when `T: Serialize`: an argument can be recorded and hashed.
pub trait ViaSerialize<T: ?Sized> {
    /// The value as JSON.
    fn param_json(&self, value: &T) -> serde_json::Value;
    /// Adds the value to a cache key and the JSON inputs.
    fn feed(&self, name: &str, value: &T, sink: &mut InputSink<'_>);
}

/// Chosen otherwise.
pub trait NoSerialize<T: ?Sized> {
    /// A placeholder naming the type.
    fn param_json(&self, value: &T) -> serde_json::Value;
    /// Adds a placeholder that makes keys using it fail.
    fn feed(&self, name: &str, value: &T, sink: &mut InputSink<'_>);
}

impl<T: Serialize + ?Sized> ViaSerialize<T> for &Probe<T> {
    fn param_json(&self, value: &T) -> serde_json::Value {
        serde_json::to_value(value)
            .unwrap_or_else(|e| serde_json::Value::String(format!("<not serializable: {e}>")))
    }

    fn feed(&self, name: &str, value: &T, sink: &mut InputSink<'_>) {
        sink.serialize(name, value);
    }
}

impl<T: ?Sized> NoSerialize<T> for Probe<T> {
    fn param_json(&self, _: &T) -> serde_json::Value {
        serde_json::Value::String(format!("<{}>", std::any::type_name::<T>()))
    }

    fn feed(&self, name: &str, _: &T, sink: &mut InputSink<'_>) {
        sink.opaque(name, std::any::type_name::<T>());
    }
}

/// Chosen when the parameter type describes itself as a JSON Schema.
pub trait ViaSchema<T: ?Sized> {
    /// Its schema, inlined.
    fn schema(&self, generator: &mut schemars::SchemaGenerator) -> serde_json::Value;
}

/// Chosen otherwise.
pub trait NoSchema<T: ?Sized> {
    /// Any value: `{}`.
    fn schema(&self, generator: &mut schemars::SchemaGenerator) -> serde_json::Value;
}

impl<T: schemars::JsonSchema + ?Sized> ViaSchema<T> for &Probe<T> {
    fn schema(&self, generator: &mut schemars::SchemaGenerator) -> serde_json::Value {
        serde_json::to_value(generator.subschema_for::<T>()).unwrap_or_else(|_| serde_json::json!({}))
    }
}

impl<T: ?Sized> NoSchema<T> for Probe<T> {
    fn schema(&self, _: &mut schemars::SchemaGenerator) -> serde_json::Value {
        serde_json::json!({})
    }
}

/// A generator that inlines every subschema, so each parameter's schema
/// stands alone under `properties`.
pub fn schema_generator() -> schemars::SchemaGenerator {
    schemars::generate::SchemaSettings::draft2020_12().with(|s| s.inline_subschemas = true).into_generator()
}

/// The schema of a flow's parameters: an object of them, each required.
pub fn object_schema(properties: Vec<(&str, serde_json::Value)>) -> serde_json::Value {
    let required: Vec<&str> = properties.iter().map(|(name, _)| *name).collect();
    let properties: serde_json::Map<String, serde_json::Value> =
        properties.into_iter().map(|(name, schema)| (name.to_owned(), schema)).collect();
    serde_json::json!({ "type": "object", "properties": properties, "required": required })
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Opaque;

    // The double borrow is the probe: it must stay.
    #[test]
    #[allow(clippy::needless_borrow)]
    fn each_capability_is_chosen_by_the_type() {
        assert!((&&Probe::<String>::new()).cloner().is_some());
        assert!((&&Probe::<Opaque>::new()).cloner().is_none());
        assert!((&&Probe::<u32>::new()).codec().is_some());
        assert!((&&Probe::<Opaque>::new()).codec().is_none());
        assert_eq!((&&Probe::<u32>::new()).param_json(&7), serde_json::json!(7));
        let mut generator = schema_generator();
        let months = (&&Probe::<Vec<u32>>::new()).schema(&mut generator);
        assert_eq!(months["type"], "array");
        assert_eq!(months["items"]["type"], "integer");
        assert_eq!((&&Probe::<Opaque>::new()).schema(&mut generator), serde_json::json!({}));
        let opaque = (&&Probe::<Opaque>::new()).param_json(&Opaque);
        assert!(opaque.as_str().unwrap().ends_with("Opaque>"), "{opaque}");
    }
}
