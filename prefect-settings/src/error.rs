//! What can go wrong while reading and changing settings.

use std::fmt;
use std::path::PathBuf;

use super::Origin;

/// An error of the settings module. Every message names the setting and the
/// file or variable at fault.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SettingsError {
    /// A value does not fit its setting.
    #[error("invalid value {value} for {key} (from {origin}): expected {expected}")]
    Invalid {
        /// The setting, as a dotted path (`tasks.default_retries`).
        key: &'static str,
        /// The value as written (strings quoted).
        value: String,
        /// Where the value came from.
        origin: Origin,
        /// What a valid value looks like.
        expected: &'static str,
    },
    /// A TOML file is not valid TOML.
    #[error("cannot parse {} line {line}: {message}", path.display())]
    Syntax {
        /// The file.
        path: PathBuf,
        /// The line of the error, counted from 1.
        line: usize,
        /// What the TOML parser said.
        message: String,
    },
    /// A file could not be read or written.
    #[error("cannot access {}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// Neither `PREFECT_HOME` nor a user home directory (`HOME`) is known.
    #[error("cannot find the prefect home: set PREFECT_HOME or HOME")]
    NoHome,
    /// A profile that does not exist was asked for.
    #[error("profile {name:?} not found in {} (known: {known})", path.display())]
    UnknownProfile {
        /// The profile's name.
        name: String,
        /// The `profiles.toml` file.
        path: PathBuf,
        /// The known profiles, comma-separated.
        known: String,
    },
    /// A profile with this name exists already.
    #[error("profile {name:?} already exists")]
    ProfileExists {
        /// The profile's name.
        name: String,
    },
    /// A profile name that cannot be used (empty, or not a bare TOML key).
    #[error("invalid profile name {name:?}: use letters, digits, '-' and '_'")]
    InvalidProfileName {
        /// The rejected name.
        name: String,
    },
    /// The active profile cannot be deleted.
    #[error("profile {name:?} is active; switch to another profile before deleting it")]
    ProfileActive {
        /// The profile's name.
        name: String,
    },
    /// A setting name that is not known, or cannot be set there.
    #[error("cannot set {name:?}: {reason}")]
    UnknownKey {
        /// The name as given.
        name: String,
        /// Why, with a hint.
        reason: String,
    },
    /// A `${...}` or `$VAR` in the Prefect 1 `config.toml` cannot be resolved.
    #[error("cannot interpolate {key} ({origin}): {message}")]
    Interpolation {
        /// The setting being read, as a dotted path.
        key: String,
        /// Where its value is written.
        origin: Origin,
        /// What went wrong, e.g. `"${db.user}" is not defined`.
        message: String,
    },
    /// Interpolation in the Prefect 1 `config.toml` refers back to itself.
    #[error("interpolation cycle in {}: {}", path.display(), chain.join(" -> "))]
    InterpolationCycle {
        /// The file.
        path: PathBuf,
        /// The keys in the cycle, the first repeated at the end.
        chain: Vec<String>,
    },
    /// [`set_current`](super::set_current) was called after the process
    /// settings were already in place.
    #[error("the process settings were already set or read; call set_current before settings::current")]
    AlreadySet,
}

/// Something wrong that does not stop loading, such as an unknown key in
/// `prefect.toml`. [`Settings::problems`](super::Settings::problems) lists them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Where the problem is.
    pub origin: Origin,
    /// What it is, with a hint when there is one.
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.message, self.origin)
    }
}
