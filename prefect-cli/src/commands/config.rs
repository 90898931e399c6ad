//! `prefect config view | set | unset`: settings, changed in the active
//! profile.

use std::path::PathBuf;

use anyhow::Result;
use prefect_settings::{Profiles, Settings};
use serde_json::{Value, json};

use crate::output::Output;

/// Where profiles live and which one is active.
pub(crate) struct Target {
    /// `PREFECT_HOME`.
    pub(crate) home: PathBuf,
    /// The active profile's name.
    pub(crate) profile: String,
}

/// The home and active profile from the settings. When the settings do not
/// load (say a bad value in a profile), falls back to `PREFECT_HOME` (else
/// `~/.prefect`) and `PREFECT_PROFILE` (else the file's active profile), so
/// `config unset` and `profile use` can repair them.
pub(crate) fn target() -> Result<Target> {
    if let Ok(settings) = Settings::load() {
        return Ok(Target { home: settings.home, profile: settings.profile });
    }
    let var = |name| std::env::var(name).ok().filter(|v: &String| !v.is_empty());
    let home = match var("PREFECT_HOME") {
        Some(home) => PathBuf::from(home),
        None => std::env::home_dir()
            .map(|h| h.join(".prefect"))
            .ok_or_else(|| anyhow::anyhow!("cannot find the prefect home: set PREFECT_HOME or HOME"))?,
    };
    let profile = match var("PREFECT_PROFILE") {
        Some(profile) => profile,
        None => Profiles::load(&home)?.active().to_owned(),
    };
    Ok(Target { home, profile })
}

/// Prints every setting and its value, with where it came from when
/// `show_sources` is set; warns about ignored entries on stderr.
pub(crate) fn view(out: &mut Output, show_sources: bool) -> Result<()> {
    let settings = Settings::load()?;
    for problem in settings.problems() {
        eprintln!("warning: {problem}");
    }
    if out.json {
        return Ok(out.json(&entries_json(&settings, show_sources))?);
    }
    Ok(out.line(settings.view(show_sources).trim_end())?)
}

fn entries_json(settings: &Settings, show_sources: bool) -> Value {
    let entries = settings.entries().into_iter().map(|entry| {
        let mut value = json!({ "name": entry.name, "key": entry.key, "value": entry.value });
        if show_sources {
            value["source"] = json!(entry.origin.to_string());
        }
        value
    });
    Value::Array(entries.collect())
}

/// Sets `key` to `value` in the active profile (checked first).
pub(crate) fn set(out: &mut Output, key: &str, value: &str) -> Result<()> {
    let target = target()?;
    let mut profiles = Profiles::load(&target.home)?;
    profiles.set(&target.profile, key, value)?;
    profiles.save()?;
    Ok(out.line(format_args!("set {key}='{value}' in profile {}", target.profile))?)
}

/// Removes `key` from the active profile.
pub(crate) fn unset(out: &mut Output, key: &str) -> Result<()> {
    let target = target()?;
    let mut profiles = Profiles::load(&target.home)?;
    if !profiles.unset(&target.profile, key)? {
        return Ok(out.line(format_args!("{key} is not set in profile {}", target.profile))?);
    }
    profiles.save()?;
    Ok(out.line(format_args!("unset {key} in profile {}", target.profile))?)
}
