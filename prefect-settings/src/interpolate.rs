//! `${...}` interpolation in the Prefect 1 `config.toml`.
//!
//! Rules, applied to string values:
//! - `${a.b}`: a dotted name is a config path; it must exist.
//! - `${name}`: an undotted name is a top-level config key if one exists,
//!   else an environment variable; it must be one of them.
//! - `$NAME`: an environment variable; it must be set.
//! - `${environments.${environment}.user}`: inner references are expanded
//!   first, then the outer one.
//! - `$$` is a literal `$`; a `$` not followed by a name or `{` is kept.
//!
//! Referenced values are interpolated too; a reference back to a key being
//! resolved is a cycle.
//!
//! Settings read values as text. The user's own keys ([`Interpolator::tree`],
//! for `config::get`) are read with their types: a string that is exactly
//! one `${a.b}` takes the referenced value as it is (`port = "${db.port}"`
//! is an integer, `db = "${databases.main}"` a table), as in Prefect 1.

use std::collections::BTreeMap;

use toml::de::{DeTable, DeValue};
use toml::{Spanned, Value};

use super::value::Raw;

/// Why a value could not be interpolated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Failure {
    /// The keys of the cycle, from the setting read to the repeated key.
    Cycle(Vec<String>),
    Message(String),
}

pub(crate) struct Interpolator<'a, 'i> {
    root: &'a DeTable<'i>,
    env: &'a BTreeMap<String, String>,
}

impl<'a, 'i> Interpolator<'a, 'i> {
    pub(crate) fn new(root: &'a DeTable<'i>, env: &'a BTreeMap<String, String>) -> Self {
        Interpolator { root, env }
    }

    /// The value at a dotted path, interpolated; `None` if there is none.
    #[cfg(test)]
    pub(crate) fn value(&self, path: &str) -> Result<Option<Raw>, Failure> {
        match self.lookup(path) {
            None => Ok(None),
            Some(_) => self.resolve(path, &mut Vec::new()).map(Some),
        }
    }

    pub(crate) fn lookup(&self, path: &str) -> Option<&'a Spanned<DeValue<'i>>> {
        let mut parts = path.split('.');
        let mut value = self.root.get(parts.next()?)?;
        for part in parts {
            value = value.get_ref().as_table()?.get(part)?;
        }
        Some(value)
    }

    /// `value`, found at `path` (which names it in cycles), interpolated.
    pub(crate) fn interpolate(&self, path: &str, value: &DeValue<'_>) -> Result<Raw, Failure> {
        self.resolve_value(path, value, &mut Vec::new())
    }

    fn resolve(&self, path: &str, stack: &mut Vec<String>) -> Result<Raw, Failure> {
        match self.lookup(path) {
            Some(value) => self.resolve_value(path, value.get_ref(), stack),
            None => Err(Failure::Message(format!("\"${{{path}}}\" is not defined in the config"))),
        }
    }

    fn resolve_value(
        &self,
        path: &str,
        value: &DeValue<'_>,
        stack: &mut Vec<String>,
    ) -> Result<Raw, Failure> {
        if stack.iter().any(|p| p == path) {
            let mut chain = stack.clone();
            chain.push(path.to_owned());
            return Err(Failure::Cycle(chain));
        }
        stack.push(path.to_owned());
        let raw = match Raw::from_de(value) {
            Raw::Str(s) => self.expand(&s, stack).map(Raw::Str),
            other => Ok(other),
        };
        stack.pop();
        raw
    }

    /// The value at a dotted path as TOML, every string in it interpolated
    /// (see the module docs); `None` if there is none.
    pub(crate) fn tree(&self, path: &str) -> Result<Option<Value>, Failure> {
        match self.lookup(path) {
            None => Ok(None),
            Some(value) => self.tree_at(path, value.get_ref(), &mut Vec::new()).map(Some),
        }
    }

