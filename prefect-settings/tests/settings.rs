//! Settings: precedence, parsing errors, Prefect 1 compatibility, profiles.

use std::path::{Path, PathBuf};
use std::time::Duration;

use prefect_settings::{LogLevel, Origin, Profiles, Settings, SettingsError, Sources};
use tempfile::TempDir;

/// A project directory and a user home, both temporary.
struct World {
    _dir: TempDir,
    project: PathBuf,
    user: PathBuf,
}

impl World {
    fn new() -> World {
        let dir = tempfile::tempdir().unwrap();
        let (project, user) = (dir.path().join("project"), dir.path().join("user"));
        std::fs::create_dir_all(&project).unwrap();
        std::fs::create_dir_all(user.join(".prefect")).unwrap();
        World { _dir: dir, project, user }
    }

    fn home(&self) -> PathBuf {
        self.user.join(".prefect")
    }

    fn write(&self, path: &Path, text: &str) -> PathBuf {
        std::fs::write(path, text).unwrap();
        path.to_owned()
    }

    fn prefect_toml(&self, text: &str) -> PathBuf {
        self.write(&self.project.join("prefect.toml"), text)
    }

    fn profiles(&self, text: &str) -> PathBuf {
        self.write(&self.home().join("profiles.toml"), text)
    }

    fn config_toml(&self, text: &str) -> PathBuf {
        self.write(&self.home().join("config.toml"), text)
    }

    fn sources(&self) -> Sources {
        Sources::new(&self.project).user_home(&self.user)
    }

    fn load(&self, env: &[(&str, &str)]) -> Result<Settings, SettingsError> {
        Settings::load_from(self.sources().envs(env.iter().copied()))
    }
}

#[test]
fn defaults_follow_the_home() {
    let world = World::new();
    let s = world.load(&[]).unwrap();
    assert_eq!(s.home, world.home());
    assert_eq!(s.logging_level, LogLevel::Info);
    assert_eq!((s.tasks_default_retries, s.flows_default_retries), (0, 0));
    assert_eq!(s.tasks_default_retry_delay, Duration::ZERO);
    assert!(!s.results_persist_by_default && s.recording_enabled);
    assert_eq!(s.results_storage_path, world.home().join("storage"));
    assert_eq!(s.database_path, world.home().join("prefect.db"));
    assert_eq!((s.db_retention, s.profile.as_str()), (None, "default"));
    assert!(s.flows_run_on_schedule && !s.logging_log_prints);
    assert!(s.problems().is_empty() && s.secrets().is_empty());

    let s = world.load(&[("PREFECT_HOME", "/srv/prefect")]).unwrap();
    assert_eq!(s.results_storage_path, Path::new("/srv/prefect/storage"));
    assert_eq!(s.database_path, Path::new("/srv/prefect/prefect.db"));
    assert!(matches!(Settings::load_from(Sources::new(&world.project)), Err(SettingsError::NoHome)));
}

