//! Reading a TOML value into the caller's type, with errors that say
//! "expected a string, found an integer".

use std::fmt;

use serde::de::value::{MapAccessDeserializer, MapDeserializer, SeqDeserializer};
use serde::de::{self, Expected, IntoDeserializer, Unexpected, Visitor};
use toml::Value;

/// Why a value does not fit the type asked for.
#[derive(Debug)]
pub(crate) struct Mismatch(pub(crate) String);

impl fmt::Display for Mismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Mismatch {}

impl de::Error for Mismatch {
    fn custom<T: fmt::Display>(message: T) -> Self {
        Mismatch(message.to_string())
    }

    fn invalid_type(found: Unexpected<'_>, expected: &dyn Expected) -> Self {
        Mismatch(format!("expected {expected}, found {}", kind(&found)))
    }

    fn invalid_value(found: Unexpected<'_>, expected: &dyn Expected) -> Self {
        Mismatch(format!("expected {expected}, found {found}"))
    }
}

/// What a value is, without the value (which may be a secret).
fn kind(found: &Unexpected<'_>) -> String {
    let kind = match found {
        Unexpected::Bool(_) => "a boolean",
        Unexpected::Unsigned(_) | Unexpected::Signed(_) => "an integer",
        Unexpected::Float(_) => "a float",
        Unexpected::Str(_) => "a string",
        Unexpected::Seq => "an array",
        Unexpected::Map => "a table",
        other => return other.to_string(),
    };
    kind.to_owned()
}

/// A TOML value as a serde deserializer.
pub(crate) struct ValueDeserializer(pub(crate) Value);

impl<'de> IntoDeserializer<'de, Mismatch> for ValueDeserializer {
    type Deserializer = Self;

    fn into_deserializer(self) -> Self {
        self
    }
}

fn table<'de>(
    table: toml::Table,
) -> MapDeserializer<'de, impl Iterator<Item = (String, ValueDeserializer)>, Mismatch> {
    MapDeserializer::new(table.into_iter().map(|(key, value)| (key, ValueDeserializer(value))))
}

impl<'de> de::Deserializer<'de> for ValueDeserializer {
    type Error = Mismatch;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Mismatch> {
        match self.0 {
            Value::String(s) => visitor.visit_string(s),
            Value::Integer(i) => visitor.visit_i64(i),
            Value::Float(f) => visitor.visit_f64(f),
            Value::Boolean(b) => visitor.visit_bool(b),
            Value::Datetime(d) => visitor.visit_string(d.to_string()),
            Value::Array(items) => {
                let mut seq = SeqDeserializer::new(items.into_iter().map(ValueDeserializer));
                let value = visitor.visit_seq(&mut seq)?;
                seq.end()?;
                Ok(value)
            }
            Value::Table(t) => {
                let mut map = table(t);
                let value = visitor.visit_map(&mut map)?;
                map.end()?;
                Ok(value)
            }
        }
    }

    /// TOML has no null: a value that is there is `Some`.
    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Mismatch> {
        visitor.visit_some(self)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Mismatch> {
        visitor.visit_newtype_struct(self)
    }

    /// A unit variant is a string (`level = "debug"`), another variant a
    /// table with one key (`retry = { fixed = 5 }`).
    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Mismatch> {
        match self.0 {
            Value::String(s) => visitor.visit_enum(IntoDeserializer::<Mismatch>::into_deserializer(s)),
            Value::Table(t) if t.len() == 1 => visitor.visit_enum(MapAccessDeserializer::new(table(t))),
            Value::Table(_) => Err(de::Error::invalid_type(Unexpected::Map, &"a table with one key")),
            other => ValueDeserializer(other).deserialize_any(visitor),
        }
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf unit unit_struct seq tuple tuple_struct map struct identifier ignored_any
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use serde::Deserialize;

    use super::*;

    fn read<T: serde::de::DeserializeOwned>(toml: &str) -> Result<T, String> {
        let value: Value = toml::from_str::<toml::Table>(toml).unwrap().remove("v").unwrap();
        T::deserialize(ValueDeserializer(value)).map_err(|e| e.0)
    }

    #[derive(Debug, PartialEq, Deserialize)]
    #[serde(rename_all = "lowercase")]
    enum Mode {
        Fast,
        Slow { by: u32 },
    }

    #[derive(Debug, PartialEq, Deserialize)]
    struct Db {
        host: String,
        port: u16,
        user: Option<String>,
        mode: Mode,
    }

    #[test]
    fn values_and_structs() {
        assert_eq!(read::<String>("v = \"ada\""), Ok("ada".to_owned()));
        assert_eq!(read::<f64>("v = 2"), Ok(2.0));
        assert_eq!(read::<Vec<u8>>("v = [1, 2]"), Ok(vec![1, 2]));
        let db = read::<Db>("v = { host = \"h\", port = 5432, mode = { slow = { by = 2 } } }");
        let want = Db { host: "h".into(), port: 5432, user: None, mode: Mode::Slow { by: 2 } };
        assert_eq!(db, Ok(want));
        assert_eq!(read::<Mode>("v = \"fast\""), Ok(Mode::Fast));
        let map = read::<BTreeMap<String, bool>>("v = { a = true }");
        assert_eq!(map, Ok(BTreeMap::from([("a".to_owned(), true)])));
        assert_eq!(read::<String>("v = 1979-05-27"), Ok("1979-05-27".to_owned()));
    }

    #[test]
    fn mismatches_say_what_was_expected_and_found() {
        assert_eq!(read::<String>("v = 3"), Err("expected a string, found an integer".to_owned()));
        assert_eq!(read::<u32>("v = \"3\""), Err("expected u32, found a string".to_owned()));
        assert_eq!(read::<u8>("v = 300"), Err("expected u8, found integer `300`".to_owned()));
        assert_eq!(read::<bool>("v = [true]"), Err("expected a boolean, found an array".to_owned()));
        let missing = read::<Db>("v = { host = \"h\", port = 1 }");
        assert_eq!(missing, Err("missing field `mode`".to_owned()));
        let mode = read::<Mode>("v = \"medium\"");
        assert_eq!(mode, Err("unknown variant `medium`, expected `fast` or `slow`".to_owned()));
    }
}
