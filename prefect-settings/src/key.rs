//! The settings' names, and how each one's value is checked and stored.

use std::path::Path;

use super::value::{self, LEVELS, Raw};
use super::{Settings, SettingsError};

/// One setting that sources can set (the active profile is not one: it
/// chooses a source).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum Key {
    Home,
    LoggingLevel,
    LoggingLogPrints,
    LoggingProgress,
    TasksDefaultRetries,
    TasksDefaultRetryDelay,
    FlowsDefaultRetries,
    FlowsRunOnSchedule,
    ResultsPersistByDefault,
    ResultsStoragePath,
    ApiDatabaseUrl,
    RecordingEnabled,
    DbRetention,
    ApiUrl,
    ApiToken,
}

const COUNT: &str = "a whole number >= 0";
const BOOL: &str = "true or false";
const DURATION: &str = "a duration such as \"10s\", \"1m 30s\" or \"2h\", or whole seconds";
const PATH: &str = "a non-empty path";

impl Key {
    pub(crate) const ALL: [Key; 15] = [
        Key::Home,
        Key::LoggingLevel,
        Key::LoggingLogPrints,
        Key::LoggingProgress,
        Key::TasksDefaultRetries,
        Key::TasksDefaultRetryDelay,
        Key::FlowsDefaultRetries,
        Key::FlowsRunOnSchedule,
        Key::ResultsPersistByDefault,
        Key::ResultsStoragePath,
        Key::ApiDatabaseUrl,
        Key::RecordingEnabled,
        Key::DbRetention,
        Key::ApiUrl,
        Key::ApiToken,
    ];

    /// `(dotted path in TOML files, environment variable, what a value must be)`.
    fn spec(self) -> (&'static str, &'static str, &'static str) {
        match self {
            Key::Home => ("home", "PREFECT_HOME", PATH),
            Key::LoggingLevel => ("logging.level", "PREFECT_LOGGING_LEVEL", LEVELS),
            Key::LoggingLogPrints => ("logging.log_prints", "PREFECT_LOGGING_LOG_PRINTS", BOOL),
            Key::LoggingProgress => ("logging.progress", "PREFECT_LOGGING_PROGRESS", "auto, true or false"),
            Key::TasksDefaultRetries => ("tasks.default_retries", "PREFECT_TASKS_DEFAULT_RETRIES", COUNT),
            Key::TasksDefaultRetryDelay => {
                ("tasks.default_retry_delay", "PREFECT_TASKS_DEFAULT_RETRY_DELAY", DURATION)
            }
            Key::FlowsDefaultRetries => ("flows.default_retries", "PREFECT_FLOWS_DEFAULT_RETRIES", COUNT),
            Key::FlowsRunOnSchedule => ("flows.run_on_schedule", "PREFECT_FLOWS_RUN_ON_SCHEDULE", BOOL),
            Key::ResultsPersistByDefault => {
                ("results.persist_by_default", "PREFECT_RESULTS_PERSIST_BY_DEFAULT", BOOL)
            }
            Key::ResultsStoragePath => ("results.storage_path", "PREFECT_RESULTS_STORAGE_PATH", PATH),
            Key::ApiDatabaseUrl => (
                "api.database_url",
                "PREFECT_API_DATABASE_URL",
                "a sqlite URL such as \"sqlite:///path/prefect.db\", a path, or a postgresql:// URL",
            ),
            Key::RecordingEnabled => ("recording.enabled", "PREFECT_RECORDING_ENABLED", BOOL),
            Key::DbRetention => {
                ("db.retention", "PREFECT_DB_RETENTION", "a duration such as \"30d\", or \"none\"")
            }
            Key::ApiUrl => (
                "api.url",
                "PREFECT_API_URL",
                "a server's API URL such as \"http://127.0.0.1:4200/api\", or empty for the local database",
            ),
            Key::ApiToken => ("api.key", "PREFECT_API_KEY", "the server's API key (any non-empty text)"),
        }
    }