#[test]
fn precedence_env_then_prefect1_env_then_prefect_toml_then_profile_then_config_toml() {
    let world = World::new();
    let project = world.prefect_toml(
        "[logging]\nlevel = \"WARNING\"\n[tasks]\ndefault_retries = 2\n[flows]\ndefault_retries = 4\n",
    );
    let profiles = world.profiles(
        "active = \"dev\"\n[profiles.dev]\nPREFECT_LOGGING_LEVEL = \"ERROR\"\nPREFECT_FLOWS_DEFAULT_RETRIES = \"6\"\n\
         PREFECT_RESULTS_PERSIST_BY_DEFAULT = \"true\"\n",
    );
    let config = world.config_toml("[results]\npersist_by_default = false\n[recording]\nenabled = false\n");
    let env = [
        ("PREFECT_LOGGING_LEVEL", "DEBUG"),
        ("PREFECT__LOGGING__LEVEL", "TRACE"),
        ("PREFECT__TASKS__DEFAULT_RETRIES", "7"),
    ];
    let s = world.load(&env).unwrap();

    assert_eq!(s.logging_level, LogLevel::Debug);
    assert_eq!(s.tasks_default_retries, 7);
    assert_eq!(s.flows_default_retries, 4);
    assert!(s.results_persist_by_default);
    assert!(!s.recording_enabled);
    assert_eq!(s.profile, "dev");

    let origin = |name| s.origin(name).unwrap().clone();
    assert_eq!(origin("logging.level"), Origin::Env { var: "PREFECT_LOGGING_LEVEL".into() });
    assert_eq!(
        origin("tasks.default_retries"),
        Origin::Env { var: "PREFECT__TASKS__DEFAULT_RETRIES".into() }
    );
    assert_eq!(origin("PREFECT_FLOWS_DEFAULT_RETRIES"), Origin::File { path: project, line: 6 });
    let in_profile = Origin::Profile { name: "dev".into(), path: profiles.clone(), line: Some(5) };
    assert_eq!(origin("results.persist_by_default"), in_profile);
    assert_eq!(origin("recording.enabled"), Origin::File { path: config, line: 4 });
    assert_eq!(origin("db.retention"), Origin::Default);
    assert_eq!(origin("PREFECT_PROFILE"), Origin::File { path: profiles, line: 1 });
}

#[test]
fn profile_chosen_by_env_and_unknown_profiles_fail() {
    let world = World::new();
    world.profiles("active = \"dev\"\n[profiles.dev]\n[profiles.ci]\nPREFECT_TASKS_DEFAULT_RETRIES = 9\n");
    let s = world.load(&[("PREFECT_PROFILE", "ci")]).unwrap();
    assert_eq!((s.profile.as_str(), s.tasks_default_retries), ("ci", 9));
    let err = world.load(&[("PREFECT_PROFILE", "nope")]).unwrap_err();
    assert!(err.to_string().starts_with("profile \"nope\" not found in "), "{err}");
    assert!(err.to_string().ends_with("(known: ci, default, dev)"), "{err}");
}

fn env_error(var: &str, value: &str) -> String {
    World::new().load(&[(var, value)]).unwrap_err().to_string()
}

#[test]
fn invalid_env_values_name_key_source_and_expectation() {
    assert_eq!(
        env_error("PREFECT_TASKS_DEFAULT_RETRIES", "lots"),
        "invalid value \"lots\" for tasks.default_retries (from env PREFECT_TASKS_DEFAULT_RETRIES): \
         expected a whole number >= 0"
    );
    assert_eq!(
        env_error("PREFECT__FLOWS__DEFAULT_RETRIES", "-1"),
        "invalid value \"-1\" for flows.default_retries (from env PREFECT__FLOWS__DEFAULT_RETRIES): \
         expected a whole number >= 0"
    );
    assert!(
        env_error("PREFECT_LOGGING_LEVEL", "LOUD").contains("expected one of TRACE, DEBUG, INFO, WARNING")
    );
    assert!(env_error("PREFECT_RECORDING_ENABLED", "maybe").ends_with("expected true or false"));
    assert!(env_error("PREFECT_TASKS_DEFAULT_RETRY_DELAY", "soon").contains("expected a duration such as"));
    assert!(env_error("PREFECT_DB_RETENTION", "forever").contains("for db.retention"));
    assert!(env_error("PREFECT_API_DATABASE_URL", "mysql://h/db").contains("or a postgresql:// URL"));
    assert!(env_error("PREFECT_HOME", "").contains("expected a non-empty path"));
}

#[test]
fn invalid_file_values_name_the_line() {
    let world = World::new();
    let path = world.prefect_toml("# project settings\n[tasks]\ndefault_retries = -1\n");
    let err = world.load(&[]).unwrap_err().to_string();
    let want = format!(
        "invalid value -1 for tasks.default_retries (from {} line 3): expected a whole number >= 0",
        path.display()
    );
    assert_eq!(err, want);

    world.prefect_toml("[results]\npersist_by_default = \"sometimes\"\n");
    let err = world.load(&[]).unwrap_err().to_string();
    assert!(err.contains("\"sometimes\" for results.persist_by_default") && err.contains("line 2"), "{err}");

    world.prefect_toml("[logging]\nlevel = [1]\n");
    assert!(
        world.load(&[]).unwrap_err().to_string().starts_with("invalid value <an array> for logging.level")
    );

    world.prefect_toml("[tasks\n");
    assert!(matches!(world.load(&[]), Err(SettingsError::Syntax { line: 1, .. })));
}

