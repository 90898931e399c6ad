//! Settings from environment variables: `PREFECT_<SECTION>_<KEY>` and the
//! Prefect 1 form `PREFECT__<SECTION>__<KEY>`.

use super::Entry;
use super::key::Key;
use super::sources::{Origin, Sources};
use super::value::Raw;

/// The variable naming the Prefect 1 user config file.
pub(crate) const USER_CONFIG_PATH: &str = "PREFECT__USER_CONFIG_PATH";

/// The variable naming the active profile.
pub(crate) const PROFILE: &str = "PREFECT_PROFILE";

/// `PREFECT_LOGGING_LEVEL=DEBUG` and the other known Prefect 3 style names.
/// Unknown `PREFECT_*` variables are ignored: they may be meant for Python
/// Prefect running on the same machine.
pub(crate) fn prefect3(sources: &Sources) -> Vec<Entry> {
    Key::ALL
        .into_iter()
        .filter_map(|key| {
            let value = sources.var(key.env_var())?;
            Some(entry(key, key.env_var(), value))
        })
        .collect()
}

/// `PREFECT__LOGGING__LEVEL=DEBUG`: a double underscore separates the parts
/// of the dotted path, case-insensitively. Unknown paths are ignored, as
/// Prefect 1 allowed arbitrary user keys.
pub(crate) fn prefect1(sources: &Sources) -> Vec<Entry> {
    sources
        .vars()
        .iter()
        .filter_map(|(name, value)| {
            let path = name.strip_prefix("PREFECT__")?.to_ascii_lowercase().replace("__", ".");
            Some(entry(Key::from_dotted(&path)?, name, value))
        })
        .collect()
}

fn entry(key: Key, var: &str, value: &str) -> Entry {
    Entry { key, raw: Raw::Str(value.to_owned()), origin: Origin::Env { var: var.to_owned() } }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_forms() {
        let sources = Sources::new(".")
            .env("PREFECT_LOGGING_LEVEL", "DEBUG")
            .env("PREFECT__TASKS__DEFAULT_RETRIES", "2")
            .env("PREFECT__CONTEXT__SECRETS__X", "ignored")
            .env("PREFECT_API_URL", "ignored");
        let three = prefect3(&sources);
        assert_eq!(three.len(), 1);
        assert_eq!(three[0].key, Key::LoggingLevel);
        let one = prefect1(&sources);
        assert_eq!(one.len(), 1);
        assert_eq!(one[0].key, Key::TasksDefaultRetries);
        assert_eq!(one[0].origin, Origin::Env { var: "PREFECT__TASKS__DEFAULT_RETRIES".into() });
    }
}
