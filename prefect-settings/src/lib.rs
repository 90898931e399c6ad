//! The settings of prefect-rs: typed, read from the environment,
//! `prefect.toml`, profiles and the Prefect 1 `config.toml`.
//!
//! The engine, the run database, the CLI and the server all read them from
//! here (the `prefect` facade re-exports this crate as `prefect::settings`).
//!
//! # Precedence
//!
//! For each setting the first source that has it wins:
//!
//! 1. the environment, `PREFECT_<SECTION>_<KEY>` (`PREFECT_LOGGING_LEVEL=DEBUG`);
//! 2. the environment, Prefect 1 form `PREFECT__<SECTION>__<KEY>` (`PREFECT__LOGGING__LEVEL=DEBUG`);
//! 3. `prefect.toml` in the working directory, nested (`[logging] level = "DEBUG"`,
//!    `home = "..."` at the top);
//! 4. the active profile in `$PREFECT_HOME/profiles.toml` (see [`Profiles`]), keys in
//!    the environment form (`PREFECT_LOGGING_LEVEL = "DEBUG"`); the active profile is
//!    `PREFECT_PROFILE`, else the file's `active` key, else `default`;
//! 5. the Prefect 1 user `config.toml`: `PREFECT__USER_CONFIG_PATH`, else
//!    `$PREFECT_HOME/config.toml`; nested like `prefect.toml`, with `${section.key}`,
//!    `${ENV_VAR}` and `$ENV_VAR` interpolation (rules in the `interpolate` module docs);
//! 6. the defaults.
//!
//! `home` can only come from sources 1-3 (profiles and `config.toml` live in it), and
//! the derived defaults (`results.storage_path` = `$PREFECT_HOME/storage`,
//! `api.database_url` = `sqlite:///$PREFECT_HOME/prefect.db`) follow it.
//!
//! | setting | variable | default |
//! |---|---|---|
//! | `home` | `PREFECT_HOME` | `~/.prefect` |
//! | `logging.level` | `PREFECT_LOGGING_LEVEL` | `INFO` |
//! | `tasks.default_retries` | `PREFECT_TASKS_DEFAULT_RETRIES` | `0` |
//! | `tasks.default_retry_delay` | `PREFECT_TASKS_DEFAULT_RETRY_DELAY` | `0s` |
//! | `flows.default_retries` | `PREFECT_FLOWS_DEFAULT_RETRIES` | `0` |
//! | `results.persist_by_default` | `PREFECT_RESULTS_PERSIST_BY_DEFAULT` | `false` |
//! | `results.storage_path` | `PREFECT_RESULTS_STORAGE_PATH` | `$PREFECT_HOME/storage` |
//! | `api.database_url` | `PREFECT_API_DATABASE_URL` | `sqlite:///$PREFECT_HOME/prefect.db` |
//! | `recording.enabled` | `PREFECT_RECORDING_ENABLED` | `true` |
//! | `db.retention` | `PREFECT_DB_RETENTION` | none (keep every run) |
//! | (active profile) | `PREFECT_PROFILE` | `active` in `profiles.toml`, else `default` |
//!
//! An invalid value is an error naming the setting, its source and what was
//! expected; unknown keys in `prefect.toml` and profiles are [`Problem`]s.
//!
//! ```
//! use std::time::Duration;
//! use prefect_settings::{LogLevel, Settings, Sources};
//!
//! let sources = Sources::new("/no/such/project")
//!     .user_home("/home/ada")
//!     .env("PREFECT_LOGGING_LEVEL", "debug")
//!     .env("PREFECT__TASKS__DEFAULT_RETRY_DELAY", "1m 30s");
//! let settings = Settings::load_from(sources)?;
//! assert_eq!(settings.logging_level, LogLevel::Debug);
//! assert_eq!(settings.tasks_default_retry_delay, Duration::from_secs(90));
//! assert_eq!(settings.database_path, std::path::Path::new("/home/ada/.prefect/prefect.db"));
//!
//! let bad = Sources::new("/no/such/project").user_home("/home/ada").env("PREFECT_TASKS_DEFAULT_RETRIES", "lots");
//! assert_eq!(
//!     Settings::load_from(bad).unwrap_err().to_string(),
//!     "invalid value \"lots\" for tasks.default_retries (from env PREFECT_TASKS_DEFAULT_RETRIES): \
//!      expected a whole number >= 0",
//! );
//! # Ok::<(), prefect_settings::SettingsError>(())
//! ```

mod env;
mod error;
mod file;
mod interpolate;
mod key;
mod load;
mod profiles;
mod sources;
mod value;
mod view;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::Duration;

pub use error::{Problem, SettingsError};
pub use prefect_model::LogLevel;
pub use profiles::{DEFAULT_PROFILE, Profiles};
pub use sources::{Origin, Sources};
pub use view::SettingEntry;

use key::Key;
use value::Raw;