    fn tree_at(&self, path: &str, value: &DeValue<'_>, stack: &mut Vec<String>) -> Result<Value, Failure> {
        if stack.iter().any(|p| p == path) {
            let mut chain = stack.clone();
            chain.push(path.to_owned());
            return Err(Failure::Cycle(chain));
        }
        stack.push(path.to_owned());
        let tree = self.tree_of(path, value, stack);
        stack.pop();
        tree
    }

    fn tree_of(&self, path: &str, value: &DeValue<'_>, stack: &mut Vec<String>) -> Result<Value, Failure> {
        Ok(match value {
            DeValue::String(text) => return self.text_tree(text, stack),
            DeValue::Table(table) => Value::Table(
                table
                    .iter()
                    .map(|(key, value)| {
                        let (key, path) = (key.get_ref(), format!("{path}.{}", key.get_ref()));
                        Ok((key.to_string(), self.tree_at(&path, value.get_ref(), stack)?))
                    })
                    .collect::<Result<_, Failure>>()?,
            ),
            DeValue::Array(items) => Value::Array(
                items
                    .iter()
                    .map(|item| self.tree_of(path, item.get_ref(), stack))
                    .collect::<Result<_, _>>()?,
            ),
            DeValue::Datetime(datetime) => Value::Datetime(*datetime),
            scalar => match Raw::from_de(scalar) {
                Raw::Int(i) => Value::Integer(i),
                Raw::Float(f) => Value::Float(f),
                Raw::Bool(b) => Value::Boolean(b),
                Raw::Str(s) => Value::String(s),
                Raw::Other(kind) => return Err(Failure::Message(format!("{kind} cannot be read"))),
            },
        })
    }

    /// A string: the referenced value if it is one `${a.b}` of a config
    /// key, else the interpolated text.
    fn text_tree(&self, text: &str, stack: &mut Vec<String>) -> Result<Value, Failure> {
        if let Some(inner) = text
            .strip_prefix("${")
            .filter(|rest| closing_brace(rest).is_some_and(|end| end + 1 == rest.len()))
        {
            let name = self.expand(&inner[..inner.len() - 1], stack)?;
            if let Some(value) = self.lookup(name.trim()) {
                return self.tree_at(name.trim(), value.get_ref(), stack);
            }
        }
        self.expand(text, stack).map(Value::String)
    }

    /// Replaces every reference in `text`.
    fn expand(&self, text: &str, stack: &mut Vec<String>) -> Result<String, Failure> {
        let mut out = String::new();
        let mut rest = text;
        while let Some(i) = rest.find('$') {
            out.push_str(&rest[..i]);
            let after = &rest[i + 1..];
            if let Some(more) = after.strip_prefix('$') {
                out.push('$');
                rest = more;
            } else if let Some(inner) = after.strip_prefix('{') {
                let end = closing_brace(inner)
                    .ok_or_else(|| Failure::Message(format!("unclosed \"${{\" in {text:?}")))?;
                let name = self.expand(&inner[..end], stack)?;
                out.push_str(&self.reference(name.trim(), stack)?);
                rest = &inner[end + 1..];
            } else {
                let len =
                    after.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(after.len());
                if len == 0 || after.starts_with(|c: char| c.is_ascii_digit()) {
                    out.push('$');
                } else {
                    out.push_str(self.env_var(&after[..len])?);
                }
                rest = &after[len..];
            }
        }
        out.push_str(rest);
        Ok(out)
    }

    /// The text of `${name}`.
    fn reference(&self, name: &str, stack: &mut Vec<String>) -> Result<String, Failure> {
        if !name.contains('.') && self.lookup(name).is_none() {
            return self.env_var(name).map(str::to_owned).map_err(|_| {
                Failure::Message(format!(
                    "\"${{{name}}}\" is neither a config key nor an environment variable"
                ))
            });
        }
        self.resolve(name, stack)?
            .as_text()
            .ok_or_else(|| Failure::Message(format!("\"${{{name}}}\" is a table or an array, not a value")))
    }

