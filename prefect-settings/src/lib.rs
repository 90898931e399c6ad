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
//! | `logging.log_prints` | `PREFECT_LOGGING_LOG_PRINTS` | `false` |
//! | `logging.progress` | `PREFECT_LOGGING_PROGRESS` | `auto` (a progress bar for maps when stderr is a terminal) |
//! | `tasks.default_retries` | `PREFECT_TASKS_DEFAULT_RETRIES` | `0` |
//! | `tasks.default_retry_delay` | `PREFECT_TASKS_DEFAULT_RETRY_DELAY` | `0s` |
//! | `flows.default_retries` | `PREFECT_FLOWS_DEFAULT_RETRIES` | `0` |
//! | `flows.run_on_schedule` | `PREFECT_FLOWS_RUN_ON_SCHEDULE` | `true` |
//! | `results.persist_by_default` | `PREFECT_RESULTS_PERSIST_BY_DEFAULT` | `false` |
//! | `results.storage_path` | `PREFECT_RESULTS_STORAGE_PATH` | `$PREFECT_HOME/storage` |
//! | `api.database_url` | `PREFECT_API_DATABASE_URL` | `sqlite:///$PREFECT_HOME/prefect.db`; a `postgresql://` URL records to PostgreSQL |
//! | `recording.enabled` | `PREFECT_RECORDING_ENABLED` | `true` |
//! | `db.retention` | `PREFECT_DB_RETENTION` | none (keep every run) |
//! | `api.url` | `PREFECT_API_URL` | none: record into the local database; `http://127.0.0.1:4200/api` records to that server (`prefect-store-http`) |
//! | `api.key` | `PREFECT_API_KEY` | none (a secret: shown redacted) |
//! | (active profile) | `PREFECT_PROFILE` | `active` in `profiles.toml`, else `default` |
//!
//! # Prefect 1 names
//!
//! Prefect 1's variables and `config.toml` keys work as they did:
//!
//! | Prefect 1 | prefect-rs |
//! |---|---|
//! | `PREFECT__LOGGING__LEVEL`, `[logging] level` | `logging.level` |
//! | `PREFECT__TASKS__DEFAULTS__MAX_RETRIES`, `[tasks.defaults] max_retries` | `tasks.default_retries` |
//! | `PREFECT__TASKS__DEFAULTS__RETRY_DELAY`, `[tasks.defaults] retry_delay` (seconds, a duration, or `false` for none) | `tasks.default_retry_delay` |
//! | `PREFECT__FLOWS__RUN_ON_SCHEDULE`, `[flows] run_on_schedule` | `flows.run_on_schedule` |
//! | `PREFECT__CONTEXT__SECRETS__<NAME>`, `[context.secrets] NAME = "..."` | [`Settings::secret`]`("NAME")` |
//! | `PREFECT__USER_CONFIG_PATH` | which `config.toml` is read (source 5) |
//! | `PREFECT__<SECTION>__<KEY>` of any setting above, e.g. `PREFECT__RECORDING__ENABLED` | that setting |
//!
//! When a setting is given under both names in one source, the prefect-rs
//! name wins. Secret names keep their case (`PREFECT__CONTEXT__SECRETS__Slack`
//! is `Slack`); a secret in the environment wins over `config.toml`'s, and
//! neither `Debug` nor `Display` of [`Settings`] or [`Secrets`] shows a value.
//! Other keys of `config.toml` (`user`, `[environments.dev]`, ...) are the
//! user's own: they are not reported, and [`config::get`] reads them, typed.
//!
//! # Unknown variables
//!
//! Every other `PREFECT_` (or `PREFECT__`) variable is a [`Problem`] with the
//! closest known name (`unknown setting PREFECT_TASK_DEFAULT_RETRIES; did you
//! mean PREFECT_TASKS_DEFAULT_RETRIES?`), which [`current`] prints, except:
//! Prefect's own names for features not built yet that users commonly set for
//! Python Prefect (`PREFECT_UI_URL`,
//! `PREFECT_SERVER_API_HOST`, `PREFECT_SERVER_API_PORT`, `PREFECT_SERVER_API_KEY`,
//! Prefect 1's `PREFECT__BACKEND` and `PREFECT__CLOUD__*`/`PREFECT__SERVER__*`
//! names for those), `PREFECT_PROFILE`, `PREFECT__USER_CONFIG_PATH`, the
//! secrets, and `PREFECT_TEST_*`, which the project's own tests set.
//!
//! # Invalid values
//!
//! An invalid value is an error naming the setting, its source (the
//! variable, or the file and line) and what was expected; unknown keys in
//! `prefect.toml` and profiles are [`Problem`]s. Loading is either:
//!
//! - **lenient** ([`Settings::load_lenient_from`], and [`current`], which the
//!   engine reads): an invalid value costs only its own setting, which keeps
//!   its default (not the value of a lower source: the value written was
//!   meant to win, and the default is predictable); a TOML file with a
//!   syntax error costs that file's settings, since nothing in it can be
//!   trusted to be read as written, and the other sources still count. The
//!   errors are kept in [`Settings::invalid`], and [`current`] writes them to
//!   stderr once per process with what is used instead ([`Settings::report`]),
//!   whatever the log level: one typo must not silently send every run to
//!   the default database with default retries;
//! - **strict** ([`Settings::load_from`], [`Settings::load`]): the first error
//!   fails the load, for tools such as `prefect config view` that report it
//!   rather than act on settings they could not read in full.
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