#[test]
fn one_invalid_value_costs_only_its_own_setting() {
    let world = World::new();
    let project = world.prefect_toml("[flows]\ndefault_retries = 3\n[db]\nretention = \"forever\"\n");
    world.profiles("[profiles.default]\nPREFECT_LOGGING_LEVEL = \"ERROR\"\n");
    let env = [
        ("PREFECT_TASKS_DEFAULT_RETRIES", "lots"),
        ("PREFECT_RECORDING_ENABLED", "false"),
        ("PREFECT_API_DATABASE_URL", "sqlite:///data/runs.db"),
    ];
    let s = Settings::load_lenient_from(world.sources().envs(env));

    assert_eq!(s.tasks_default_retries, 0, "the invalid setting keeps its default");
    assert_eq!(s.origin("tasks.default_retries"), Some(&Origin::Default));
    assert!(!s.recording_enabled);
    assert_eq!(s.database_path, Path::new("/data/runs.db"));
    assert_eq!(s.flows_default_retries, 3);
    assert_eq!(s.db_retention, None);
    assert_eq!(s.logging_level, LogLevel::Error);
    let invalid: Vec<String> = s.invalid().iter().map(ToString::to_string).collect();
    assert_eq!(
        invalid,
        [
            "invalid value \"lots\" for tasks.default_retries (from env PREFECT_TASKS_DEFAULT_RETRIES): \
             expected a whole number >= 0"
                .to_owned(),
            format!(
                "invalid value \"forever\" for db.retention (from {} line 4): \
                 expected a duration such as \"30d\", or \"none\"",
                project.display()
            ),
        ]
    );

    let strict = Settings::load_from(world.sources().envs(env)).unwrap_err();
    assert!(matches!(strict, SettingsError::Invalid { key: "tasks.default_retries", .. }), "{strict}");
    assert!(Settings::load_from(world.sources()).is_err(), "strict loading still fails on the file");
}

#[test]
fn a_file_that_does_not_parse_costs_only_its_own_settings() {
    let world = World::new();
    let project = world.prefect_toml("[tasks]\ndefault_retries = 2\n[flows\n");
    let config = world.config_toml("[recording]\nenabled = false\n");
    let s = Settings::load_lenient_from(world.sources().env("PREFECT_LOGGING_LEVEL", "DEBUG"));
    assert_eq!(s.tasks_default_retries, 0, "nothing of the broken file is read");
    assert_eq!(s.logging_level, LogLevel::Debug);
    assert!(!s.recording_enabled);
    assert_eq!(s.origin("recording.enabled"), Some(&Origin::File { path: config.clone(), line: 2 }));
    assert!(matches!(&s.invalid(), [SettingsError::Syntax { path, line: 3, .. }] if *path == project));

    world.prefect_toml("[tasks]\ndefault_retries = 2\n");
    world.config_toml("[recording\nenabled = false\n");
    world.profiles("[profiles.default\n");
    let s = Settings::load_lenient_from(world.sources());
    assert_eq!((s.tasks_default_retries, s.recording_enabled), (2, true));
    let broken: Vec<_> = s
        .invalid()
        .iter()
        .map(|e| match e {
            SettingsError::Syntax { path, line, .. } => (path.file_name().unwrap().to_owned(), *line),
            other => panic!("not a syntax error: {other}"),
        })
        .collect();
    assert_eq!(broken, [("profiles.toml".into(), 1), ("config.toml".into(), 1)]);
}