    /// The dotted path, e.g. `tasks.default_retries`.
    pub(crate) fn dotted(self) -> &'static str {
        self.spec().0
    }

    /// The environment variable, e.g. `PREFECT_TASKS_DEFAULT_RETRIES`.
    pub(crate) fn env_var(self) -> &'static str {
        self.spec().1
    }

    /// What a valid value looks like, for error messages.
    pub(crate) fn expected(self) -> &'static str {
        self.spec().2
    }

    /// The Prefect 1 name of this setting, when it differs from
    /// [`Key::dotted`]: `tasks.defaults.max_retries` for `tasks.default_retries`.
    pub(crate) fn prefect1_alias(self) -> Option<&'static str> {
        match self {
            Key::TasksDefaultRetries => Some("tasks.defaults.max_retries"),
            Key::TasksDefaultRetryDelay => Some("tasks.defaults.retry_delay"),
            _ => None,
        }
    }

    pub(crate) fn from_dotted(s: &str) -> Option<Key> {
        Key::ALL.into_iter().find(|k| k.dotted() == s)
    }

    /// The key of a dotted path in a Prefect 1 source, and whether the path
    /// is the [Prefect 1 alias](Key::prefect1_alias) rather than the dotted name.
    pub(crate) fn from_prefect1_path(s: &str) -> Option<(Key, bool)> {
        Key::from_dotted(s)
            .map(|k| (k, false))
            .or_else(|| Key::ALL.into_iter().find(|k| k.prefect1_alias() == Some(s)).map(|k| (k, true)))
    }

    pub(crate) fn from_env_var(s: &str) -> Option<Key> {
        Key::ALL.into_iter().find(|k| k.env_var() == s)
    }

    /// Either spelling, any case: `PREFECT_LOGGING_LEVEL` or `logging.level`.
    pub(crate) fn from_name(s: &str) -> Option<Key> {
        Key::ALL
            .into_iter()
            .find(|k| k.env_var().eq_ignore_ascii_case(s) || k.dotted().eq_ignore_ascii_case(s))
    }

    /// Checks `raw` and stores it in `settings`; `None` if it does not fit.
    pub(crate) fn apply(self, settings: &mut Settings, raw: &Raw, user_home: Option<&Path>) -> Option<()> {
        let s = settings;
        match self {
            Key::Home => s.home = value::path(raw, user_home)?,
            Key::LoggingLevel => s.logging_level = value::level(raw)?,
            Key::LoggingLogPrints => s.logging_log_prints = value::boolean(raw)?,
            Key::LoggingProgress => s.logging_progress = value::auto_boolean(raw)?,
            Key::TasksDefaultRetries => s.tasks_default_retries = value::count(raw)?,
            Key::TasksDefaultRetryDelay => s.tasks_default_retry_delay = value::retry_delay(raw)?,
            Key::FlowsDefaultRetries => s.flows_default_retries = value::count(raw)?,
            Key::FlowsRunOnSchedule => s.flows_run_on_schedule = value::boolean(raw)?,
            Key::ResultsPersistByDefault => s.results_persist_by_default = value::boolean(raw)?,
            Key::ResultsStoragePath => s.results_storage_path = value::path(raw, user_home)?,
            Key::ApiDatabaseUrl => match value::database(raw, user_home)? {
                value::Database::File(path) => {
                    s.database_path = path;
                    s.database_url = None;
                }
                value::Database::Server(url) => s.database_url = Some(url),
            },
            Key::RecordingEnabled => s.recording_enabled = value::boolean(raw)?,
            Key::DbRetention => s.db_retention = value::optional_duration(raw)?,
            Key::ApiUrl => s.api_url = value::api_url(raw)?,
            Key::ApiToken => s.api_key = value::secret(raw)?,
        }
        Some(())
    }

    /// The value of this setting in `settings`, as a user would write it.
    pub(crate) fn show(self, s: &Settings) -> String {
        let duration = |d| humantime::format_duration(d).to_string();
        match self {
            Key::Home => s.home.display().to_string(),
            Key::LoggingLevel => s.logging_level.to_string(),
            Key::LoggingLogPrints => s.logging_log_prints.to_string(),
            Key::LoggingProgress => s.logging_progress.map_or_else(|| "auto".to_owned(), |b| b.to_string()),
            Key::TasksDefaultRetries => s.tasks_default_retries.to_string(),
            Key::TasksDefaultRetryDelay => duration(s.tasks_default_retry_delay),
            Key::FlowsDefaultRetries => s.flows_default_retries.to_string(),
            Key::FlowsRunOnSchedule => s.flows_run_on_schedule.to_string(),
            Key::ResultsPersistByDefault => s.results_persist_by_default.to_string(),
            Key::ResultsStoragePath => s.results_storage_path.display().to_string(),
            Key::ApiDatabaseUrl => match &s.database_url {
                Some(url) => value::redacted(url),
                None => format!("sqlite://{}", s.database_path.display()),
            },
            Key::RecordingEnabled => s.recording_enabled.to_string(),
            Key::DbRetention => s.db_retention.map_or_else(|| "none".to_owned(), duration),
            Key::ApiUrl => s.api_url.clone().unwrap_or_default(),
            Key::ApiToken => {
                if s.api_key.is_some() {
                    "<redacted>".to_owned()
                } else {
                    String::new()
                }
            }
        }
    }
}

/// The key named `name`, if a profile may hold it.
pub(crate) fn settable(name: &str) -> Result<Key, SettingsError> {
    let reason = match Key::from_name(name) {
        Some(Key::Home) => "PREFECT_HOME cannot be set in a profile, which lives in the home".to_owned(),
        Some(key) => return Ok(key),
        None if name.eq_ignore_ascii_case(super::env::PROFILE) => {
            "choose the active profile with `use` instead".to_owned()
        }
        None => match suggest(name, true) {
            Some(s) => format!("unknown setting; did you mean {s}?"),
            None => "unknown setting".to_owned(),
        },
    };
    Err(SettingsError::UnknownKey { name: name.to_owned(), reason })
}

/// The known name closest to `name` (for "did you mean" hints).
pub(crate) fn suggest(name: &str, env_style: bool) -> Option<&'static str> {
    let spell = |k: Key| if env_style { k.env_var() } else { k.dotted() };
    prefect_model::text::closest(name, Key::ALL.map(spell), 3)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_suggest() {
        for key in Key::ALL {
            assert_eq!(Key::from_dotted(key.dotted()), Some(key));
            assert_eq!(Key::from_env_var(key.env_var()), Some(key));
            assert_eq!(Key::from_name(&key.env_var().to_lowercase()), Some(key));
        }
        assert_eq!(suggest("logging.levle", false), Some("logging.level"));
        assert_eq!(suggest("PREFECT_TASK_DEFAULT_RETRIES", true), Some("PREFECT_TASKS_DEFAULT_RETRIES"));
        assert_eq!(suggest("completely.different", false), None);
        assert_eq!(
            Key::from_prefect1_path("tasks.defaults.max_retries"),
            Some((Key::TasksDefaultRetries, true))
        );
        assert_eq!(Key::from_prefect1_path("tasks.default_retries"), Some((Key::TasksDefaultRetries, false)));
    }
}
