//! The user's own keys of the Prefect 1 `config.toml`, typed.
//!
//! Prefect 1 flows read `prefect.config.user` after `config.toml` says
//! `user = "${environments.${environment}.user}"`; here that is
//! `prefect::config::get::<String>("user")`, or any type that implements
//! `serde::Deserialize`, at any dotted path (`environments.dev.user`, or a
//! whole table into a struct).
//!
//! The file is the one the settings read: `PREFECT__USER_CONFIG_PATH`, else
//! `$PREFECT_HOME/config.toml`, read once per process with the settings
//! ([`current`](crate::current)); [`UserConfig::load_from`] reads it from
//! explicit [`Sources`] instead. Values are interpolated with the settings'
//! rules (`${section.key}`, `${ENV_VAR}`, `$ENV_VAR`), and a string that is
//! exactly one `${a.b}` keeps the referenced value's type
//! (`port = "${db.port}"` reads as an integer), as in Prefect 1. Environment
//! variables do not set these keys (Prefect 1 let `PREFECT__USER=...` set
//! `user`); such a variable is reported as an unknown setting.
//!
//! ```
//! use prefect_settings::Sources;
//! use prefect_settings::config::{self, UserConfig};
//!
//! let dir = tempfile::tempdir()?;
//! let path = dir.path().join("config.toml");
//! std::fs::write(
//!     &path,
//!     "environment = \"dev\"\n\
//!      user = \"${environments.${environment}.user}\"\n\
//!      [environments.dev]\n\
//!      user = \"ada\"\n\
//!      port = 5432\n",
//! )?;
//! let sources = Sources::new(dir.path())
//!     .user_home(dir.path())
//!     .env("PREFECT__USER_CONFIG_PATH", path.to_str().unwrap());
//! let config = UserConfig::load_from(&sources);
//!
//! let user: String = config::get_from(&config, "user")?;
//! assert_eq!(user, "ada");
//! assert_eq!(config::get_from::<u16>(&config, "environments.dev.port")?, 5432);
//!
//! let err = config::get_from::<u32>(&config, "user").unwrap_err();
//! let want = format!("key `user` in {}: expected u32, found a string", path.display());
//! assert_eq!(err.to_string(), want);
//! let err = config::get_from::<String>(&config, "password").unwrap_err();
//! assert_eq!(err.to_string(), format!("no key `password` in {}", path.display()));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod de;

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::de::DeserializeOwned;

use super::interpolate::{Failure, Interpolator};
use super::{SettingsError, Sources, file, load};

/// The key `key` of the process's `config.toml`, as a `T`; the file is
/// read once per process, with the settings ([`crate::current`]).
///
/// # Errors
///
/// As [`UserConfig::get`].
pub fn get<T: DeserializeOwned>(key: &str) -> Result<T, ConfigError> {
    crate::current().user_config().get(key)
}

/// The key `key` of `config`, as a `T` (the same as [`UserConfig::get`]).
///
/// # Errors
///
/// As [`UserConfig::get`].
pub fn get_from<T: DeserializeOwned>(config: &UserConfig, key: &str) -> Result<T, ConfigError> {
    config.get(key)
}

/// A Prefect 1 `config.toml`, as read for one set of sources. Its `Debug`
/// shows only the path: the file and the environment kept for
/// interpolation may hold secrets.
#[derive(Clone)]
pub struct UserConfig {
    path: PathBuf,
    content: Content,
    env: Arc<BTreeMap<String, String>>,
}

#[derive(Clone)]
enum Content {
    Text(Arc<str>),
    /// The file does not exist.
    Absent,
    /// The settings were built without reading files ([`crate::Settings::defaults`]).
    NotRead,
    /// The file could not be read or parsed: the error, naming file and line.
    Unreadable(String),
}

impl UserConfig {
    /// The `config.toml` the settings of `sources` read:
    /// `PREFECT__USER_CONFIG_PATH`, else `config.toml` in the home those
    /// settings have. A file that cannot be read or parsed is reported by
    /// [`UserConfig::get`].
    pub fn load_from(sources: &Sources) -> UserConfig {
        load::user_config(sources)
    }

