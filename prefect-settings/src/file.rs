//! Settings from TOML files: `prefect.toml` and the Prefect 1 `config.toml`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use toml::Spanned;
use toml::de::{DeTable, DeValue};

use super::interpolate::{Failure, Interpolator};
use super::key::{Key, suggest};
use super::sources::{Origin, line_of};
use super::value::Raw;
use super::{Entry, Problem, SettingsError};

/// The text of `path`, or `None` if it does not exist.
pub(crate) fn read(path: &Path) -> Result<Option<String>, SettingsError> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(Some(text)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(SettingsError::Io { path: path.to_owned(), source }),
    }
}

/// Parses a TOML document, turning a syntax error into one with a line.
pub(crate) fn parse<'i>(path: &Path, text: &'i str) -> Result<Spanned<DeTable<'i>>, SettingsError> {
    DeTable::parse(text).map_err(|e| SettingsError::Syntax {
        path: path.to_owned(),
        line: e.span().map_or(1, |span| line_of(text, span.start)),
        message: e.message().trim().to_owned(),
    })
}

/// The known settings of a nested `prefect.toml` (`[logging] level = "DEBUG"`,
/// `home = "..."` at the top), and one problem per unknown key.
pub(crate) fn prefect_toml(path: &Path, text: &str) -> Result<(Vec<Entry>, Vec<Problem>), SettingsError> {
    let doc = parse(path, text)?;
    let mut walk = Walk { path, text, entries: Vec::new(), problems: Vec::new() };
    walk.table(doc.get_ref(), "");
    Ok((walk.entries, walk.problems))
}

struct Walk<'a> {
    path: &'a Path,
    text: &'a str,
    entries: Vec<Entry>,
    problems: Vec<Problem>,
}

impl Walk<'_> {
    fn table(&mut self, table: &DeTable<'_>, prefix: &str) {
        for (name, value) in table.iter() {
            let dotted = format!("{prefix}{}", name.get_ref());
            let origin = self.origin(value.span().start);
            if let Some(key) = Key::from_dotted(&dotted) {
                self.entries.push(Entry { key, raw: Raw::from_de(value.get_ref()), origin });
            } else if let (DeValue::Table(inner), true) = (value.get_ref(), is_section(&dotted)) {
                self.table(inner, &format!("{dotted}."));
            } else {
                let hint =
                    suggest(&dotted, false).map(|s| format!("; did you mean {s}?")).unwrap_or_default();
                let message = format!("unknown setting {dotted}{hint}");
                self.problems.push(Problem { origin: self.origin(name.span().start), message });
            }
        }
    }

    fn origin(&self, offset: usize) -> Origin {
        Origin::File { path: self.path.to_owned(), line: line_of(self.text, offset) }
    }
}

/// Whether some setting lives under `section.`.
fn is_section(section: &str) -> bool {
    Key::ALL.into_iter().any(|k| k.dotted().strip_prefix(section).is_some_and(|rest| rest.starts_with('.')))
}

/// What a Prefect 1 `config.toml` holds for the settings.
#[derive(Debug, Default)]
pub(crate) struct Legacy {
    /// The known settings, under their dotted names or Prefect 1's.
    pub(crate) entries: Vec<Entry>,
    /// `[context.secrets]`, as `(name, value)`.
    pub(crate) secrets: Vec<(String, String)>,
    /// One per value that cannot be interpolated.
    pub(crate) errors: Vec<SettingsError>,
    /// Secrets that are not text.
    pub(crate) problems: Vec<Problem>,
}

/// The known settings and the secrets of a Prefect 1 `config.toml`,
/// interpolated. Other keys are the user's own (Prefect 1 allowed any) and
/// are not reported.
///
/// # Errors
///
/// [`SettingsError::Syntax`] when the file is not TOML: none of it is read.
pub(crate) fn config_toml(
    path: &Path,
    text: &str,
    env: &BTreeMap<String, String>,
) -> Result<Legacy, SettingsError> {
    let doc = parse(path, text)?;
    let config = Interpolator::new(doc.get_ref(), env);
    let origin = |offset| Origin::File { path: path.to_owned(), line: line_of(text, offset) };
    let mut legacy = Legacy::default();
    for key in Key::ALL {
        let names = [Some(key.dotted()), key.prefect1_alias()];
        let Some((name, value)) = names.into_iter().flatten().find_map(|n| Some((n, config.lookup(n)?)))
        else {
            continue;
        };
        let origin = origin(value.span().start);
        match config.interpolate(name, value.get_ref()) {
            Ok(raw) => legacy.entries.push(Entry { key, raw, origin }),
            Err(failure) => legacy.errors.push(failed(path, name, origin, failure)),
        }
    }
    let Some(secrets) = config.lookup("context.secrets") else { return Ok(legacy) };
    let Some(table) = secrets.get_ref().as_table() else {
        let message = "context.secrets must be a table of NAME = \"value\"".to_owned();
        legacy.problems.push(Problem { origin: origin(secrets.span().start), message });
        return Ok(legacy);
    };
    for (name, value) in table.iter() {
        let (key, origin) = (format!("context.secrets.{}", name.get_ref()), origin(value.span().start));
        match config.interpolate(&key, value.get_ref()) {
            Ok(Raw::Other(kind)) => {
                let message = format!("secret {} is {kind}, not text, and is not read", name.get_ref());
                legacy.problems.push(Problem { origin, message });
            }
            Ok(raw) => legacy.secrets.push((name.get_ref().to_string(), raw.as_text().unwrap_or_default())),
            Err(failure) => legacy.errors.push(failed(path, &key, origin, failure)),
        }
    }
    Ok(legacy)
}

fn failed(path: &Path, key: &str, origin: Origin, failure: Failure) -> SettingsError {
    match failure {
        Failure::Cycle(chain) => SettingsError::InterpolationCycle { path: PathBuf::from(path), chain },
        Failure::Message(message) => SettingsError::Interpolation { key: key.to_owned(), origin, message },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_keys_lines_and_unknowns() {
        let text = "home = \"/h\"\n[logging]\nlevel = \"DEBUG\"\nlevle = 1\n[tasks]\ndefault_retries = 3\n[other]\nx = 1\n";
        let (entries, problems) = prefect_toml(Path::new("/p/prefect.toml"), text).unwrap();
        let keys: Vec<_> = entries.iter().map(|e| (e.key, e.origin.to_string())).collect();
        assert_eq!(
            keys,
            [
                (Key::Home, "/p/prefect.toml line 1".to_owned()),
                (Key::LoggingLevel, "/p/prefect.toml line 3".to_owned()),
                (Key::TasksDefaultRetries, "/p/prefect.toml line 6".to_owned()),
            ]
        );
        let problems: Vec<_> = problems.iter().map(ToString::to_string).collect();
        assert_eq!(
            problems,
            [
                "unknown setting logging.levle; did you mean logging.level? (/p/prefect.toml line 4)",
                "unknown setting other (/p/prefect.toml line 7)",
            ]
        );
    }

    #[test]
    fn syntax_errors_have_lines() {
        let err = prefect_toml(Path::new("p.toml"), "a = 1\nb = = 2\n").unwrap_err();
        assert!(matches!(err, SettingsError::Syntax { line: 2, .. }), "{err}");
    }
}
