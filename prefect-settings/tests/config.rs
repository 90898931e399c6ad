//! The user's own keys of config.toml: typed, interpolated, and errors that
//! name the key and the file.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use prefect_settings::config::{self, ConfigError, UserConfig};
use prefect_settings::{Settings, Sources};
use serde::Deserialize;
use tempfile::TempDir;

const CONFIG: &str = r#"
environment = "${DEPLOY_ENV}"
user = "${environments.${environment}.user}"
retries = 3

[environments.dev]
user = "ada"
[environments.prod]
user = "grace"

[db]
host = "db.${environment}.internal"
port = "${db.default_port}"
default_port = 5432
tags = ["${environment}", "primary"]
"#;

/// A temporary user home whose `~/.prefect/config.toml` holds `text`.
fn home_with(text: &str) -> (TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join(".prefect");
    std::fs::create_dir_all(&home).unwrap();
    let path = home.join("config.toml");
    std::fs::write(&path, text).unwrap();
    (dir, path)
}

fn sources(dir: &Path) -> Sources {
    Sources::new(dir.join("project")).user_home(dir).env("DEPLOY_ENV", "prod")
}

#[derive(Debug, PartialEq, Deserialize)]
struct Db {
    host: String,
    port: u16,
    tags: Vec<String>,
}

#[test]
fn user_keys_are_interpolated_and_typed() {
    let (dir, _) = home_with(CONFIG);
    let config = UserConfig::load_from(&sources(dir.path()));
    assert_eq!(config::get_from::<String>(&config, "user").unwrap(), "grace");
    assert_eq!(config::get_from::<String>(&config, "environments.dev.user").unwrap(), "ada");
    assert_eq!(config::get_from::<u32>(&config, "retries").unwrap(), 3);
    let db: Db = config.get("db").unwrap();
    let tags = vec!["prod".to_owned(), "primary".to_owned()];
    assert_eq!(db, Db { host: "db.prod.internal".into(), port: 5432, tags });
    let users: BTreeMap<String, BTreeMap<String, String>> = config.get("environments").unwrap();
    assert_eq!(users["dev"]["user"], "ada");
}

#[test]
fn errors_name_the_key_and_the_file() {
    let (dir, path) = home_with(CONFIG);
    let config = UserConfig::load_from(&sources(dir.path()));
    let p = path.display();
    let err = config.get::<String>("password").unwrap_err();
    assert_eq!(err.to_string(), format!("no key `password` in {p}"));
    assert!(matches!(err, ConfigError::Missing { ref key, .. } if key == "password"));
    let err = config.get::<String>("retries").unwrap_err();
    assert_eq!(err.to_string(), format!("key `retries` in {p}: expected a string, found an integer"));
    let err = config.get::<Db>("environments.dev").unwrap_err();
    assert_eq!(err.to_string(), format!("key `environments.dev` in {p}: missing field `host`"));

    let unset = UserConfig::load_from(&Sources::new(dir.path().join("project")).user_home(dir.path()));
    let err = unset.get::<String>("user").unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "cannot interpolate key `user` in {p}: \
             \"${{DEPLOY_ENV}}\" is neither a config key nor an environment variable"
        )
    );
    assert_eq!(unset.get::<u32>("retries").unwrap(), 3, "other keys still read");
}

#[test]
fn missing_and_broken_files() {
    let dir = tempfile::tempdir().unwrap();
    let config = UserConfig::load_from(&sources(dir.path()));
    let path = dir.path().join(".prefect").join("config.toml");
    assert_eq!(config.path(), path);
    let err = config.get::<String>("user").unwrap_err();
    assert_eq!(err.to_string(), format!("no key `user`: {} does not exist", path.display()));

    let (dir, path) = home_with("user = \"ada\"\n[db\n");
    let err = UserConfig::load_from(&sources(dir.path())).get::<String>("user").unwrap_err();
    assert!(matches!(err, ConfigError::Unreadable { .. }), "{err}");
    let want = format!("cannot read key `user`: cannot parse {} line 2: ", path.display());
    assert!(err.to_string().starts_with(&want), "{err}");

    let defaults = Settings::defaults(dir.path());
    assert!(matches!(defaults.user_config().get::<String>("user"), Err(ConfigError::NotRead { .. })));
}

#[test]
fn the_file_is_the_one_the_settings_read() {
    let dir = tempfile::tempdir().unwrap();
    let elsewhere = dir.path().join("legacy.toml");
    std::fs::write(&elsewhere, "user = \"from PREFECT__USER_CONFIG_PATH\"\n").unwrap();
    let named = sources(dir.path()).env("PREFECT__USER_CONFIG_PATH", elsewhere.to_str().unwrap());
    let config = UserConfig::load_from(&named);
    assert_eq!(
        (config.path(), config.get::<String>("user").unwrap().as_str()),
        (elsewhere.as_path(), "from PREFECT__USER_CONFIG_PATH")
    );

    let project = dir.path().join("project");
    std::fs::create_dir_all(dir.path().join("custom-home")).unwrap();
    std::fs::create_dir_all(&project).unwrap();
    std::fs::write(project.join("prefect.toml"), "home = \"~/custom-home\"\n").unwrap();
    std::fs::write(dir.path().join("custom-home/config.toml"), "user = \"in the custom home\"\n").unwrap();
    let from_project = sources(dir.path());
    let settings = Settings::load_from(from_project.clone()).unwrap();
    let in_settings = settings.user_config().get::<String>("user").unwrap();
    assert_eq!(in_settings, "in the custom home");
    assert_eq!(UserConfig::load_from(&from_project).get::<String>("user").unwrap(), in_settings);
    assert!(!format!("{settings:?}").contains("in the custom home"), "Debug shows no config text");
}
