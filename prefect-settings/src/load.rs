//! Putting the sources together, in order of precedence.
//!
//! Loading never stops at the first error: a value that does not fit its
//! setting leaves that setting at its default, a file that cannot be read or
//! parsed contributes nothing, and each such error is collected. The strict
//! [`Settings::load_from`] returns the first of them; the lenient
//! [`Settings::load_lenient_from`] keeps them all in [`Settings::invalid`].

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use super::config::UserConfig;
use super::key::Key;
use super::{
    DEFAULT_PROFILE, Entry, Origin, Problem, Profiles, Secrets, Settings, SettingsError, Sources, env, file,
    value,
};

/// Loads `sources`: the settings, and every error met on the way.
pub(crate) fn load(sources: &Sources) -> (Settings, Vec<SettingsError>) {
    let mut loader = Loader::new(sources);
    let mut entries = loader.env_and_project();
    let mut settings = Settings::defaults(loader.home(&entries));
    let (profile, profile_origin, from_profile) = loader.profile(&settings.home);
    entries.extend(from_profile);
    let (user_config, legacy) = loader.user_config(&settings.home);
    entries.extend(legacy.entries);
    settings.secrets = secrets(sources, &legacy.secrets);
    settings.user_config = user_config;

    let mut seen = BTreeSet::new();
    for entry in entries.into_iter().filter(|e| seen.insert(e.key)) {
        loader.apply(&mut settings, entry);
    }
    settings.profile = profile;
    settings.profile_origin = profile_origin;
    settings.problems = loader.problems;
    (settings, loader.errors)
}

/// The `config.toml` [`load`] would read, without the rest of the settings.
pub(crate) fn user_config(sources: &Sources) -> UserConfig {
    let mut loader = Loader::new(sources);
    let entries = loader.env_and_project();
    let home = loader.home(&entries);
    loader.user_config(&home).0
}

struct Loader<'a> {
    sources: &'a Sources,
    user_home: Option<PathBuf>,
    errors: Vec<SettingsError>,
    problems: Vec<Problem>,
}

impl<'a> Loader<'a> {
    fn new(sources: &'a Sources) -> Self {
        Loader { sources, user_home: sources.home_dir(), errors: Vec::new(), problems: Vec::new() }
    }

    /// The settings of the environment and of `prefect.toml`, in that order.
    fn env_and_project(&mut self) -> Vec<Entry> {
        self.problems.extend(env::unknown(self.sources));
        let mut entries = env::prefect3(self.sources);
        entries.extend(env::prefect1(self.sources));
        let path = self.sources.working_dir().join("prefect.toml");
        let parsed =
            file::read(&path).and_then(|text| text.map(|t| file::prefect_toml(&path, &t)).transpose());
        match parsed {
            Ok(Some((project, found))) => {
                entries.extend(project);
                self.problems.extend(found);
            }
            Ok(None) => {}
            Err(error) => self.errors.push(error),
        }
        entries
    }

    /// `PREFECT_HOME` from the first source that sets it, else `~/.prefect`,
    /// else `.prefect`. An invalid value is reported when it is applied.
    fn home(&mut self, entries: &[Entry]) -> PathBuf {
        let user_home = self.user_home.as_deref();
        let set = entries.iter().find(|e| e.key == Key::Home).and_then(|e| value::path(&e.raw, user_home));
        set.or_else(|| user_home.map(|h| h.join(".prefect"))).unwrap_or_else(|| {
            self.errors.push(SettingsError::NoHome);
            PathBuf::from(".prefect")
        })
    }

    /// The active profile, where its name comes from, and its settings.
    /// `PREFECT_PROFILE` first, then the file's `active` key, then `default`:
    /// each one that does not exist is an error, and the next one is used.
    fn profile(&mut self, home: &Path) -> (String, Origin, Vec<Entry>) {
        let profiles = Profiles::load(home).unwrap_or_else(|error| {
            self.errors.push(error);
            Profiles::empty(home)
        });
        let mut candidates = Vec::new();
        if let Some(name) = self.sources.var(env::PROFILE).filter(|n| !n.is_empty()) {
            candidates.push((name.to_owned(), Origin::Env { var: env::PROFILE.to_owned() }));
        }
        candidates.push((profiles.active().to_owned(), profiles.active_origin()));
        candidates.push((DEFAULT_PROFILE.to_owned(), Origin::Default));
        let mut tried = BTreeSet::new();
        for (name, origin) in candidates {
            if !tried.insert(name.clone()) {
                continue;
            }
            match profiles.layer(&name) {
                Ok((entries, found)) => {
                    self.problems.extend(found);
                    return (name, origin, entries);
                }
                Err(error) => self.errors.push(error),
            }
        }
        (DEFAULT_PROFILE.to_owned(), Origin::Default, Vec::new())
    }

    /// The Prefect 1 `config.toml`, `PREFECT__USER_CONFIG_PATH` (which must
    /// exist), else `home/config.toml` (if it exists), and its settings.
    fn user_config(&mut self, home: &Path) -> (UserConfig, file::Legacy) {
        let (path, required) = match self.sources.var(env::USER_CONFIG_PATH).filter(|p| !p.is_empty()) {
            Some(path) => (PathBuf::from(path), true),
            None => (home.join("config.toml"), false),
        };
        let read = match file::read(&path) {
            Ok(None) if !required => return (UserConfig::absent(path), file::Legacy::default()),
            Ok(None) => {
                let source =
                    std::io::Error::new(std::io::ErrorKind::NotFound, "named by PREFECT__USER_CONFIG_PATH");
                Err(SettingsError::Io { path: path.clone(), source })
            }
            Ok(Some(text)) => {
                file::config_toml(&path, &text, self.sources.vars()).map(|legacy| (text, legacy))
            }
            Err(error) => Err(error),
        };
        let (text, mut legacy) = match read {
            Ok(read) => read,
            Err(error) => {
                let config = UserConfig::unreadable(path, &error);
                self.errors.push(error);
                return (config, file::Legacy::default());
            }
        };
        self.errors.append(&mut legacy.errors);
        self.problems.append(&mut legacy.problems);
        legacy.entries.retain(|entry| self.not_home(entry));
        (UserConfig::read(path, text, self.sources.vars()), legacy)
    }

    /// `home` cannot come from `config.toml`, which is read from the home.
    fn not_home(&mut self, entry: &Entry) -> bool {
        if entry.key != Key::Home {
            return true;
        }
        let message = "home cannot be set in config.toml, which is read from the home".to_owned();
        self.problems.push(Problem { origin: entry.origin.clone(), message });
        false
    }

    /// Stores one value; a value that does not fit leaves the default.
    fn apply(&mut self, settings: &mut Settings, entry: Entry) {
        match entry.key.apply(settings, &entry.raw, self.user_home.as_deref()) {
            Some(()) => {
                settings.origins.insert(entry.key, entry.origin);
            }
            None => self.errors.push(invalid(&entry)),
        }
    }
}

/// The secrets of the environment, then those of `config.toml`.
fn secrets(sources: &Sources, from_config: &[(String, String)]) -> Secrets {
    let mut secrets = Secrets::default();
    for (name, value) in env::secrets(sources) {
        secrets.add(name, value);
    }
    for (name, value) in from_config {
        secrets.add(name, value);
    }
    secrets
}

fn invalid(entry: &Entry) -> SettingsError {
    SettingsError::Invalid {
        key: entry.key.dotted(),
        value: entry.raw.to_string(),
        origin: entry.origin.clone(),
        expected: entry.key.expected(),
    }
}