#[test]
fn an_unknown_profile_falls_back_to_the_active_one() {
    let world = World::new();
    world.profiles("active = \"dev\"\n[profiles.dev]\nPREFECT_TASKS_DEFAULT_RETRIES = 4\n");
    let s = Settings::load_lenient_from(world.sources().env("PREFECT_PROFILE", "nope"));
    assert_eq!((s.profile.as_str(), s.tasks_default_retries), ("dev", 4));
    assert!(matches!(&s.invalid(), [SettingsError::UnknownProfile { name, .. }] if name == "nope"));

    let no_home = Settings::load_lenient_from(Sources::new(&world.project));
    assert_eq!(no_home.home, Path::new(".prefect"));
    assert!(matches!(no_home.invalid(), [SettingsError::NoHome]));
}

#[test]
fn the_report_names_each_bad_value_and_what_is_used_instead() {
    let world = World::new();
    let project = world.prefect_toml("[tasks]\ndefault_retries = 2\n[flows\n");
    let env = [("PREFECT_TASKS_DEFAULT_RETRIES", "lots"), ("PREFECT_DB_RETENTION", "forever")];
    let profiles = world.profiles("[profiles.default]\nPREFECT_LOGING_LEVEL = \"DEBUG\"\n");
    let s = Settings::load_lenient_from(world.sources().envs(env));
    let mut out = Vec::new();
    s.report(&mut out).unwrap();
    let (p, profiles) = (project.display(), profiles.display());
    assert_eq!(
        String::from_utf8(out).unwrap(),
        format!(
            "prefect: cannot parse {p} line 3: unclosed table, expected `]`; ignoring that file\n\
             prefect: invalid value \"lots\" for tasks.default_retries (from env PREFECT_TASKS_DEFAULT_RETRIES): \
             expected a whole number >= 0; using the default, 0\n\
             prefect: invalid value \"forever\" for db.retention (from env PREFECT_DB_RETENTION): \
             expected a duration such as \"30d\", or \"none\"; using the default, none\n\
             prefect: cannot set \"PREFECT_LOGING_LEVEL\": unknown setting; did you mean PREFECT_LOGGING_LEVEL? \
             (profile default in {profiles} line 2)\n"
        )
    );

    let mut out = Vec::new();
    World::new().load(&[]).unwrap().report(&mut out).unwrap();
    assert!(out.is_empty(), "{}", String::from_utf8_lossy(&out));
}

#[test]
fn typed_values_parse() {
    let world = World::new();
    let env = [
        ("PREFECT_TASKS_DEFAULT_RETRY_DELAY", "1m 30s"),
        ("PREFECT_DB_RETENTION", "30d"),
        ("PREFECT_RESULTS_PERSIST_BY_DEFAULT", "yes"),
        ("PREFECT_LOGGING_LEVEL", "critical"),
        ("PREFECT_RESULTS_STORAGE_PATH", "~/results"),
    ];
    let s = world.load(&env).unwrap();
    assert_eq!(s.tasks_default_retry_delay, Duration::from_secs(90));
    assert_eq!(s.db_retention, Some(Duration::from_secs(30 * 86_400)));
    assert!(s.results_persist_by_default);
    assert_eq!(s.logging_level, LogLevel::Critical);
    assert_eq!(s.results_storage_path, world.user.join("results"));

    world.prefect_toml("[tasks]\ndefault_retry_delay = 5\n[db]\nretention = \"none\"\n");
    let s = world.load(&[]).unwrap();
    assert_eq!((s.tasks_default_retry_delay, s.db_retention), (Duration::from_secs(5), None));
}

#[test]
fn database_path_from_urls_and_paths() {
    let world = World::new();
    let server = world.load(&[("PREFECT_API_DATABASE_URL", "postgresql://ada@db:5432/runs")]).unwrap();
    assert_eq!(server.database_url.as_deref(), Some("postgresql://ada@db:5432/runs"));
    let path = |url: &str| world.load(&[("PREFECT_API_DATABASE_URL", url)]).unwrap().database_path;
    assert_eq!(path("sqlite:///var/lib/prefect.db"), Path::new("/var/lib/prefect.db"));
    assert_eq!(path("sqlite+aiosqlite:////var/lib/prefect.db"), Path::new("/var/lib/prefect.db"));
    assert_eq!(path("/plain/path.db"), Path::new("/plain/path.db"));
    assert_eq!(path("relative.db"), Path::new("relative.db"));
    world.prefect_toml("[api]\ndatabase_url = \"sqlite:///data/p.db\"\n");
    assert_eq!(world.load(&[]).unwrap().database_path, Path::new("/data/p.db"));
}