    /// The file, whether or not it exists.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The key `key` (a dotted path: `user`, `environments.dev.user`),
    /// interpolated, as a `T`.
    ///
    /// # Errors
    ///
    /// [`ConfigError::Missing`], [`ConfigError::NoFile`] or
    /// [`ConfigError::NotRead`] when there is no such key,
    /// [`ConfigError::WrongType`] when its value does not fit `T`,
    /// [`ConfigError::Interpolation`] when a reference in it cannot be
    /// resolved, and [`ConfigError::Unreadable`] when the file could not be
    /// read or parsed.
    pub fn get<T: DeserializeOwned>(&self, key: &str) -> Result<T, ConfigError> {
        let (key, path) = (key.to_owned(), self.path.clone());
        let text = match &self.content {
            Content::Text(text) => text,
            Content::Absent => return Err(ConfigError::NoFile { key, path }),
            Content::NotRead => return Err(ConfigError::NotRead { key, path }),
            Content::Unreadable(message) => {
                return Err(ConfigError::Unreadable { key, message: message.clone() });
            }
        };
        let doc = file::parse(&self.path, text)
            .map_err(|e| ConfigError::Unreadable { key: key.clone(), message: e.to_string() })?;
        let value = match Interpolator::new(doc.get_ref(), &self.env).tree(&key) {
            Ok(Some(value)) => value,
            Ok(None) => return Err(ConfigError::Missing { key, path }),
            Err(Failure::Message(message)) => return Err(ConfigError::Interpolation { key, path, message }),
            Err(Failure::Cycle(chain)) => {
                let message = format!("interpolation cycle {}", chain.join(" -> "));
                return Err(ConfigError::Interpolation { key, path, message });
            }
        };
        T::deserialize(de::ValueDeserializer(value)).map_err(|mismatch| ConfigError::WrongType {
            key,
            path,
            message: mismatch.0,
        })
    }

    /// A file that was read; `env` is for interpolation.
    pub(crate) fn read(path: PathBuf, text: String, env: &BTreeMap<String, String>) -> UserConfig {
        UserConfig { path, content: Content::Text(text.into()), env: Arc::new(env.clone()) }
    }

    /// A file that does not exist.
    pub(crate) fn absent(path: PathBuf) -> UserConfig {
        UserConfig { path, content: Content::Absent, env: Arc::default() }
    }

    /// The file of settings that were not read from files.
    pub(crate) fn not_read(path: PathBuf) -> UserConfig {
        UserConfig { path, content: Content::NotRead, env: Arc::default() }
    }

    /// A file that could not be read or parsed.
    pub(crate) fn unreadable(path: PathBuf, error: &SettingsError) -> UserConfig {
        UserConfig { path, content: Content::Unreadable(error.to_string()), env: Arc::default() }
    }
}

impl fmt::Debug for UserConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UserConfig").field("path", &self.path).finish_non_exhaustive()
    }
}

/// Why [`UserConfig::get`] has no value of the type asked for. Every message
/// names the key and the file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The file has no such key.
    #[error("no key `{key}` in {}", path.display())]
    Missing {
        /// The key, as asked for.
        key: String,
        /// The `config.toml` file.
        path: PathBuf,
    },
    /// The file does not exist.
    #[error("no key `{key}`: {} does not exist", path.display())]
    NoFile {
        /// The key, as asked for.
        key: String,
        /// The `config.toml` file looked for.
        path: PathBuf,
    },
    /// The process settings were installed without reading files
    /// ([`Settings::defaults`](crate::Settings::defaults) given to
    /// [`set_current`](crate::set_current)).
    #[error("no key `{key}`: {} was not read (the process settings were not loaded from files)", path.display())]
    NotRead {
        /// The key, as asked for.
        key: String,
        /// The `config.toml` file.
        path: PathBuf,
    },
    /// The file could not be read or is not TOML.
    #[error("cannot read key `{key}`: {message}")]
    Unreadable {
        /// The key, as asked for.
        key: String,
        /// What went wrong, naming the file (and the line of a syntax error).
        message: String,
    },
    /// A `${...}` or `$VAR` in the value cannot be resolved.
    #[error("cannot interpolate key `{key}` in {}: {message}", path.display())]
    Interpolation {
        /// The key, as asked for.
        key: String,
        /// The `config.toml` file.
        path: PathBuf,
        /// What went wrong, e.g. `environment variable $USER is not set`.
        message: String,
    },
    /// The value does not fit the type asked for.
    #[error("key `{key}` in {}: {message}", path.display())]
    WrongType {
        /// The key, as asked for.
        key: String,
        /// The `config.toml` file.
        path: PathBuf,
        /// What was expected and found, e.g. `expected a string, found an integer`.
        message: String,
    },
}
