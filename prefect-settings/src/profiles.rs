//! Profiles: named sets of settings in `$PREFECT_HOME/profiles.toml`.
//!
//! The file has Prefect's layout, with keys in their environment form:
//!
//! ```toml
//! active = "dev"
//!
//! [profiles.default]
//!
//! [profiles.dev]
//! PREFECT_LOGGING_LEVEL = "DEBUG"
//! PREFECT_TASKS_DEFAULT_RETRIES = "3"
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use toml::{Table, Value};

use super::key::{Key, settable};
use super::sources::{Origin, line_of};
use super::value::Raw;
use super::{Entry, Problem, Settings, SettingsError, file};

/// The profile used when none is chosen.
pub const DEFAULT_PROFILE: &str = "default";

/// The profiles of one `profiles.toml`, changed in memory until [`Profiles::save`].
///
/// # Examples
///
/// ```
/// use prefect_settings::Profiles;
///
/// # let home = std::env::temp_dir().join(format!("prefect-doc-{}", std::process::id()));
/// let mut profiles = Profiles::load(&home)?;
/// profiles.create("dev")?;
/// profiles.set("dev", "PREFECT_LOGGING_LEVEL", "DEBUG")?;
/// profiles.use_profile("dev")?;
/// assert_eq!(profiles.active(), "dev");
/// assert!(profiles.set("dev", "tasks.default_retries", "lots").is_err());
/// # Ok::<(), prefect_settings::SettingsError>(())
/// ```
#[derive(Debug, Clone)]
pub struct Profiles {
    path: PathBuf,
    doc: Table,
    /// Line of each value read from the file, by `(profile, key)`.
    lines: BTreeMap<(String, String), usize>,
    /// Line of the `active` key, when read from the file.
    active_line: Option<usize>,
}

impl Profiles {
    /// Reads `home/profiles.toml`; a missing file gives just the `default` profile.
    ///
    /// # Errors
    ///
    /// [`SettingsError::Io`] if the file cannot be read, [`SettingsError::Syntax`]
    /// if it is not TOML or not laid out as above.
    pub fn load(home: &Path) -> Result<Profiles, SettingsError> {
        let path = home.join("profiles.toml");
        let text = file::read(&path)?.unwrap_or_default();
        let de = file::parse(&path, &text)?;
        let mut lines = BTreeMap::new();
        if let Some(profiles) = de.get_ref().get("profiles").and_then(|p| p.get_ref().as_table()) {
            for (name, table) in profiles.iter() {
                for (key, value) in table.get_ref().as_table().into_iter().flat_map(|t| t.iter()) {
                    let line = line_of(&text, value.span().start);
                    lines.insert((name.get_ref().to_string(), key.get_ref().to_string()), line);
                }
            }
        }
        let active_line = de.get_ref().get("active").map(|v| line_of(&text, v.span().start));
        let doc: Table = toml::from_str(&text).map_err(|e| layout(&path, e.message()))?;
        let mut profiles = Profiles { path, doc, lines, active_line };
        profiles.check_layout()?;
        profiles.table_mut().entry(DEFAULT_PROFILE).or_insert_with(|| Value::Table(Table::new()));
        Ok(profiles)
    }

    /// Just the `default` profile, for a `profiles.toml` in `home` that
    /// cannot be read.
    pub(crate) fn empty(home: &Path) -> Profiles {
        let (lines, active_line) = (BTreeMap::new(), None);
        let mut profiles =
            Profiles { path: home.join("profiles.toml"), doc: Table::new(), lines, active_line };
        profiles.table_mut().insert(DEFAULT_PROFILE.to_owned(), Value::Table(Table::new()));
        profiles
    }

    fn check_layout(&self) -> Result<(), SettingsError> {
        if self.doc.get("active").is_some_and(|a| !a.is_str()) {
            return Err(layout(&self.path, "`active` must be a string"));
        }
        match self.doc.get("profiles") {
            Some(Value::Table(t)) if t.values().all(Value::is_table) => Ok(()),
            None => Ok(()),
            Some(_) => Err(layout(&self.path, "`profiles` must hold one [profiles.NAME] table per profile")),
        }
    }

