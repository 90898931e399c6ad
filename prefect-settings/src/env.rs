//! Settings from environment variables: `PREFECT_<SECTION>_<KEY>`, the
//! Prefect 1 form `PREFECT__<SECTION>__<KEY>`, Prefect 1's secrets
//! `PREFECT__CONTEXT__SECRETS__<NAME>`, and a warning for any other
//! `PREFECT_` variable.

use prefect_model::text::closest;

use super::key::Key;
use super::sources::{Origin, Sources};
use super::value::Raw;
use super::{Entry, Problem};

/// The variable naming the Prefect 1 user config file.
pub(crate) const USER_CONFIG_PATH: &str = "PREFECT__USER_CONFIG_PATH";

/// The variable naming the active profile.
pub(crate) const PROFILE: &str = "PREFECT_PROFILE";

/// The prefix of Prefect 1's secrets, any case; the rest is the name, as written.
const SECRETS: &str = "PREFECT__CONTEXT__SECRETS__";

/// The prefix of the variables the project's own tests set.
const TEST_PREFIX: &str = "PREFECT_TEST_";

/// `PREFECT_` names that are not settings of prefect-rs but are not typos
/// either, so they draw no warning: Prefect's own names for features not
/// built yet (the API, the server, the UI), which users commonly set for
/// Python Prefect on the same machine.
const KNOWN_UNUSED: &[&str] = &[
    "PREFECT_API_AUTH_STRING",
    "PREFECT_CLOUD_API_URL",
    "PREFECT_SERVER_API_KEY",
    "PREFECT_SERVER_API_HOST",
    "PREFECT_SERVER_API_PORT",
    "PREFECT_SERVER_API_AUTH_STRING",
    "PREFECT_UI_URL",
    "PREFECT__BACKEND",
    "PREFECT__CLOUD__API",
    "PREFECT__CLOUD__API_KEY",
    "PREFECT__CLOUD__AUTH_TOKEN",
    "PREFECT__SERVER__HOST",
    "PREFECT__SERVER__PORT",
];

/// `PREFECT_LOGGING_LEVEL=DEBUG` and the other known Prefect 3 style names.
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
/// of the dotted path, case-insensitively; Prefect 1's own names
/// (`PREFECT__TASKS__DEFAULTS__MAX_RETRIES`) count too, after the dotted
/// ones when both are set.
pub(crate) fn prefect1(sources: &Sources) -> Vec<Entry> {
    let mut found: Vec<(bool, Entry)> = sources
        .vars()
        .iter()
        .filter_map(|(name, value)| {
            let (key, alias) = prefect1_key(name)?;
            Some((alias, entry(key, name, value)))
        })
        .collect();
    found.sort_by_key(|(alias, _)| *alias);
    found.into_iter().map(|(_, entry)| entry).collect()
}

fn prefect1_key(var: &str) -> Option<(Key, bool)> {
    let path = var.strip_prefix("PREFECT__")?.to_ascii_lowercase().replace("__", ".");
    Key::from_prefect1_path(&path)
}

/// The `(name, value)` of each `PREFECT__CONTEXT__SECRETS__<NAME>`.
pub(crate) fn secrets(sources: &Sources) -> impl Iterator<Item = (&str, &str)> {
    sources.vars().iter().filter_map(|(var, value)| Some((secret_name(var)?, value.as_str())))
}

fn secret_name(var: &str) -> Option<&str> {
    let name = var.get(SECRETS.len()..).filter(|name| !name.is_empty())?;
    var[..SECRETS.len()].eq_ignore_ascii_case(SECRETS).then_some(name)
}

/// A problem for each `PREFECT_` variable that is none of the above, with
/// the closest known name.
pub(crate) fn unknown(sources: &Sources) -> Vec<Problem> {
    let names = known_names();
    sources
        .vars()
        .keys()
        .filter(|var| var.starts_with("PREFECT_") && !is_known(var))
        .map(|var| {
            let hint = closest(var, names.iter().map(String::as_str), 3)
                .map(|name| format!("; did you mean {name}?"))
                .unwrap_or_default();
            Problem {
                origin: Origin::Env { var: var.clone() },
                message: format!("unknown setting {var}{hint}"),
            }
        })
        .collect()
}

fn is_known(var: &str) -> bool {
    Key::from_env_var(var).is_some()
        || prefect1_key(var).is_some()
        || [PROFILE, USER_CONFIG_PATH].contains(&var)
        || secret_name(var).is_some()
        || var.starts_with(TEST_PREFIX)
        || KNOWN_UNUSED.iter().any(|known| known.eq_ignore_ascii_case(var))
}

/// Every name a hint may suggest.
fn known_names() -> Vec<String> {
    let prefect1 = |dotted: &str| format!("PREFECT__{}", dotted.to_ascii_uppercase().replace('.', "__"));
    let keys = Key::ALL.into_iter().flat_map(|key| {
        [Some(key.env_var().to_owned()), Some(prefect1(key.dotted())), key.prefect1_alias().map(prefect1)]
    });
    let others = [PROFILE, USER_CONFIG_PATH].iter().chain(KNOWN_UNUSED).map(|name| Some((*name).to_owned()));
    keys.chain(others).flatten().collect()
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
            .env("PREFECT__CONTEXT__SECRETS__X", "not a setting")
            .env("PREFECT_UI_URL", "not a setting");
        let three = prefect3(&sources);
        assert_eq!(three.len(), 1);
        assert_eq!(three[0].key, Key::LoggingLevel);
        let one = prefect1(&sources);
        assert_eq!(one.len(), 1);
        assert_eq!(one[0].key, Key::TasksDefaultRetries);
        assert_eq!(one[0].origin, Origin::Env { var: "PREFECT__TASKS__DEFAULT_RETRIES".into() });
        assert!(unknown(&sources).is_empty());
    }

    #[test]
    fn dotted_names_win_over_prefect1_aliases() {
        let sources = Sources::new(".")
            .env("PREFECT__TASKS__DEFAULTS__MAX_RETRIES", "1")
            .env("PREFECT__TASKS__DEFAULT_RETRIES", "2");
        let vars: Vec<_> = prefect1(&sources).into_iter().map(|e| e.origin.to_string()).collect();
        assert_eq!(
            vars,
            ["env PREFECT__TASKS__DEFAULT_RETRIES", "env PREFECT__TASKS__DEFAULTS__MAX_RETRIES"]
        );
    }

    #[test]
    fn secret_names_keep_their_case() {
        assert_eq!(secret_name("PREFECT__CONTEXT__SECRETS__Slack_URL"), Some("Slack_URL"));
        assert_eq!(secret_name("prefect__context__secrets__X"), Some("X"));
        assert_eq!(secret_name("PREFECT__CONTEXT__SECRETS__"), None);
        assert_eq!(secret_name("PREFECT__CONTEXT__SECRET"), None);
    }
}