pub mod config;
mod env;
mod error;
mod file;
mod interpolate;
mod key;
mod load;
mod profiles;
mod report;
mod secrets;
mod sources;
mod value;
mod view;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

pub use error::{Problem, SettingsError};
pub use prefect_model::LogLevel;
pub use profiles::{DEFAULT_PROFILE, Profiles};
pub use secrets::{Secret, Secrets};
pub use sources::{Origin, Sources};
pub use view::SettingEntry;

use key::Key;
use value::Raw;

/// The settings of a process. Build one with [`Settings::load_from`]
/// (strict), [`Settings::load_lenient_from`] or [`Settings::defaults`]; read
/// the process-wide one with [`current`].
#[derive(Debug, Clone)]
pub struct Settings {
    /// `PREFECT_HOME`: where profiles, results and the run database live.
    pub home: PathBuf,
    /// `PREFECT_LOGGING_LEVEL`.
    pub logging_level: LogLevel,
    /// `PREFECT_LOGGING_LOG_PRINTS`: whether flows and tasks that do not say
    /// send what they print to the run log (`log_prints`).
    pub logging_log_prints: bool,
    /// `PREFECT_LOGGING_PROGRESS`: whether maps show a progress bar on
    /// stderr; `None` (`auto`) shows one when stderr is a terminal.
    pub logging_progress: Option<bool>,
    /// `PREFECT_TASKS_DEFAULT_RETRIES`: retries of tasks that set none.
    pub tasks_default_retries: u32,
    /// `PREFECT_TASKS_DEFAULT_RETRY_DELAY`: delay between those retries.
    pub tasks_default_retry_delay: Duration,
    /// `PREFECT_FLOWS_DEFAULT_RETRIES`: retries of flows that set none.
    pub flows_default_retries: u32,
    /// `PREFECT_FLOWS_RUN_ON_SCHEDULE`: whether flows with a schedule run on
    /// it (Prefect 1's `flows.run_on_schedule`).
    pub flows_run_on_schedule: bool,
    /// `PREFECT_RESULTS_PERSIST_BY_DEFAULT`.
    pub results_persist_by_default: bool,
    /// `PREFECT_RESULTS_STORAGE_PATH`: the directory of persisted results.
    pub results_storage_path: PathBuf,
    /// The SQLite file of `PREFECT_API_DATABASE_URL` (a `sqlite:` URL or a path).
    pub database_path: PathBuf,
    /// `PREFECT_API_DATABASE_URL` when it names a database server
    /// (`postgresql://user@host:5432/db`): runs are recorded there and
    /// [`Settings::database_path`] is not used.
    pub database_url: Option<String>,
    /// `PREFECT_RECORDING_ENABLED`: whether runs are recorded to the database.
    pub recording_enabled: bool,
    /// `PREFECT_DB_RETENTION`: runs older than this are pruned; `None` keeps all.
    pub db_retention: Option<Duration>,
    /// `PREFECT_API_URL`: the server a program records to and the CLI asks,
    /// instead of the local database (`None`: the local database).
    pub api_url: Option<String>,
    /// `PREFECT_API_KEY`: the key sent to that server (its `Debug` is
    /// redacted).
    pub api_key: Option<Secret>,
    /// `PREFECT_PROFILE`: the active profile's name.
    pub profile: String,
    origins: BTreeMap<Key, Origin>,
    secrets: Secrets,
    user_config: config::UserConfig,
    profile_origin: Origin,
    problems: Vec<Problem>,
    invalid: Arc<[SettingsError]>,
}

impl Settings {
    /// The defaults, with `home` as `PREFECT_HOME`.
    pub fn defaults(home: impl Into<PathBuf>) -> Settings {
        let home = home.into();
        Settings {
            logging_level: LogLevel::Info,
            logging_log_prints: false,
            logging_progress: None,
            tasks_default_retries: 0,
            tasks_default_retry_delay: Duration::ZERO,
            flows_default_retries: 0,
            flows_run_on_schedule: true,
            results_persist_by_default: false,
            results_storage_path: home.join("storage"),
            database_path: home.join("prefect.db"),
            database_url: None,
            user_config: config::UserConfig::not_read(home.join("config.toml")),
            recording_enabled: true,
            db_retention: None,
            api_url: None,
            api_key: None,
            profile: DEFAULT_PROFILE.to_owned(),
            home,
            origins: BTreeMap::new(),
            secrets: Secrets::default(),
            profile_origin: Origin::Default,
            problems: Vec::new(),
            invalid: Arc::new([]),
        }
    }

