//! Each setting's value and where it came from (`prefect config view`).

use std::fmt::Write as _;

use super::key::Key;
use super::{Origin, Settings, env};

/// One setting as [`Settings::entries`] shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SettingEntry {
    /// The environment variable, e.g. `PREFECT_LOGGING_LEVEL`.
    pub name: &'static str,
    /// The dotted path in TOML files, e.g. `logging.level` (`profile` for `PREFECT_PROFILE`).
    pub key: &'static str,
    /// The value as a user would write it, e.g. `DEBUG` or `1m 30s`.
    pub value: String,
    /// Where the value came from.
    pub origin: Origin,
}

impl Settings {
    /// Every setting, `PREFECT_PROFILE` first, with its value and origin.
    ///
    /// # Examples
    ///
    /// ```
    /// use prefect_settings::{Origin, Settings, Sources};
    ///
    /// let sources = Sources::new("/no/such/dir").user_home("/home/ada").env("PREFECT_RECORDING_ENABLED", "off");
    /// let settings = Settings::load_from(sources)?;
    /// let entry = settings.entries().into_iter().find(|e| e.key == "recording.enabled").unwrap();
    /// assert_eq!(entry.value, "false");
    /// assert_eq!(entry.origin, Origin::Env { var: "PREFECT_RECORDING_ENABLED".into() });
    /// # Ok::<(), prefect_settings::SettingsError>(())
    /// ```
    pub fn entries(&self) -> Vec<SettingEntry> {
        let profile = SettingEntry {
            name: env::PROFILE,
            key: "profile",
            value: self.profile.clone(),
            origin: self.profile_origin.clone(),
        };
        let keys = Key::ALL.into_iter().map(|key| SettingEntry {
            name: key.env_var(),
            key: key.dotted(),
            value: key.show(self),
            origin: self.origins.get(&key).cloned().unwrap_or(Origin::Default),
        });
        std::iter::once(profile).chain(keys).collect()
    }

    /// Where a setting came from, by either name (`PREFECT_LOGGING_LEVEL` or
    /// `logging.level`); `None` for unknown names.
    pub fn origin(&self, name: &str) -> Option<&Origin> {
        if name.eq_ignore_ascii_case(env::PROFILE) || name == "profile" {
            return Some(&self.profile_origin);
        }
        let key = Key::from_name(name)?;
        Some(self.origins.get(&key).unwrap_or(&Origin::Default))
    }

    /// One `PREFECT_NAME='value'` line per setting, each followed by
    /// ` (from <origin>)` when `show_sources` is set.
    pub fn view(&self, show_sources: bool) -> String {
        let mut out = String::new();
        for entry in self.entries() {
            let _ = write!(out, "{}='{}'", entry.name, entry.value);
            if show_sources {
                let _ = write!(out, " (from {})", entry.origin);
            }
            out.push('\n');
        }
        out
    }
}