#[test]
fn unknown_keys_are_problems_not_errors() {
    let world = World::new();
    let path = world.prefect_toml("[logging]\nlevle = \"DEBUG\"\n[server]\nport = 1\n");
    world.profiles("[profiles.default]\nPREFECT_LOGING_LEVEL = \"DEBUG\"\nPREFECT_HOME = \"/x\"\n");
    let s = world.load(&[]).unwrap();
    let problems: Vec<String> = s.problems().iter().map(ToString::to_string).collect();
    assert_eq!(problems.len(), 4, "{problems:?}");
    let p = path.display();
    assert_eq!(
        problems[0],
        format!("unknown setting logging.levle; did you mean logging.level? ({p} line 2)")
    );
    assert_eq!(problems[1], format!("unknown setting server ({p} line 3)"));
    assert!(problems[2].contains("PREFECT_HOME cannot be set in a profile"), "{}", problems[2]);
    assert!(problems[3].contains("did you mean PREFECT_LOGGING_LEVEL?"), "{}", problems[3]);
    assert_eq!(s.logging_level, LogLevel::Info);
}

#[test]
fn config_toml_interpolation() {
    let world = World::new();
    world.config_toml(
        "environment = \"prod\"\nbase = \"${HOME_DIR}/prefect\"\n\
         [environments.prod]\nlevel = \"${LEVEL}\"\n\
         [logging]\nlevel = \"${environments.${environment}.level}\"\n\
         [results]\nstorage_path = \"${base}/results\"\n[api]\ndatabase_url = \"sqlite://$HOME_DIR/x.db\"\n",
    );
    let s = world.load(&[("HOME_DIR", "/data"), ("LEVEL", "ERROR")]).unwrap();
    assert_eq!(s.logging_level, LogLevel::Error);
    assert_eq!(s.results_storage_path, Path::new("/data/prefect/results"));
    assert_eq!(s.database_path, Path::new("/data/x.db"));

    let missing = world.load(&[("HOME_DIR", "/data")]).unwrap_err().to_string();
    assert!(missing.starts_with("cannot interpolate logging.level ("), "{missing}");
    assert!(
        missing.ends_with("line 6): \"${LEVEL}\" is neither a config key nor an environment variable"),
        "{missing}"
    );
}

#[test]
fn config_toml_cycles_and_user_config_path() {
    let world = World::new();
    let path = world.write(
        &world.project.join("legacy.toml"),
        "a = \"${b}\"\nb = \"x${a}\"\n[tasks]\ndefault_retries = \"${a}\"\n",
    );
    let env = [("PREFECT__USER_CONFIG_PATH", path.to_str().unwrap())];
    let err = world.load(&env).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("interpolation cycle in {}: tasks.default_retries -> a -> b -> a", path.display())
    );

    world.write(&path, "n = 3\n[tasks]\ndefault_retries = \"${n}\"\n");
    assert_eq!(world.load(&env).unwrap().tasks_default_retries, 3);
    let env = [("PREFECT__USER_CONFIG_PATH", "/no/such/config.toml")];
    assert!(matches!(world.load(&env), Err(SettingsError::Io { .. })));
}

