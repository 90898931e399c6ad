//! `settings::current()` reads the real process, once: each case runs this
//! test binary again as a child with a chosen environment (and a temporary
//! home and working directory, so nothing of the user's is read or written).

use std::path::Path;
use std::process::Command;

const CHILD: &str = "PREFECT_TEST_CURRENT_CHILD";

/// In the child: read the process settings twice and print some of them.
/// In the parent: nothing.
#[test]
fn child_body() {
    if std::env::var_os(CHILD).is_none() {
        return;
    }
    let first = prefect_settings::current();
    let again = prefect_settings::current();
    assert!(std::ptr::eq(first, again));
    let user = prefect_settings::config::get::<String>("user").unwrap_or_else(|e| e.to_string());
    println!(
        "RESULT retries={} recording={} db={} user={user}",
        first.tasks_default_retries,
        first.recording_enabled,
        first.database_path.display()
    );
}

/// The child's stdout line of results, and its stderr.
fn child(dir: &Path, env: &[(&str, &str)]) -> (String, String) {
    let out = Command::new(std::env::current_exe().unwrap())
        .args(["child_body", "--exact", "--nocapture", "--test-threads=1"])
        .current_dir(dir)
        .env_clear()
        .env(CHILD, "1")
        .env("HOME", dir)
        .env("PREFECT_HOME", dir.join("home"))
        .envs(env.iter().copied())
        .output()
        .unwrap();
    let (stdout, stderr) = (String::from_utf8(out.stdout).unwrap(), String::from_utf8(out.stderr).unwrap());
    assert!(out.status.success(), "{stdout}\n{stderr}");
    let line = stdout.lines().find_map(|l| l.split_once("RESULT ")).map(|(_, r)| r.to_owned());
    (line.unwrap_or_else(|| panic!("no result in: {stdout}")), stderr)
}

#[test]
fn an_invalid_value_is_reported_once_and_the_other_settings_are_kept() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("runs.db");
    let env = [
        ("PREFECT_TASKS_DEFAULT_RETRIES", "lots"),
        ("PREFECT_RECORDING_ENABLED", "false"),
        ("PREFECT_API_DATABASE_URL", db.to_str().unwrap()),
        ("PREFECT_FLOW_DEFAULT_RETRIES", "1"),
    ];
    let (result, stderr) = child(dir.path(), &env);
    let config = dir.path().join("home").join("config.toml");
    let user = format!("user=no key `user`: {} does not exist", config.display());
    assert_eq!(result, format!("retries=0 recording=false db={} {user}", db.display()));
    let message = "prefect: invalid value \"lots\" for tasks.default_retries \
                   (from env PREFECT_TASKS_DEFAULT_RETRIES): expected a whole number >= 0; using the default, 0\n";
    assert_eq!(stderr.matches(message).count(), 1, "{stderr}");
    let typo = "prefect: unknown setting PREFECT_FLOW_DEFAULT_RETRIES; \
                did you mean PREFECT_FLOWS_DEFAULT_RETRIES? (env PREFECT_FLOW_DEFAULT_RETRIES)\n";
    assert_eq!(stderr.matches(typo).count(), 1, "{stderr}");
}

#[test]
fn valid_settings_print_nothing_and_config_get_reads_the_home_config_toml() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("home")).unwrap();
    let text = "environment = \"${DEPLOY_ENV}\"\nuser = \"${environments.${environment}.user}\"\n\
                [environments.prod]\nuser = \"grace\"\n";
    std::fs::write(dir.path().join("home").join("config.toml"), text).unwrap();
    let env = [("PREFECT_TASKS_DEFAULT_RETRIES", "2"), ("DEPLOY_ENV", "prod")];
    let (result, stderr) = child(dir.path(), &env);
    assert!(result.starts_with("retries=2 recording=true db="), "{result}");
    assert!(result.ends_with(" user=grace"), "{result}");
    assert!(!stderr.contains("prefect:"), "{stderr}");
}