    fn env_var(&self, name: &str) -> Result<&'a str, Failure> {
        self.env
            .get(name)
            .map(String::as_str)
            .ok_or_else(|| Failure::Message(format!("environment variable ${name} is not set")))
    }
}

/// The index of the `}` closing a `${` whose content starts `text`.
fn closing_brace(text: &str) -> Option<usize> {
    let mut depth = 0usize;
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'$' if bytes.get(i + 1) == Some(&b'{') => {
                depth += 1;
                i += 1;
            }
            b'}' if depth == 0 => return Some(i),
            b'}' => depth -= 1,
            _ => {}
        }
        i += 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn interpolate(toml: &str, path: &str) -> Result<Option<Raw>, Failure> {
        let table = DeTable::parse(toml).unwrap();
        let env = BTreeMap::from([("USER".to_owned(), "ada".to_owned())]);
        Interpolator::new(table.get_ref(), &env).value(path)
    }

    fn text(toml: &str, path: &str) -> String {
        match interpolate(toml, path).unwrap().unwrap() {
            Raw::Str(s) => s,
            other => panic!("not a string: {other:?}"),
        }
    }

    #[test]
    fn references() {
        let doc = r#"
            environment = "prod"
            host = "db"
            cost = "$$5 for $USER"
            [environments.prod]
            user = "${USER}-prod"
            [x]
            simple = "${host}:${x.port}"
            port = 5432
            nested = "${environments.${environment}.user}"
        "#;
        assert_eq!(text(doc, "x.simple"), "db:5432");
        assert_eq!(text(doc, "x.nested"), "ada-prod");
        assert_eq!(text(doc, "cost"), "$5 for ada");
        assert_eq!(interpolate(doc, "x.port"), Ok(Some(Raw::Int(5432))));
        assert_eq!(interpolate(doc, "x.missing"), Ok(None));
    }

    #[test]
    fn trees_keep_types() {
        let doc = r#"
            environment = "dev"
            user = "${environments.${environment}.user}"
            port = "${db.port}"
            hosts = "${db.hosts}"
            at = "host:${db.port}"
            unclosed = "${"
            [environments.dev]
            user = "$USER"
            [db]
            port = 5432
            hosts = ["${environment}-1", 2]
            loop = "${db}"
        "#;
        let table = DeTable::parse(doc).unwrap();
        let env = BTreeMap::from([("USER".to_owned(), "ada".to_owned())]);
        let config = Interpolator::new(table.get_ref(), &env);
        let tree = |path| config.tree(path).unwrap().unwrap();
        assert_eq!(tree("user"), Value::String("ada".into()));
        assert_eq!(tree("port"), Value::Integer(5432));
        assert_eq!(tree("at"), Value::String("host:5432".into()));
        let hosts = Value::Array(vec![Value::String("dev-1".into()), Value::Integer(2)]);
        assert_eq!(tree("db.hosts"), hosts);
        assert_eq!(tree("hosts"), hosts);
        assert!(matches!(config.tree("unclosed"), Err(Failure::Message(m)) if m.contains("unclosed")));
        assert_eq!(config.tree("nope"), Ok(None));
        assert_eq!(config.tree("db"), Err(Failure::Cycle(vec!["db".into(), "db.loop".into(), "db".into()])));
    }

    #[test]
    fn failures() {
        let doc = "a = \"${b}\"\nb = \"${a}\"\nc = \"${nope.x}\"\nd = \"${e\"\nf = \"${environments}\"\n[environments]";
        assert_eq!(interpolate(doc, "a"), Err(Failure::Cycle(vec!["a".into(), "b".into(), "a".into()])));
        assert!(matches!(interpolate(doc, "c"), Err(Failure::Message(m)) if m.contains("not defined")));
        assert!(matches!(interpolate(doc, "d"), Err(Failure::Message(m)) if m.contains("unclosed")));
        assert!(matches!(interpolate(doc, "f"), Err(Failure::Message(m)) if m.contains("table")));
    }
}
