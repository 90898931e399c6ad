//! Raw values as written in a source, and the rules that check them.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use toml::de::DeValue;

/// A value as written in a source, before it is checked.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Raw {
    Str(String),
    Int(i64),
    Float(f64),
    Bool(bool),
    /// A TOML array, table or datetime: never a valid setting.
    Other(&'static str),
}

impl Raw {
    pub(crate) fn from_de(value: &DeValue<'_>) -> Raw {
        match value {
            DeValue::String(s) => Raw::Str(s.to_string()),
            DeValue::Integer(i) => {
                i64::from_str_radix(i.as_str(), i.radix()).map_or(Raw::Other("a large integer"), Raw::Int)
            }
            DeValue::Float(f) => f.as_str().parse().map_or(Raw::Other("a float"), Raw::Float),
            DeValue::Boolean(b) => Raw::Bool(*b),
            DeValue::Datetime(_) => Raw::Other("a datetime"),
            DeValue::Array(_) => Raw::Other("an array"),
            DeValue::Table(_) => Raw::Other("a table"),
        }
    }

    pub(crate) fn from_value(value: &toml::Value) -> Raw {
        match value {
            toml::Value::String(s) => Raw::Str(s.clone()),
            toml::Value::Integer(i) => Raw::Int(*i),
            toml::Value::Float(f) => Raw::Float(*f),
            toml::Value::Boolean(b) => Raw::Bool(*b),
            toml::Value::Datetime(_) => Raw::Other("a datetime"),
            toml::Value::Array(_) => Raw::Other("an array"),
            toml::Value::Table(_) => Raw::Other("a table"),
        }
    }

    /// The value as a string, for interpolation; `None` for arrays and tables.
    pub(crate) fn as_text(&self) -> Option<String> {
        match self {
            Raw::Str(s) => Some(s.clone()),
            Raw::Int(i) => Some(i.to_string()),
            Raw::Float(f) => Some(f.to_string()),
            Raw::Bool(b) => Some(b.to_string()),
            Raw::Other(_) => None,
        }
    }
}

impl fmt::Display for Raw {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Raw::Str(s) => write!(f, "{s:?}"),
            Raw::Other(kind) => write!(f, "<{kind}>"),
            other => f.write_str(&other.as_text().unwrap_or_default()),
        }
    }
}

pub(crate) use prefect_model::{LEVEL_NAMES as LEVELS, LogLevel};

/// The checks: each returns `None` when the raw value does not fit.
pub(crate) fn count(raw: &Raw) -> Option<u32> {
    match raw {
        Raw::Int(i) => u32::try_from(*i).ok(),
        Raw::Str(s) => s.trim().parse().ok(),
        _ => None,
    }
}

pub(crate) fn boolean(raw: &Raw) -> Option<bool> {
    match raw {
        Raw::Bool(b) => Some(*b),
        Raw::Str(s) => match s.trim().to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" | "on" => Some(true),
            "false" | "0" | "no" | "off" => Some(false),
            _ => None,
        },
        _ => None,
    }
}

/// `auto` (`None`: decided at run time), or a [`boolean`].
pub(crate) fn auto_boolean(raw: &Raw) -> Option<Option<bool>> {
    match raw {
        Raw::Str(s) if s.trim().eq_ignore_ascii_case("auto") => Some(None),
        other => boolean(other).map(Some),
    }
}

/// A humantime duration (`"10s"`, `"1m 30s"`, `"30d"`) or whole seconds.
pub(crate) fn duration(raw: &Raw) -> Option<Duration> {
    match raw {
        Raw::Int(i) => u64::try_from(*i).ok().map(Duration::from_secs),
        Raw::Str(s) => {
            let s = s.trim();
            s.parse::<u64>().map(Duration::from_secs).ok().or_else(|| humantime::parse_duration(s).ok())
        }
        _ => None,
    }
}

