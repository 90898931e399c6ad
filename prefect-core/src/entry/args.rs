//! [`NamedArgs`]: a flow's argument tuple read from a JSON object by
//! parameter name.

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

/// Why a JSON object does not fit a flow's parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArgsError {
    /// The field, when the problem is one field.
    pub field: Option<String>,
    /// What is wrong.
    pub reason: String,
}

/// An argument tuple whose every element is a serde type, read from (and
/// written to) a JSON object by parameter name.
pub trait NamedArgs: Sized + Send + 'static {
    /// Reads the tuple from `object`, field `names[i]` into element `i`. A
    /// missing field is read as `null` (so an `Option` parameter may be
    /// left out); a field that names no parameter is an error.
    ///
    /// # Errors
    /// The first field that does not fit, or a value that is not an object.
    fn from_json(names: &[&str], object: Value) -> Result<Self, ArgsError>;
}

/// The fields of `object` (`null` is an empty object), after checking that
/// every one names a parameter.
fn fields(names: &[&str], object: Value) -> Result<Map<String, Value>, ArgsError> {
    let map = match object {
        Value::Object(map) => map,
        Value::Null => Map::new(),
        other => {
            return Err(ArgsError {
                field: None,
                reason: format!("parameters must be a JSON object by parameter name, not `{other}`"),
            });
        }
    };
    if let Some(unknown) = map.keys().find(|key| !names.contains(&key.as_str())) {
        let known = if names.is_empty() { "none".to_owned() } else { names.join(", ") };
        return Err(ArgsError {
            field: Some(unknown.clone()),
            reason: format!("`{unknown}` is not a parameter of this flow (its parameters: {known})"),
        });
    }
    Ok(map)
}

/// Reads one parameter.
fn field<T: DeserializeOwned>(map: &mut Map<String, Value>, name: &str) -> Result<T, ArgsError> {
    let value = map.remove(name);
    let missing = value.is_none();
    T::deserialize(value.unwrap_or(Value::Null)).map_err(|e| ArgsError {
        field: Some(name.to_owned()),
        reason: if missing {
            format!("missing parameter `{name}`")
        } else {
            format!("parameter `{name}`: {e}")
        },
    })
}

impl NamedArgs for () {
    fn from_json(names: &[&str], object: Value) -> Result<Self, ArgsError> {
        fields(names, object).map(drop)
    }
}

macro_rules! named_args {
    ($($ty:ident $i:tt),+) => {
        impl<$($ty: Serialize + DeserializeOwned + Send + 'static),+> NamedArgs for ($($ty,)+) {
            fn from_json(names: &[&str], object: Value) -> Result<Self, ArgsError> {
                let mut map = fields(names, object)?;
                Ok(($(field::<$ty>(&mut map, names.get($i).copied().unwrap_or_default())?,)+))
            }
        }
    };
}

named_args!(A 0);
named_args!(A 0, B 1);
named_args!(A 0, B 1, C 2);
named_args!(A 0, B 1, C 2, D 3);
named_args!(A 0, B 1, C 2, D 3, E 4);
named_args!(A 0, B 1, C 2, D 3, E 4, F 5);
named_args!(A 0, B 1, C 2, D 3, E 4, F 5, G 6);
named_args!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7);
named_args!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8);
named_args!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9);
named_args!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10);
named_args!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10, L 11);

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn fields_by_name_with_optional_ones_left_out() {
        let names = ["months", "dry_run"];
        let (months, dry_run) =
            <(Vec<u32>, Option<bool>)>::from_json(&names, json!({ "months": [1, 2] })).unwrap();
        assert_eq!((months, dry_run), (vec![1, 2], None));
    }

    #[test]
    fn each_problem_names_its_field() {
        let names = ["months"];
        let wrong = <(Vec<u32>,)>::from_json(&names, json!({ "months": "june" })).unwrap_err();
        assert_eq!(wrong.field.as_deref(), Some("months"));
        assert!(wrong.reason.starts_with("parameter `months`: invalid type"), "{}", wrong.reason);
        let missing = <(Vec<u32>,)>::from_json(&names, json!({})).unwrap_err();
        assert_eq!(missing.reason, "missing parameter `months`");
        let extra = <(Vec<u32>,)>::from_json(&names, json!({ "months": [], "mnths": [] })).unwrap_err();
        assert_eq!(extra.field.as_deref(), Some("mnths"));
        assert!(<()>::from_json(&[], json!([1])).is_err());
    }
}
