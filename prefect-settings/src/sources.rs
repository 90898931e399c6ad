//! Where settings are read from ([`Sources`]) and where a value came from
//! ([`Origin`]).

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use super::SettingsError;

/// The inputs of [`Settings::load_from`](super::Settings::load_from): an
/// environment, a working directory (for `prefect.toml`) and optionally the
/// user's home directory (for the default `PREFECT_HOME` of `~/.prefect`).
///
/// Nothing here touches the process: tests build one by hand.
///
/// # Examples
///
/// ```
/// use prefect_settings::Sources;
///
/// let sources = Sources::new("/srv/app")
///     .env("PREFECT_LOGGING_LEVEL", "DEBUG")
///     .user_home("/home/ada");
/// assert_eq!(sources.var("PREFECT_LOGGING_LEVEL"), Some("DEBUG"));
/// ```
#[derive(Debug, Clone, Default)]
pub struct Sources {
    env: BTreeMap<String, String>,
    working_dir: PathBuf,
    user_home: Option<PathBuf>,
}

impl Sources {
    /// Sources with an empty environment, reading `prefect.toml` from `working_dir`.
    pub fn new(working_dir: impl Into<PathBuf>) -> Sources {
        Sources { env: BTreeMap::new(), working_dir: working_dir.into(), user_home: None }
    }

    /// The real process: its environment (variables that are not valid UTF-8
    /// are skipped), its current directory and `$HOME`.
    ///
    /// # Errors
    ///
    /// [`SettingsError::Io`] if the current directory cannot be read.
    pub fn from_process() -> Result<Sources, SettingsError> {
        let working_dir = std::env::current_dir()
            .map_err(|source| SettingsError::Io { path: PathBuf::from("."), source })?;
        Ok(Sources { env: process_env(), working_dir, user_home: None })
    }

    /// Adds (or replaces) one environment variable.
    pub fn env(mut self, name: impl Into<String>, value: impl Into<String>) -> Sources {
        self.env.insert(name.into(), value.into());
        self
    }

    /// Adds (or replaces) several environment variables.
    pub fn envs<K: Into<String>, V: Into<String>>(
        mut self,
        vars: impl IntoIterator<Item = (K, V)>,
    ) -> Sources {
        self.env.extend(vars.into_iter().map(|(k, v)| (k.into(), v.into())));
        self
    }

    /// Sets the user's home directory, used instead of the `HOME` variable.
    pub fn user_home(mut self, dir: impl Into<PathBuf>) -> Sources {
        self.user_home = Some(dir.into());
        self
    }

    /// One environment variable of these sources.
    pub fn var(&self, name: &str) -> Option<&str> {
        self.env.get(name).map(String::as_str)
    }

    /// The whole environment of these sources.
    pub fn vars(&self) -> &BTreeMap<String, String> {
        &self.env
    }

    /// The directory searched for `prefect.toml`.
    pub fn working_dir(&self) -> &Path {
        &self.working_dir
    }

    /// The user's home: the one given to [`Sources::user_home`], else `HOME`
    /// (`USERPROFILE` on Windows).
    pub fn home_dir(&self) -> Option<PathBuf> {
        self.user_home.clone().or_else(|| {
            ["HOME", "USERPROFILE"]
                .into_iter()
                .find_map(|v| self.var(v).filter(|s| !s.is_empty()).map(PathBuf::from))
        })
    }
}

/// Where a setting's value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Origin {
    /// The built-in default (or one derived from `PREFECT_HOME`).
    Default,
    /// An environment variable.
    Env {
        /// Its name, e.g. `PREFECT_LOGGING_LEVEL` or `PREFECT__LOGGING__LEVEL`.
        var: String,
    },
    /// A TOML file: `prefect.toml` or the Prefect 1 `config.toml`.
    File {
        /// The file.
        path: PathBuf,
        /// The line of the value, counted from 1.
        line: usize,
    },
    /// A profile in `profiles.toml`.
    Profile {
        /// The profile's name.
        name: String,
        /// The `profiles.toml` file.
        path: PathBuf,
        /// The line of the value, counted from 1, when it was read from the file.
        line: Option<usize>,
    },
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Default => f.write_str("default"),
            Origin::Env { var } => write!(f, "env {var}"),
            Origin::File { path, line } => write!(f, "{} line {line}", path.display()),
            Origin::Profile { name, path, line: Some(line) } => {
                write!(f, "profile {name} in {} line {line}", path.display())
            }
            Origin::Profile { name, path, line: None } => write!(f, "profile {name} in {}", path.display()),
        }
    }
}

/// The process environment, without the variables that are not valid UTF-8
/// (`std::env::vars` would panic on them).
pub(crate) fn process_env() -> BTreeMap<String, String> {
    std::env::vars_os().filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?))).collect()
}

/// The line (from 1) holding byte `offset` of `text`.
pub(crate) fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes().iter().take(offset).filter(|b| **b == b'\n').count() + 1
}