#[test]
fn prefect1_names_in_the_environment() {
    let world = World::new();
    let env = [
        ("PREFECT__TASKS__DEFAULTS__MAX_RETRIES", "2"),
        ("PREFECT__TASKS__DEFAULTS__RETRY_DELAY", "30"),
        ("PREFECT__FLOWS__RUN_ON_SCHEDULE", "false"),
        ("PREFECT__LOGGING__LEVEL", "debug"),
        ("PREFECT__LOGGING__LOG_PRINTS", "true"),
        ("PREFECT__CONTEXT__SECRETS__SLACK_WEBHOOK", "https://hooks.example/xyz"),
    ];
    let s = world.load(&env).unwrap();
    assert_eq!(s.tasks_default_retries, 2);
    assert_eq!(s.tasks_default_retry_delay, Duration::from_secs(30));
    assert!(!s.flows_run_on_schedule && s.logging_log_prints);
    assert_eq!(s.logging_level, LogLevel::Debug);
    assert_eq!(s.secret("SLACK_WEBHOOK"), Some("https://hooks.example/xyz"));
    assert_eq!(
        s.origin("tasks.default_retries"),
        Some(&Origin::Env { var: "PREFECT__TASKS__DEFAULTS__MAX_RETRIES".into() })
    );
    assert!(s.problems().is_empty(), "{:?}", s.problems());

    let s = world.load(&[("PREFECT__TASKS__DEFAULTS__RETRY_DELAY", "1m 30s")]).unwrap();
    assert_eq!(s.tasks_default_retry_delay, Duration::from_secs(90));
    let s =
        world.load(&[("PREFECT_FLOWS_RUN_ON_SCHEDULE", "off"), ("PREFECT_LOGGING_LOG_PRINTS", "1")]).unwrap();
    assert!(!s.flows_run_on_schedule && s.logging_log_prints);
}

