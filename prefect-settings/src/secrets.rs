//! Prefect 1's local secrets: `PREFECT__CONTEXT__SECRETS__<NAME>` and the
//! `[context.secrets]` table of `config.toml`.

use std::collections::BTreeMap;
use std::fmt;

/// Secrets by name. Neither `Debug` nor `Display` shows a value, so
/// settings can be printed and logged.
///
/// # Examples
///
/// ```
/// use prefect_settings::{Settings, Sources};
///
/// let sources = Sources::new("/no/such/project")
///     .user_home("/home/ada")
///     .env("PREFECT__CONTEXT__SECRETS__SLACK_URL", "https://hooks.example/T0/B0/xyz");
/// let settings = Settings::load_from(sources)?;
/// assert_eq!(settings.secret("SLACK_URL"), Some("https://hooks.example/T0/B0/xyz"));
/// assert_eq!(settings.secret("slack_url"), None);
/// assert_eq!(format!("{:?}", settings.secrets()), r#"{"SLACK_URL": <redacted>}"#);
/// assert!(!format!("{settings:?}").contains("xyz"));
/// # Ok::<(), prefect_settings::SettingsError>(())
/// ```
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secrets {
    values: BTreeMap<String, String>,
}

impl Secrets {
    /// The value of the secret `name` (names are case-sensitive, as in Prefect 1).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(String::as_str)
    }

    /// The names of the secrets, sorted.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.values.keys().map(String::as_str)
    }

    /// How many secrets there are.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// Adds a secret unless one of that name is there (from a source that
    /// comes first).
    pub(crate) fn add(&mut self, name: &str, value: &str) {
        self.values.entry(name.to_owned()).or_insert_with(|| value.to_owned());
    }
}

struct Redacted;

impl fmt::Debug for Redacted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl fmt::Debug for Secrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.names().map(|name| (name, Redacted))).finish()
    }
}

/// The names, comma-separated, each with `=<redacted>`.
impl fmt::Display for Secrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, name) in self.names().enumerate() {
            let sep = if i == 0 { "" } else { ", " };
            write!(f, "{sep}{name}=<redacted>")?;
        }
        Ok(())
    }
}

/// One secret value, such as `PREFECT_API_KEY`: its `Debug` and `Display`
/// never show it.
///
/// ```
/// let key = prefect_settings::Secret::new("s3cr3t");
/// assert_eq!(key.expose(), "s3cr3t");
/// assert_eq!(format!("{key:?} {key}"), "<redacted> <redacted>");
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps `value`.
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    /// The value itself, to send where it belongs.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}
