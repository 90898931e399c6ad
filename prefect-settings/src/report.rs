//! Telling the user what was wrong with the settings, and what is used
//! instead (what [`current`](super::current) prints on stderr).

use std::io::{self, Write};

use super::key::Key;
use super::{Origin, Settings, SettingsError};

/// The dotted prefix of the secrets in `config.toml`.
const SECRETS: &str = "context.secrets.";

impl Settings {
    /// Writes one line per [invalid](Settings::invalid) value or file, saying
    /// what is used instead, then one per [problem](Settings::problems).
    /// Writes nothing when all is well.
    ///
    /// [`current`](super::current) writes this to stderr once per process,
    /// whatever the log level.
    ///
    /// # Errors
    ///
    /// The errors of `out`.
    ///
    /// # Examples
    ///
    /// ```
    /// use prefect_settings::{Settings, Sources};
    ///
    /// let sources = Sources::new("/no/such/project")
    ///     .user_home("/home/ada")
    ///     .env("PREFECT_TASKS_DEFAULT_RETRIES", "lots")
    ///     .env("PREFECT_RECORDING_ENABLED", "false");
    /// let settings = Settings::load_lenient_from(sources);
    /// assert!(!settings.recording_enabled);
    /// let mut out = Vec::new();
    /// settings.report(&mut out)?;
    /// assert_eq!(
    ///     String::from_utf8(out).unwrap(),
    ///     "prefect: invalid value \"lots\" for tasks.default_retries (from env PREFECT_TASKS_DEFAULT_RETRIES): \
    ///      expected a whole number >= 0; using the default, 0\n",
    /// );
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn report(&self, out: &mut dyn Write) -> io::Result<()> {
        for error in self.invalid() {
            match self.instead(error) {
                Some(instead) => writeln!(out, "prefect: {error}; {instead}")?,
                None => writeln!(out, "prefect: {error}")?,
            }
        }
        for problem in self.problems() {
            writeln!(out, "prefect: {problem}")?;
        }
        Ok(())
    }

    /// What these settings use in place of what `error` made unusable.
    fn instead(&self, error: &SettingsError) -> Option<String> {
        let key = match error {
            SettingsError::Interpolation { key, .. } if key.starts_with(SECRETS) => {
                let set = self.secret(&key[SECRETS.len()..]).is_some();
                return Some(
                    if set { "using the environment's" } else { "the secret is not set" }.to_owned(),
                );
            }
            SettingsError::Invalid { key, .. } => Key::from_dotted(key),
            SettingsError::Interpolation { key, .. } => Key::from_dotted(key),
            SettingsError::InterpolationCycle { chain, .. } => {
                chain.first().and_then(|k| Key::from_dotted(k))
            }
            SettingsError::Syntax { .. } | SettingsError::Io { .. } => {
                return Some("ignoring that file".to_owned());
            }
            SettingsError::UnknownProfile { .. } => return Some(format!("using profile {:?}", self.profile)),
            SettingsError::NoHome => return Some(format!("using {}", self.home.display())),
            _ => None,
        };
        let key = key?;
        Some(match self.origins.get(&key) {
            None | Some(Origin::Default) => format!("using the default, {}", key.show(self)),
            Some(origin) => format!("using {} (from {origin})", key.show(self)),
        })
    }
}