#[test]
fn prefect1_names_in_config_toml() {
    let world = World::new();
    let config = world.config_toml(
        "[tasks.defaults]\nmax_retries = 3\nretry_delay = false\ntimeout = false\n\
         [flows]\nrun_on_schedule = false\n[logging]\nlevel = \"ERROR\"\n\
         [context.secrets]\nDB_PASSWORD = \"${PASSWORD}\"\nSLACK = \"from the file\"\nAWS = { key = \"k\" }\n",
    );
    let env = [("PASSWORD", "hunter2"), ("PREFECT__CONTEXT__SECRETS__SLACK", "from the environment")];
    let s = world.load(&env).unwrap();
    assert_eq!(s.tasks_default_retries, 3);
    assert_eq!(s.origin("tasks.default_retries"), Some(&Origin::File { path: config.clone(), line: 2 }));
    assert_eq!(s.tasks_default_retry_delay, Duration::ZERO);
    assert!(!s.flows_run_on_schedule);
    assert_eq!(s.logging_level, LogLevel::Error);
    assert_eq!(s.secret("DB_PASSWORD"), Some("hunter2"));
    assert_eq!(s.secret("SLACK"), Some("from the environment"));
    assert_eq!(s.secrets().names().collect::<Vec<_>>(), ["DB_PASSWORD", "SLACK"]);
    let problems: Vec<String> = s.problems().iter().map(ToString::to_string).collect();
    let c = config.display();
    assert_eq!(problems, [format!("secret AWS is a table, not text, and is not read ({c} line 12)")]);

    let debug = format!("{s:?}");
    assert!(!debug.contains("hunter2") && !debug.contains("from the"), "{debug}");
    assert!(debug.contains(r#"secrets: {"DB_PASSWORD": <redacted>, "SLACK": <redacted>}"#), "{debug}");
    assert_eq!(s.secrets().to_string(), "DB_PASSWORD=<redacted>, SLACK=<redacted>");

    world.config_toml("[tasks]\ndefault_retries = 1\n[tasks.defaults]\nmax_retries = 5\n");
    assert_eq!(world.load(&[]).unwrap().tasks_default_retries, 1, "the prefect-rs name wins");
    world.config_toml("[context.secrets]\nDB = \"${PASSWORD}\"\n");
    let s = Settings::load_lenient_from(world.sources());
    assert_eq!(s.secret("DB"), None);
    let mut out = Vec::new();
    s.report(&mut out).unwrap();
    let out = String::from_utf8(out).unwrap();
    assert!(out.starts_with("prefect: cannot interpolate context.secrets.DB ("), "{out}");
    assert!(out.ends_with("; the secret is not set\n"), "{out}");
}

#[test]
fn unknown_prefect_variables_warn_with_the_closest_name() {
    let world = World::new();
    let (config, home) = (world.config_toml(""), world.home());
    let known = [
        ("PREFECT_API_URL", "http://127.0.0.1:4200/api"),
        ("PREFECT_API_KEY", "pnu_x"),
        ("PREFECT_SERVER_API_KEY", "x"),
        ("PREFECT_SERVER_API_HOST", "0.0.0.0"),
        ("PREFECT_SERVER_API_PORT", "4200"),
        ("PREFECT_UI_URL", "http://127.0.0.1:4200"),
        ("PREFECT_HOME", home.to_str().unwrap()),
        ("PREFECT__USER_CONFIG_PATH", config.to_str().unwrap()),
        ("PREFECT_PROFILE", "default"),
        ("PREFECT__CONTEXT__SECRETS__TOKEN", "t"),
        ("PREFECT_TEST_SOME_CHILD", "1"),
        ("PREFECT__LOGGING__LEVEL", "INFO"),
    ];
    let s = world.load(&known).unwrap();
    assert!(s.problems().is_empty(), "{:?}", s.problems());

    let typos = [
        ("PREFECT_TASK_DEFAULT_RETRIES", "3"),
        ("PREFECT__TASKS__DEFAULTS__MAX_RETRY", "3"),
        ("PREFECT_LOGGING__LEVEL", "DEBUG"),
        ("PREFECT_SOMETHING_ELSE_ENTIRELY", "1"),
    ];
    let s = Settings::load_lenient_from(world.sources().envs(typos));
    let problems: Vec<String> = s.problems().iter().map(ToString::to_string).collect();
    assert_eq!(
        problems,
        [
            "unknown setting PREFECT_LOGGING__LEVEL; did you mean PREFECT_LOGGING_LEVEL? \
             (env PREFECT_LOGGING__LEVEL)",
            "unknown setting PREFECT_SOMETHING_ELSE_ENTIRELY (env PREFECT_SOMETHING_ELSE_ENTIRELY)",
            "unknown setting PREFECT_TASK_DEFAULT_RETRIES; did you mean PREFECT_TASKS_DEFAULT_RETRIES? \
             (env PREFECT_TASK_DEFAULT_RETRIES)",
            "unknown setting PREFECT__TASKS__DEFAULTS__MAX_RETRY; did you mean \
             PREFECT__TASKS__DEFAULTS__MAX_RETRIES? (env PREFECT__TASKS__DEFAULTS__MAX_RETRY)",
        ]
    );
    assert_eq!(s.tasks_default_retries, 0);
    let mut out = Vec::new();
    s.report(&mut out).unwrap();
    let out = String::from_utf8(out).unwrap();
    assert!(out.contains("prefect: unknown setting PREFECT_TASK_DEFAULT_RETRIES; did you mean"), "{out}");
    assert_eq!(out.lines().count(), 4, "{out}");
}

#[test]
fn profiles_round_trip() {
    let world = World::new();
    let home = world.user.join("fresh-home");
    let mut profiles = Profiles::load(&home).unwrap();
    assert_eq!((profiles.names(), profiles.active()), (vec!["default"], "default"));
    profiles.create("dev").unwrap();
    assert!(matches!(profiles.create("dev"), Err(SettingsError::ProfileExists { .. })));
    assert!(matches!(profiles.create("bad name"), Err(SettingsError::InvalidProfileName { .. })));
    profiles.set("dev", "PREFECT_LOGGING_LEVEL", "DEBUG").unwrap();
    profiles.set("dev", "tasks.default_retries", "3").unwrap();
    profiles.set("dev", "PREFECT_DB_RETENTION", "30d").unwrap();
    profiles.use_profile("dev").unwrap();
    assert!(matches!(profiles.use_profile("nope"), Err(SettingsError::UnknownProfile { .. })));
    assert!(profiles.unset("dev", "PREFECT_DB_RETENTION").unwrap());
    assert!(!profiles.unset("dev", "db.retention").unwrap());
    profiles.save().unwrap();

    let reread = Profiles::load(&home).unwrap();
    assert_eq!((reread.names(), reread.active()), (vec!["default", "dev"], "dev"));
    let values = reread.values("dev").unwrap();
    assert_eq!(
        values,
        [("PREFECT_LOGGING_LEVEL", "DEBUG".to_owned()), ("PREFECT_TASKS_DEFAULT_RETRIES", "3".to_owned())]
    );
    let s = Settings::load_from(world.sources().env("PREFECT_HOME", home.to_str().unwrap())).unwrap();
    assert_eq!((s.profile.as_str(), s.logging_level, s.tasks_default_retries), ("dev", LogLevel::Debug, 3));
    let leftovers: Vec<_> = std::fs::read_dir(&home).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(leftovers, ["profiles.toml"]);

    let mut profiles = reread;
    assert!(matches!(profiles.delete("dev"), Err(SettingsError::ProfileActive { .. })));
    profiles.use_profile("default").unwrap();
    profiles.delete("dev").unwrap();
    assert_eq!(profiles.names(), ["default"]);
}

#[test]
fn profile_set_validates_and_names_the_key() {
    let world = World::new();
    let mut profiles = Profiles::load(&world.home()).unwrap();
    let err = profiles.set("default", "PREFECT_TASKS_DEFAULT_RETRIES", "lots").unwrap_err().to_string();
    let path = world.home().join("profiles.toml");
    let want = format!(
        "invalid value \"lots\" for tasks.default_retries (from profile default in {}): expected a whole number >= 0",
        path.display()
    );
    assert_eq!(err, want);
    let err = profiles.set("default", "PREFECT_LOGING_LEVEL", "DEBUG").unwrap_err().to_string();
    assert_eq!(
        err,
        "cannot set \"PREFECT_LOGING_LEVEL\": unknown setting; did you mean PREFECT_LOGGING_LEVEL?"
    );
    assert!(matches!(profiles.set("default", "PREFECT_HOME", "/x"), Err(SettingsError::UnknownKey { .. })));
    assert!(matches!(
        profiles.set("nope", "PREFECT_LOGGING_LEVEL", "DEBUG"),
        Err(SettingsError::UnknownProfile { .. })
    ));
}

#[test]
fn view_shows_values_and_sources() {
    let world = World::new();
    let s = world.load(&[("PREFECT_TASKS_DEFAULT_RETRY_DELAY", "90s")]).unwrap();
    let view = s.view(true);
    assert!(view.starts_with("PREFECT_PROFILE='default' (from default)\n"), "{view}");
    assert!(view.contains(
        "PREFECT_TASKS_DEFAULT_RETRY_DELAY='1m 30s' (from env PREFECT_TASKS_DEFAULT_RETRY_DELAY)\n"
    ));
    assert!(view.contains("PREFECT_DB_RETENTION='none' (from default)\n"));
    let plain = s.view(false);
    assert!(plain.contains("PREFECT_LOGGING_LEVEL='INFO'\n") && !plain.contains("(from"));
    assert_eq!(s.entries().len(), 16);
}

#[test]
fn the_api_url_and_key_are_settings_and_the_key_stays_hidden() {
    let world = World::new();
    let s = world
        .load(&[("PREFECT_API_URL", "http://127.0.0.1:4200/api/"), ("PREFECT_API_KEY", "pnu_s3cr3t")])
        .unwrap();
    assert_eq!(s.api_url.as_deref(), Some("http://127.0.0.1:4200/api"));
    assert_eq!(s.api_key.as_ref().map(|k| k.expose()), Some("pnu_s3cr3t"));
    let view = s.view(true);
    assert!(view.contains("PREFECT_API_KEY='<redacted>' (from env PREFECT_API_KEY)"), "{view}");
    assert!(!view.contains("pnu_s3cr3t") && !format!("{s:?}").contains("pnu_s3cr3t"));

    let error = world.load(&[("PREFECT_API_URL", "127.0.0.1:4200")]).unwrap_err().to_string();
    assert!(error.contains("PREFECT_API_URL") && error.contains("http://127.0.0.1:4200/api"), "{error}");
}