/// The settings of a process. Build one with [`Settings::load`],
/// [`Settings::load_from`] or [`Settings::defaults`]; read the process-wide
/// one with [`current`].
#[derive(Debug, Clone)]
pub struct Settings {
    /// `PREFECT_HOME`: where profiles, results and the run database live.
    pub home: PathBuf,
    /// `PREFECT_LOGGING_LEVEL`.
    pub logging_level: LogLevel,
    /// `PREFECT_TASKS_DEFAULT_RETRIES`: retries of tasks that set none.
    pub tasks_default_retries: u32,
    /// `PREFECT_TASKS_DEFAULT_RETRY_DELAY`: delay between those retries.
    pub tasks_default_retry_delay: Duration,
    /// `PREFECT_FLOWS_DEFAULT_RETRIES`: retries of flows that set none.
    pub flows_default_retries: u32,
    /// `PREFECT_RESULTS_PERSIST_BY_DEFAULT`.
    pub results_persist_by_default: bool,
    /// `PREFECT_RESULTS_STORAGE_PATH`: the directory of persisted results.
    pub results_storage_path: PathBuf,
    /// The SQLite file of `PREFECT_API_DATABASE_URL` (a `sqlite:` URL or a path).
    pub database_path: PathBuf,
    /// `PREFECT_RECORDING_ENABLED`: whether runs are recorded to the database.
    pub recording_enabled: bool,
    /// `PREFECT_DB_RETENTION`: runs older than this are pruned; `None` keeps all.
    pub db_retention: Option<Duration>,
    /// `PREFECT_PROFILE`: the active profile's name.
    pub profile: String,
    origins: BTreeMap<Key, Origin>,
    profile_origin: Origin,
    problems: Vec<Problem>,
}

impl Settings {
    /// The defaults, with `home` as `PREFECT_HOME`.
    pub fn defaults(home: impl Into<PathBuf>) -> Settings {
        let home = home.into();
        Settings {
            logging_level: LogLevel::Info,
            tasks_default_retries: 0,
            tasks_default_retry_delay: Duration::ZERO,
            flows_default_retries: 0,
            results_persist_by_default: false,
            results_storage_path: home.join("storage"),
            database_path: home.join("prefect.db"),
            recording_enabled: true,
            db_retention: None,
            profile: DEFAULT_PROFILE.to_owned(),
            home,
            origins: BTreeMap::new(),
            profile_origin: Origin::Default,
            problems: Vec::new(),
        }
    }

    /// Loads the settings of this process: its environment, its working
    /// directory and `$HOME`.
    ///
    /// # Errors
    ///
    /// As [`Settings::load_from`].
    pub fn load() -> Result<Settings, SettingsError> {
        Settings::load_from(Sources::from_process()?)
    }

    /// Loads settings from explicit sources, in the order of the
    /// [module docs](self).
    ///
    /// # Errors
    ///
    /// [`SettingsError::Invalid`] for a value that does not fit its setting,
    /// [`SettingsError::Syntax`] for a TOML file that does not parse,
    /// [`SettingsError::UnknownProfile`] when the active profile does not exist,
    /// the interpolation errors of `config.toml`, [`SettingsError::NoHome`] and
    /// [`SettingsError::Io`].
    pub fn load_from(sources: Sources) -> Result<Settings, SettingsError> {
        load::load(&sources)
    }

    /// What was wrong but did not stop loading, such as unknown keys.
    pub fn problems(&self) -> &[Problem] {
        &self.problems
    }
}

/// One value read from a source.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Entry {
    pub(crate) key: Key,
    pub(crate) raw: Raw,
    pub(crate) origin: Origin,
}

static CURRENT: OnceLock<Settings> = OnceLock::new();

/// The settings of this process, loaded on first use with [`Settings::load`].
///
/// A bad value must not crash a flow: if loading fails, the defaults are used
/// and the error is logged once with `tracing::warn!`, as are the
/// [`Settings::problems`] of a successful load.
pub fn current() -> &'static Settings {
    CURRENT.get_or_init(|| match Settings::load() {
        Ok(settings) => {
            for problem in settings.problems() {
                tracing::warn!(%problem, "prefect settings");
            }
            settings
        }
        Err(error) => {
            tracing::warn!(%error, "cannot load prefect settings; using the defaults");
            Settings::defaults(fallback_home())
        }
    })
}

/// Installs the settings [`current`] returns, before anything reads them.
///
/// # Errors
///
/// [`SettingsError::AlreadySet`] if they were already set or read.
pub fn set_current(settings: Settings) -> Result<(), SettingsError> {
    CURRENT.set(settings).map_err(|_| SettingsError::AlreadySet)
}

fn fallback_home() -> PathBuf {
    let var = |name| std::env::var_os(name).filter(|v| !v.is_empty()).map(PathBuf::from);
    var("PREFECT_HOME")
        .or_else(|| var("HOME").map(|h| h.join(".prefect")))
        .unwrap_or_else(|| PathBuf::from(".prefect"))
}