/// A retry delay: a [`duration`], or `false` for none, as Prefect 1's
/// default `config.toml` wrote it (`retry_delay = false`).
pub(crate) fn retry_delay(raw: &Raw) -> Option<Duration> {
    match raw {
        Raw::Bool(false) => Some(Duration::ZERO),
        Raw::Str(s) if s.trim().eq_ignore_ascii_case("false") => Some(Duration::ZERO),
        other => duration(other),
    }
}

/// A duration, or `"none"`/`"off"`/`""` for no duration.
pub(crate) fn optional_duration(raw: &Raw) -> Option<Option<Duration>> {
    match raw {
        Raw::Str(s) if matches!(s.trim().to_ascii_lowercase().as_str(), "" | "none" | "off") => Some(None),
        other => duration(other).map(Some),
    }
}

pub(crate) fn level(raw: &Raw) -> Option<LogLevel> {
    match raw {
        Raw::Str(s) => s.parse().ok(),
        _ => None,
    }
}

/// A non-empty path; a leading `~/` is the user's home when one is known.
pub(crate) fn path(raw: &Raw, user_home: Option<&Path>) -> Option<PathBuf> {
    let Raw::Str(s) = raw else { return None };
    match (s.strip_prefix("~/"), user_home) {
        _ if s.is_empty() => None,
        (Some(rest), Some(home)) => Some(home.join(rest)),
        _ => Some(PathBuf::from(s)),
    }
}

/// A `sqlite:` URL (`sqlite:///abs/path.db`, `sqlite+aiosqlite:////abs`,
/// `sqlite://relative.db`) or a plain path.
pub(crate) fn database_path(raw: &Raw, user_home: Option<&Path>) -> Option<PathBuf> {
    let Raw::Str(s) = raw else { return None };
    let Some((scheme, rest)) = s.split_once(':').filter(|(scheme, _)| is_scheme(scheme)) else {
        return path(raw, user_home);
    };
    if scheme != "sqlite" && !scheme.starts_with("sqlite+") {
        return None;
    }
    let rest = rest.split('?').next().unwrap_or_default();
    let rest = rest.strip_prefix("//").unwrap_or(rest);
    let rest =
        if rest.starts_with("//") { format!("/{}", rest.trim_start_matches('/')) } else { rest.to_owned() };
    path(&Raw::Str(rest), user_home)
}

/// Where `api.database_url` points.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Database {
    /// A SQLite file.
    File(PathBuf),
    /// A database server's URL (`postgresql://...`).
    Server(String),
}

/// A `sqlite:` URL or a path (a file), or a `postgres:`/`postgresql:` URL
/// (a server).
pub(crate) fn database(raw: &Raw, user_home: Option<&Path>) -> Option<Database> {
    if let Raw::Str(s) = raw {
        let s = s.trim();
        if let Some((scheme, rest)) = s.split_once("://")
            && matches!(scheme.to_ascii_lowercase().as_str(), "postgres" | "postgresql")
        {
            return (!rest.is_empty() && !s.contains(char::is_whitespace))
                .then(|| Database::Server(s.to_owned()));
        }
    }
    database_path(raw, user_home).map(Database::File)
}

/// A URL without its password, for showing: `postgresql://ada:***@host/db`.
pub(crate) fn redacted(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) => match rest.split_once('@') {
            Some((credentials, host)) if credentials.contains(':') => {
                let user = credentials.split(':').next().unwrap_or_default();
                format!("{scheme}://{user}:***@{host}")
            }
            _ => url.to_owned(),
        },
        None => url.to_owned(),
    }
}