    /// The `profiles.toml` file these profiles are saved to.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The profiles' names, sorted.
    pub fn names(&self) -> Vec<&str> {
        self.table().map(|t| t.keys().map(String::as_str).collect()).unwrap_or_default()
    }

    /// The active profile: the file's `active` key, else `default`. (The
    /// `PREFECT_PROFILE` variable overrides it when settings are loaded.)
    pub fn active(&self) -> &str {
        self.doc.get("active").and_then(Value::as_str).unwrap_or(DEFAULT_PROFILE)
    }

    /// The settings of one profile as `(PREFECT_..., value)` pairs, or `None` if there is no such profile.
    pub fn values(&self, profile: &str) -> Option<Vec<(&str, String)>> {
        let table = self.table()?.get(profile)?.as_table()?;
        Some(
            table
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str().map_or_else(|| v.to_string(), str::to_owned)))
                .collect(),
        )
    }

    /// Adds an empty profile.
    ///
    /// # Errors
    ///
    /// [`SettingsError::ProfileExists`], or [`SettingsError::InvalidProfileName`]
    /// unless the name is made of letters, digits, `-` and `_`.
    pub fn create(&mut self, name: &str) -> Result<(), SettingsError> {
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
            return Err(SettingsError::InvalidProfileName { name: name.to_owned() });
        }
        if self.table().is_some_and(|t| t.contains_key(name)) {
            return Err(SettingsError::ProfileExists { name: name.to_owned() });
        }
        self.table_mut().insert(name.to_owned(), Value::Table(Table::new()));
        Ok(())
    }

    /// Makes `name` the active profile.
    ///
    /// # Errors
    ///
    /// [`SettingsError::UnknownProfile`] if there is no such profile.
    pub fn use_profile(&mut self, name: &str) -> Result<(), SettingsError> {
        self.profile(name)?;
        self.doc.insert("active".to_owned(), Value::String(name.to_owned()));
        self.active_line = None;
        Ok(())
    }

    /// Removes a profile that is not active.
    ///
    /// # Errors
    ///
    /// [`SettingsError::UnknownProfile`] or [`SettingsError::ProfileActive`].
    pub fn delete(&mut self, name: &str) -> Result<(), SettingsError> {
        self.profile(name)?;
        if self.active() == name {
            return Err(SettingsError::ProfileActive { name: name.to_owned() });
        }
        self.table_mut().remove(name);
        Ok(())
    }

    /// Sets one setting of a profile, after checking the value with the same
    /// rules as loading. `key` is `PREFECT_LOGGING_LEVEL` or `logging.level`;
    /// it is stored in the environment form.
    ///
    /// # Errors
    ///
    /// [`SettingsError::UnknownProfile`], [`SettingsError::UnknownKey`] (also for
    /// `PREFECT_HOME`, which cannot live in a profile), or [`SettingsError::Invalid`].
    pub fn set(&mut self, profile: &str, key: &str, value: &str) -> Result<(), SettingsError> {
        self.profile(profile)?;
        let key = settable(key)?;
        let raw = Raw::Str(value.to_owned());
        if key.apply(&mut Settings::defaults(PathBuf::new()), &raw, None).is_none() {
            let origin = Origin::Profile { name: profile.to_owned(), path: self.path.clone(), line: None };
            let (key, expected) = (key.dotted(), key.expected());
            return Err(SettingsError::Invalid { key, value: raw.to_string(), origin, expected });
        }
        self.lines.remove(&(profile.to_owned(), key.env_var().to_owned()));
        self.profile(profile)?.insert(key.env_var().to_owned(), Value::String(value.to_owned()));
        Ok(())
    }

    /// Removes one setting from a profile; `false` if it was not set.
    ///
    /// # Errors
    ///
    /// [`SettingsError::UnknownProfile`] or [`SettingsError::UnknownKey`].
    pub fn unset(&mut self, profile: &str, key: &str) -> Result<bool, SettingsError> {
        let table = self.profile(profile)?;
        let name = Key::from_name(key).map_or_else(|| key.to_owned(), |k| k.env_var().to_owned());
        if table.remove(&name).is_some() {
            return Ok(true);
        }
        settable(key).map(|_| false)
    }

    /// Writes the profiles back: to a temporary file next to `profiles.toml`,
    /// then renamed over it, so readers never see half a file.
    ///
    /// # Errors
    ///
    /// [`SettingsError::Io`] if the home directory or the file cannot be written.
    pub fn save(&self) -> Result<(), SettingsError> {
        let dir = self.path.parent().unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
        let text = toml::to_string(&self.doc).map_err(|e| layout(&self.path, &e.to_string()))?;
        let tmp = dir.join(format!(".profiles.toml.{}.tmp", std::process::id()));
        std::fs::write(&tmp, text).map_err(|e| io(&tmp, e))?;
        std::fs::rename(&tmp, &self.path).map_err(|e| io(&self.path, e))
    }

    /// The settings of `name` for [`Settings::load_from`], with a problem per
    /// key that is unknown or cannot be set in a profile.
    pub(crate) fn layer(&self, name: &str) -> Result<(Vec<Entry>, Vec<Problem>), SettingsError> {
        let (mut entries, mut problems) = (Vec::new(), Vec::new());
        let table = self.table().and_then(|t| t.get(name)).and_then(Value::as_table);
        let table = match table {
            Some(table) => table,
            None if name == DEFAULT_PROFILE => return Ok((entries, problems)),
            None => return Err(self.unknown(name)),
        };
        for (key, value) in table {
            let line = self.lines.get(&(name.to_owned(), key.clone())).copied();
            let origin = Origin::Profile { name: name.to_owned(), path: self.path.clone(), line };
            match settable(key).and_then(|k| Key::from_env_var(key).ok_or_else(|| not_env_form(key, k))) {
                Ok(key) => entries.push(Entry { key, raw: Raw::from_value(value), origin }),
                Err(e) => problems.push(Problem { origin, message: e.to_string() }),
            }
        }
        Ok((entries, problems))
    }

    /// Where [`Profiles::active`] comes from.
    pub(crate) fn active_origin(&self) -> Origin {
        match (self.doc.get("active"), self.active_line) {
            (None, _) => Origin::Default,
            (Some(_), Some(line)) => Origin::File { path: self.path.clone(), line },
            (Some(_), None) => {
                Origin::Profile { name: self.active().to_owned(), path: self.path.clone(), line: None }
            }
        }
    }

    fn table(&self) -> Option<&Table> {
        self.doc.get("profiles").and_then(Value::as_table)
    }

    fn table_mut(&mut self) -> &mut Table {
        let value = self.doc.entry("profiles").or_insert_with(|| Value::Table(Table::new()));
        value.as_table_mut().expect("checked by check_layout")
    }

    fn profile(&mut self, name: &str) -> Result<&mut Table, SettingsError> {
        let err = self.unknown(name);
        self.table_mut().get_mut(name).and_then(Value::as_table_mut).ok_or(err)
    }

    fn unknown(&self, name: &str) -> SettingsError {
        let known = self.names().join(", ");
        SettingsError::UnknownProfile { name: name.to_owned(), path: self.path.clone(), known }
    }
}

fn not_env_form(name: &str, key: Key) -> SettingsError {
    SettingsError::UnknownKey { name: name.to_owned(), reason: format!("write it as {}", key.env_var()) }
}

fn io(path: &Path, source: std::io::Error) -> SettingsError {
    SettingsError::Io { path: path.to_owned(), source }
}

fn layout(path: &Path, message: &str) -> SettingsError {
    SettingsError::Syntax { path: path.to_owned(), line: 1, message: message.trim().to_owned() }
}