    /// Loads the settings of this process: its environment, its working
    /// directory and `$HOME`, strictly (see [`Settings::load_from`]).
    ///
    /// # Errors
    ///
    /// As [`Settings::load_from`], and [`SettingsError::Io`] if the working
    /// directory cannot be read.
    pub fn load() -> Result<Settings, SettingsError> {
        Settings::load_from(Sources::from_process()?)
    }

    /// Loads settings from explicit sources, in the order of the
    /// [module docs](self), strictly: the first error fails the load. For
    /// tools that must not act on settings they could not read in full
    /// (`prefect config view`); a running flow uses the lenient
    /// [`Settings::load_lenient_from`] instead.
    ///
    /// # Errors
    ///
    /// [`SettingsError::Invalid`] for a value that does not fit its setting,
    /// [`SettingsError::Syntax`] for a TOML file that does not parse,
    /// [`SettingsError::UnknownProfile`] when the active profile does not exist,
    /// the interpolation errors of `config.toml`, [`SettingsError::NoHome`] and
    /// [`SettingsError::Io`].
    pub fn load_from(sources: Sources) -> Result<Settings, SettingsError> {
        let (settings, errors) = load::load(&sources);
        match errors.into_iter().next() {
            Some(error) => Err(error),
            None => Ok(settings),
        }
    }

    /// Loads settings from explicit sources without failing: each error of
    /// [`Settings::load_from`] is kept in [`Settings::invalid`], and costs
    /// only what it touches. An invalid value leaves its one setting at the
    /// default (it does not fall through to a lower source: the value
    /// written was meant to win); a file that cannot be read or parsed adds
    /// nothing, the other sources still count; an unknown active profile is
    /// replaced by the file's `active` one, else `default`; a missing home
    /// by `.prefect`.
    ///
    /// # Examples
    ///
    /// ```
    /// use prefect_settings::{Settings, SettingsError, Sources};
    ///
    /// let sources = Sources::new("/no/such/project")
    ///     .user_home("/home/ada")
    ///     .env("PREFECT_TASKS_DEFAULT_RETRIES", "lots")
    ///     .env("PREFECT_FLOWS_DEFAULT_RETRIES", "2");
    /// let settings = Settings::load_lenient_from(sources);
    /// assert_eq!((settings.tasks_default_retries, settings.flows_default_retries), (0, 2));
    /// assert!(matches!(
    ///     settings.invalid(),
    ///     [SettingsError::Invalid { key: "tasks.default_retries", .. }]
    /// ));
    /// ```
    pub fn load_lenient_from(sources: Sources) -> Settings {
        let (mut settings, errors) = load::load(&sources);
        settings.invalid = errors.into();
        settings
    }

    /// [`Settings::load_lenient_from`] the sources of this process. If the
    /// working directory cannot be read, `prefect.toml` is looked for in `.`
    /// and the error is the first of [`Settings::invalid`].
    pub fn load_lenient() -> Settings {
        let (sources, unreadable) = match Sources::from_process() {
            Ok(sources) => (sources, None),
            Err(error) => (Sources::new(".").envs(sources::process_env()), Some(error)),
        };
        let (mut settings, errors) = load::load(&sources);
        settings.invalid = unreadable.into_iter().chain(errors).collect();
        settings
    }

    /// The secret `name`, from `PREFECT__CONTEXT__SECRETS__<NAME>`, else the
    /// `[context.secrets]` table of `config.toml` (see [`Secrets`]).
    pub fn secret(&self, name: &str) -> Option<&str> {
        self.secrets.get(name)
    }

    /// Every secret, by name; printing them shows no value.
    pub fn secrets(&self) -> &Secrets {
        &self.secrets
    }

    /// The Prefect 1 `config.toml` these settings read, for its user keys
    /// ([`config::get`]).
    pub fn user_config(&self) -> &config::UserConfig {
        &self.user_config
    }

    /// What was wrong but did not stop loading: unknown keys in files, and
    /// unknown `PREFECT_` variables.
    pub fn problems(&self) -> &[Problem] {
        &self.problems
    }

    /// The values and files [`Settings::load_lenient_from`] could not use,
    /// each naming the setting or file, where it was written and what was
    /// expected; empty after [`Settings::load_from`], which fails instead.
    /// [`Settings::report`] says what is used in their place.
    pub fn invalid(&self) -> &[SettingsError] {
        &self.invalid
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

/// The settings of this process, loaded on first use with
/// [`Settings::load_lenient`].
///
/// A bad value must not crash a flow, nor cost it its other settings: an
/// invalid value leaves only its own setting at the default. What was
/// wrong is written to stderr once, at that first use, whatever the log
/// level ([`Settings::report`]), so a typo cannot silently send runs to
/// the default database.
pub fn current() -> &'static Settings {
    CURRENT.get_or_init(|| {
        let settings = Settings::load_lenient();
        // Nowhere to report a failing stderr; the settings are still usable.
        let _ = settings.report(&mut std::io::stderr().lock());
        settings
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