/// A server's API URL (`http://` or `https://`, without a trailing
/// slash); empty is none: the local database.
pub(crate) fn api_url(raw: &Raw) -> Option<Option<String>> {
    let Raw::Str(s) = raw else { return None };
    let s = s.trim();
    if s.is_empty() {
        return Some(None);
    }
    let (scheme, rest) = s.split_once("://")?;
    let known = scheme.eq_ignore_ascii_case("http") || scheme.eq_ignore_ascii_case("https");
    if !known || rest.is_empty() || rest.starts_with('/') || s.contains(char::is_whitespace) {
        return None;
    }
    Some(Some(s.trim_end_matches('/').to_owned()))
}

/// A secret: any non-empty text.
pub(crate) fn secret(raw: &Raw) -> Option<Option<crate::Secret>> {
    let Raw::Str(s) = raw else { return None };
    Some((!s.trim().is_empty()).then(|| crate::Secret::new(s.trim())))
}

/// A URL scheme, as opposed to a Windows drive letter or a plain name.
fn is_scheme(s: &str) -> bool {
    s.len() > 1 && s.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_urls() {
        let url = |s: &str| api_url(&Raw::Str(s.into()));
        assert_eq!(url("http://127.0.0.1:4200/api/"), Some(Some("http://127.0.0.1:4200/api".into())));
        assert_eq!(url("HTTPS://prefect.example/api"), Some(Some("HTTPS://prefect.example/api".into())));
        assert_eq!(url(" "), Some(None));
        assert_eq!(url("127.0.0.1:4200"), None);
        assert_eq!(url("ftp://host/api"), None);
        assert_eq!(url("http:///api"), None);
    }

    fn db(s: &str) -> Option<PathBuf> {
        database_path(&Raw::Str(s.into()), None)
    }

    #[test]
    fn database_urls_and_paths() {
        assert_eq!(db("sqlite:///tmp/p.db"), Some("/tmp/p.db".into()));
        assert_eq!(db("sqlite:////tmp/p.db"), Some("/tmp/p.db".into()));
        assert_eq!(db("sqlite+aiosqlite:////tmp/p.db?mode=rwc"), Some("/tmp/p.db".into()));
        assert_eq!(db("sqlite://p.db"), Some("p.db".into()));
        assert_eq!(db("/var/p.db"), Some("/var/p.db".into()));
        assert_eq!(db("postgresql://host/db"), None);
        assert_eq!(db(""), None);
        let server = |s: &str| database(&Raw::Str(s.into()), None);
        assert_eq!(
            server("postgresql://ada@host/db"),
            Some(Database::Server("postgresql://ada@host/db".into()))
        );
        assert_eq!(server("POSTGRES://host"), Some(Database::Server("POSTGRES://host".into())));
        assert_eq!(server("postgresql://"), None);
        assert_eq!(server("/var/p.db"), Some(Database::File("/var/p.db".into())));
        assert_eq!(server("mysql://host/db"), None);
        assert_eq!(redacted("postgresql://ada:secret@host/db"), "postgresql://ada:***@host/db");
        assert_eq!(redacted("postgresql://ada@host/db"), "postgresql://ada@host/db");
    }

    #[test]
    fn scalars() {
        assert_eq!(count(&Raw::Str(" 3 ".into())), Some(3));
        assert_eq!(count(&Raw::Int(-1)), None);
        assert_eq!(boolean(&Raw::Str("Off".into())), Some(false));
        assert_eq!(duration(&Raw::Str("1m 30s".into())), Some(Duration::from_secs(90)));
        assert_eq!(duration(&Raw::Int(5)), Some(Duration::from_secs(5)));
        assert_eq!(retry_delay(&Raw::Bool(false)), Some(Duration::ZERO));
        assert_eq!(retry_delay(&Raw::Bool(true)), None);
        assert_eq!(retry_delay(&Raw::Str("90".into())), Some(Duration::from_secs(90)));
        assert_eq!(optional_duration(&Raw::Str("none".into())), Some(None));
        assert_eq!(level(&Raw::Str("warn".into())), Some(LogLevel::Warning));
        assert_eq!(Raw::Str("x".into()).to_string(), "\"x\"");
    }
}
