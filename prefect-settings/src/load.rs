//! Putting the sources together, in order of precedence.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use super::key::Key;
use super::{Entry, Origin, Problem, Profiles, Settings, SettingsError, Sources, env, file, value};

pub(crate) fn load(sources: &Sources) -> Result<Settings, SettingsError> {
    let user_home = sources.home_dir();
    let mut problems = Vec::new();
    let mut entries = env::prefect3(sources);
    entries.extend(env::prefect1(sources));
    let project_path = sources.working_dir().join("prefect.toml");
    if let Some(text) = file::read(&project_path)? {
        let (project, found) = file::prefect_toml(&project_path, &text)?;
        entries.extend(project);
        problems.extend(found);
    }

    let mut settings = Settings::defaults(home(&entries, user_home.as_deref())?);
    let profiles = Profiles::load(&settings.home)?;
    let (profile, profile_origin) = active_profile(sources, &profiles);
    let (from_profile, found) = profiles.layer(&profile)?;
    entries.extend(from_profile);
    problems.extend(found);
    for entry in user_config(sources, &settings.home)? {
        if entry.key == Key::Home {
            let message = "home cannot be set in config.toml, which is read from the home".to_owned();
            problems.push(Problem { origin: entry.origin, message });
        } else {
            entries.push(entry);
        }
    }

    let mut seen = BTreeSet::new();
    for entry in entries.into_iter().filter(|e| seen.insert(e.key)) {
        apply(&mut settings, entry, user_home.as_deref())?;
    }
    settings.profile = profile;
    settings.profile_origin = profile_origin;
    settings.problems = problems;
    Ok(settings)
}

/// `PREFECT_HOME` from the first source that sets it, else `~/.prefect`.
fn home(entries: &[Entry], user_home: Option<&Path>) -> Result<PathBuf, SettingsError> {
    match entries.iter().find(|e| e.key == Key::Home) {
        Some(entry) => value::path(&entry.raw, user_home).ok_or_else(|| invalid(entry)),
        None => user_home.map(|h| h.join(".prefect")).ok_or(SettingsError::NoHome),
    }
}

fn active_profile(sources: &Sources, profiles: &Profiles) -> (String, Origin) {
    if let Some(name) = sources.var(env::PROFILE).filter(|n| !n.is_empty()) {
        return (name.to_owned(), Origin::Env { var: env::PROFILE.to_owned() });
    }
    let name = profiles.active().to_owned();
    let origin = profiles.active_origin();
    (name, origin)
}

/// The Prefect 1 `config.toml`: `PREFECT__USER_CONFIG_PATH` (which must
/// exist), else `home/config.toml` (if it exists).
fn user_config(sources: &Sources, home: &Path) -> Result<Vec<Entry>, SettingsError> {
    let (path, required) = match sources.var(env::USER_CONFIG_PATH).filter(|p| !p.is_empty()) {
        Some(path) => (PathBuf::from(path), true),
        None => (home.join("config.toml"), false),
    };
    match file::read(&path)? {
        Some(text) => file::config_toml(&path, &text, sources.vars()),
        None if required => {
            let source =
                std::io::Error::new(std::io::ErrorKind::NotFound, "named by PREFECT__USER_CONFIG_PATH");
            Err(SettingsError::Io { path, source })
        }
        None => Ok(Vec::new()),
    }
}

fn apply(settings: &mut Settings, entry: Entry, user_home: Option<&Path>) -> Result<(), SettingsError> {
    entry.key.apply(settings, &entry.raw, user_home).ok_or_else(|| invalid(&entry))?;
    settings.origins.insert(entry.key, entry.origin);
    Ok(())
}

fn invalid(entry: &Entry) -> SettingsError {
    SettingsError::Invalid {
        key: entry.key.dotted(),
        value: entry.raw.to_string(),
        origin: entry.origin.clone(),
        expected: entry.key.expected(),
    }
}
