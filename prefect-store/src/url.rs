//! [`StoreUrl`]: which store to open, as the settings and the CLI name it.

use std::fmt;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// Where a store is: a URL with a scheme, or a plain path (a SQLite file).
///
/// - `sqlite:///abs/path.db`, `sqlite://relative.db`, `sqlite::memory:`, a
///   plain path, and SQLAlchemy's `sqlite+aiosqlite:///...` form from
///   Prefect's settings, all name a SQLite file;
/// - any other `scheme://...` is handed to the driver registered for the
///   scheme (`postgresql://...`, `http://...`).
///
/// ```
/// use prefect_store::StoreUrl;
///
/// let url = StoreUrl::parse("sqlite:////var/lib/prefect.db").unwrap();
/// assert_eq!((url.scheme(), url.path().unwrap().to_str()), ("sqlite", Some("/var/lib/prefect.db")));
/// assert_eq!(StoreUrl::parse("runs.db").unwrap().scheme(), "sqlite");
/// assert_eq!(StoreUrl::parse("postgresql://localhost/test").unwrap().scheme(), "postgresql");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreUrl {
    scheme: String,
    text: String,
    path: Option<PathBuf>,
}

impl StoreUrl {
    /// Reads a URL or a path.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for an empty text or a `sqlite:` URL
    /// without a path.
    pub fn parse(text: &str) -> Result<StoreUrl> {
        let text = text.trim();
        let invalid =
            |reason: &str| Error::InvalidArgument { what: "store URL", reason: format!("`{text}` {reason}") };
        if text.is_empty() {
            return Err(invalid("is empty"));
        }
        let Some((scheme, rest)) = text.split_once(':').filter(|(scheme, _)| is_scheme(scheme)) else {
            return Ok(StoreUrl::sqlite(Path::new(text)));
        };
        let scheme = scheme.to_ascii_lowercase();
        if scheme != "sqlite" && !scheme.starts_with("sqlite+") {
            return Ok(StoreUrl { scheme, text: text.to_owned(), path: None });
        }
        let rest = rest.split('?').next().unwrap_or_default();
        if rest == ":memory:" {
            return Ok(StoreUrl { scheme: "sqlite".into(), text: "sqlite::memory:".into(), path: None });
        }
        let rest = rest.strip_prefix("//").unwrap_or(rest);
        let rest = if rest.starts_with("//") {
            format!("/{}", rest.trim_start_matches('/'))
        } else {
            rest.to_owned()
        };
        if rest.is_empty() {
            return Err(invalid("names no file; write sqlite:///absolute/path.db or sqlite://relative.db"));
        }
        Ok(StoreUrl::sqlite(Path::new(&rest)))
    }

    /// The SQLite file at `path`.
    pub fn sqlite(path: &Path) -> StoreUrl {
        StoreUrl {
            scheme: "sqlite".into(),
            text: format!("sqlite://{}", path.display()),
            path: Some(path.to_owned()),
        }
    }

    /// The scheme, lower case: `sqlite`, `postgresql`, `http`...
    pub fn scheme(&self) -> &str {
        &self.scheme
    }

    /// For a SQLite file, its path; `None` in memory and for other schemes.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// The URL as given (for `sqlite:` URLs, normalised to `sqlite://path`).
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The URL without a password, for messages.
    pub fn redacted(&self) -> String {
        match self.text.split_once("://") {
            Some((scheme, rest)) => match rest.split_once('@') {
                Some((credentials, host)) => {
                    let user = credentials.split(':').next().unwrap_or_default();
                    format!("{scheme}://{user}:***@{host}")
                }
                None => self.text.clone(),
            },
            None => self.text.clone(),
        }
    }
}

impl fmt::Display for StoreUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

/// A URL scheme, as opposed to a Windows drive letter or a plain name.
fn is_scheme(s: &str) -> bool {
    s.len() > 1
        && s.starts_with(|c: char| c.is_ascii_alphabetic())
        && s.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(text: &str) -> Option<PathBuf> {
        StoreUrl::parse(text).unwrap().path().map(Path::to_owned)
    }

    #[test]
    fn sqlite_urls_and_paths() {
        assert_eq!(path("sqlite:///tmp/p.db"), Some("/tmp/p.db".into()));
        assert_eq!(path("sqlite:////tmp/p.db"), Some("/tmp/p.db".into()));
        assert_eq!(path("sqlite+aiosqlite:////tmp/p.db?mode=rwc"), Some("/tmp/p.db".into()));
        assert_eq!(path("sqlite://p.db"), Some("p.db".into()));
        assert_eq!(path("/var/p.db"), Some("/var/p.db".into()));
        assert_eq!(StoreUrl::parse("sqlite::memory:").unwrap().path(), None);
        assert!(StoreUrl::parse("").is_err());
        assert!(StoreUrl::parse("sqlite://").is_err());
    }

    #[test]
    fn passwords_stay_out_of_messages() {
        let url = StoreUrl::parse("postgresql://ada:secret@db.local:5432/runs").unwrap();
        assert_eq!(url.to_string(), "postgresql://ada:***@db.local:5432/runs");
        assert_eq!(url.as_str(), "postgresql://ada:secret@db.local:5432/runs");
    }
}
