//! The `prefect` binary end to end: a scripted run database per test, the
//! real binary run against it, assertions on stdout, stderr and exit codes.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use futures::executor::block_on;
use prefect_model::LogLevel;
use prefect_model::{FlowRunId, StateMeta, StateType, TaskRunId};
use prefect_store::ShortId;
use prefect_store::conformance::Events;
use prefect_store::prelude::*;
use prefect_store_sqlite::SqliteStore;
use serde_json::Value;

/// A temporary PREFECT_HOME with a populated run database.
struct Home {
    dir: tempfile::TempDir,
    completed: FlowRunId,
    failed: FlowRunId,
    failed_task: TaskRunId,
}

impl Home {
    fn empty() -> tempfile::TempDir {
        tempfile::tempdir().unwrap()
    }

    /// Four flow runs: `report` (ended 40 days ago), `etl` failed (one of
    /// its two task runs failed), `etl` completed (three task runs),
    /// `ingest` completed; plus one task run outside any flow.
    fn populated() -> Home {
        let dir = Home::empty();
        let mut old = Events::starting_ago(Duration::from_secs(40 * 86_400));
        let report = old.flow_run("report", "old-owl");
        old.lifecycle(report, StateType::Completed);
        old.log(Some(report), None, LogLevel::Info, "old line");
        write(&dir.path().join("prefect.db"), old.take());

        let mut events = Events::starting_now();
        let failed =
            events.flow_run_with("etl", "sad-seal", serde_json::json!({ "day": "mon" }), &["nightly"], None);
        events.state(failed, StateType::Pending);
        events.state(failed, StateType::Running);
        let ok_task = events.task_run(Some(failed), "extract");
        events.lifecycle(ok_task, StateType::Completed);
        let failed_task = events.task_run(Some(failed), "load");
        events.lifecycle(failed_task, StateType::Failed);
        events.log(Some(failed), None, LogLevel::Info, "starting etl");
        events.log(Some(failed), Some(failed_task), LogLevel::Error, "load blew up");
        let mut end = StateMeta::new(StateType::Failed);
        end.message = Some("1 task failed".into());
        events.state_meta(failed, end);

        let completed =
            events.flow_run_with("etl", "happy-hen", serde_json::json!({ "day": "tue" }), &[], None);
        events.state(completed, StateType::Pending);
        events.state(completed, StateType::Running);
        for _ in 0..3 {
            let task = events.task_run(Some(completed), "extract");
            events.lifecycle(task, StateType::Completed);
            events.log(Some(completed), Some(task), LogLevel::Info, "extracted");
        }
        events.state(completed, StateType::Completed);

        let ingest = events.flow_run("ingest", "calm-cod");
        events.lifecycle(ingest, StateType::Completed);
        let standalone = events.task_run(None, "ping");
        events.lifecycle(standalone, StateType::Completed);
        write(&dir.path().join("prefect.db"), events.take());
        Home { dir, completed, failed, failed_task }
    }

    fn db(&self) -> PathBuf {
        self.dir.path().join("prefect.db")
    }
}

fn write(db: &Path, events: Vec<prefect_model::Event>) {
    let store = SqliteStore::open(db).unwrap();
    block_on(store.write_events(None, &events)).unwrap();
}

fn command(home: &Path, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_prefect"));
    command
        .args(args)
        .env("PREFECT_HOME", home)
        .env_remove("PREFECT_API_DATABASE_URL")
        .env_remove("PREFECT_API_URL")
        .env_remove("PREFECT_API_KEY")
        .env("NO_COLOR", "1");
    command
}

fn prefect(home: &Path, args: &[&str]) -> Output {
    command(home, args).output().unwrap()
}

fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).unwrap()
}

fn stderr(output: &Output) -> String {
    String::from_utf8(output.stderr.clone()).unwrap()
}

/// Runs `args`, asserts success and returns stdout.
fn ok(home: &Path, args: &[&str]) -> String {
    let output = prefect(home, args);
    assert!(output.status.success(), "{args:?} failed: {}", stderr(&output));
    stdout(&output)
}

/// Runs `args`, asserts failure and returns stderr.
fn fails(home: &Path, args: &[&str]) -> String {
    let output = prefect(home, args);
    assert!(!output.status.success(), "{args:?} succeeded: {}", stdout(&output));
    stderr(&output)
}

fn json(home: &Path, args: &[&str]) -> Value {
    let mut args = args.to_vec();
    args.push("--json");
    serde_json::from_str(&ok(home, &args)).unwrap()
}

/// The name the fixtures give a task run of `task`.
fn task_name(task: &str, id: TaskRunId) -> String {
    format!("{task}-{}", &id.0.simple().to_string()[29..])
}

fn names(runs: &Value) -> Vec<&str> {
    runs.as_array().unwrap().iter().map(|r| r["name"].as_str().unwrap()).collect()
}

#[test]
fn flow_ls_lists_flows_by_name() {
    let home = Home::populated();
    let out = ok(home.dir.path(), &["flow", "ls"]);
    let lines: Vec<&str> = out.lines().collect();
    assert!(lines[0].starts_with("NAME"), "{out}");
    assert_eq!(lines.len(), 4, "{out}");
    assert!(
        lines[1].starts_with("etl ") && lines[2].starts_with("ingest ") && lines[3].starts_with("report ")
    );
    assert_eq!(names(&json(home.dir.path(), &["flow", "ls"])), ["etl", "ingest", "report"]);
}

#[test]
fn flow_run_ls_lists_newest_first_with_aligned_columns() {
    let home = Home::populated();
    let out = ok(home.dir.path(), &["flow-run", "ls"]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 5, "{out}");
    let state_column = lines[0].find("STATE").unwrap();
    assert_eq!(&lines[2][state_column..state_column + 9], "Completed");
    assert_eq!(&lines[3][state_column..state_column + 6], "Failed");
    assert!(!out.contains('\x1b'), "no colours off a terminal");
    let short = ShortId::of(home.completed).to_string();
    assert!(lines[2].starts_with(&format!("{short}  happy-hen ")), "short ids first: {out}");
    assert!(!out.contains(&home.completed.to_string()), "not the full ids: {out}");
    let runs = json(home.dir.path(), &["flow-run", "ls"]);
    assert_eq!(names(&runs), ["calm-cod", "happy-hen", "sad-seal", "old-owl"]);
}

#[test]
fn flow_run_ls_filters() {
    let home = Home::populated();
    let dir = home.dir.path();
    assert_eq!(names(&json(dir, &["flow-run", "ls", "--state", "failed"])), ["sad-seal"]);
    assert_eq!(
        names(&json(dir, &["flow-run", "ls", "--state", "FAILED,completed", "--flow", "etl"])),
        ["happy-hen", "sad-seal"]
    );
    assert_eq!(names(&json(dir, &["flow-run", "ls", "--flow", "report"])), ["old-owl"]);
    assert_eq!(
        names(&json(dir, &["flow-run", "ls", "--since", "1d"])),
        ["calm-cod", "happy-hen", "sad-seal"]
    );
    assert_eq!(names(&json(dir, &["flow-run", "ls", "--limit", "1"])), ["calm-cod"]);
    assert!(fails(dir, &["flow-run", "ls", "--state", "bogus"]).contains("unknown state type"));
    assert!(fails(dir, &["flow-run", "ls", "--since", "yesterday"]).contains("--since"));
}

#[test]
fn flow_run_ls_json_has_the_run_fields() {
    let home = Home::populated();
    let runs = json(home.dir.path(), &["flow-run", "ls", "--state", "failed"]);
    let run = &runs[0];
    assert_eq!(run["id"], home.failed.to_string());
    assert_eq!(run["short_id"], ShortId::of(home.failed).to_string());
    assert_eq!(run["flow_name"], "etl");
    assert_eq!(run["tags"], serde_json::json!(["nightly"]));
    assert_eq!(run["state"]["type"], "FAILED");
    assert_eq!(run["state"]["message"], "1 task failed");
    assert_eq!(run["run_count"], 1);
    assert!(run["duration_seconds"].as_f64().unwrap() > 0.0);
}

#[test]
fn inspect_by_full_id_shows_states_parameters_and_task_runs() {
    let home = Home::populated();
    let out = ok(home.dir.path(), &["flow-run", "inspect", &home.failed.to_string()]);
    assert!(out.contains(&format!("Flow run   sad-seal ({})\n", ShortId::of(home.failed))), "{out}");
    assert!(out.contains(&format!("Id         {}\n", home.failed)), "{out}");
    assert!(out.contains("State      Failed: 1 task failed"), "{out}");
    assert!(out.contains("\"day\": \"mon\""), "{out}");
    for state in ["Pending", "Running", "Failed"] {
        assert!(out.contains(state), "{out}");
    }
    assert!(
        out.contains("Task runs (2 of 2; 1 COMPLETED, 1 FAILED)")
            || out.contains("Task runs (2 of 2; 1 FAILED, 1 COMPLETED)"),
        "{out}"
    );
    let task_row = out.lines().find(|l| l.contains("load")).unwrap();
    assert!(task_row.starts_with(&ShortId::of(home.failed_task).to_string()), "{out}");
}

#[test]
fn inspect_by_prefix_and_json() {
    let home = Home::populated();
    let prefix = &home.completed.to_string()[..30];
    let detail = json(home.dir.path(), &["flow-run", "inspect", prefix]);
    assert_eq!(detail["id"], home.completed.to_string());
    assert_eq!(detail["parameters"]["day"], "tue");
    assert_eq!(detail["states"].as_array().unwrap().len(), 3);
    assert_eq!(detail["states"][2]["type"], "COMPLETED");
    assert_eq!(detail["task_runs"].as_array().unwrap().len(), 3);
    assert_eq!(detail["task_runs"][0]["task_name"], "extract");
    assert_eq!(detail["task_run_count"], 3);
    assert_eq!(detail["task_run_states"]["COMPLETED"], 3);
    let limited = json(home.dir.path(), &["flow-run", "inspect", prefix, "--task-limit", "1"]);
    assert_eq!(limited["task_runs"].as_array().unwrap().len(), 1);
}

#[test]
fn ambiguous_and_unknown_prefixes_are_errors() {
    let home = Home::populated();
    let dir = home.dir.path();
    let shared = &home.completed.to_string()[..4];
    let err = fails(dir, &["flow-run", "inspect", shared]);
    assert!(err.contains("matches several runs") && err.contains(&home.completed.to_string()[..4]), "{err}");
    let unknown = fails(dir, &["flow-run", "inspect", "ffff"]);
    assert!(unknown.contains("ffff") && unknown.contains("no "), "{unknown}");
    let no_name = fails(dir, &["flow-run", "inspect", "xyz"]);
    assert_eq!(no_name.trim(), "error: no flow run matches `xyz`");
    let task = home.failed_task.to_string();
    let err = fails(dir, &["flow-run", "inspect", &task]);
    let short = ShortId::of(home.failed_task);
    assert!(
        err.contains("not a flow run") && err.contains(&format!("prefect flow-run logs {short}")),
        "{err}"
    );
    let err = fails(dir, &["flow-run", "inspect", &short.to_string()]);
    let expected =
        format!("error: `{short}` is a task run, not a flow run; its logs: `prefect flow-run logs {short}`");
    assert_eq!(err.trim(), expected);
}

#[test]
fn runs_are_named_by_short_id_or_name() {
    let home = Home::populated();
    let dir = home.dir.path();
    let short = ShortId::of(home.completed).to_string();
    let by_short = json(dir, &["flow-run", "inspect", &short]);
    assert_eq!(by_short["id"], home.completed.to_string());
    assert_eq!(json(dir, &["flow-run", "inspect", &short.to_uppercase()])["id"], home.completed.to_string());
    assert_eq!(json(dir, &["flow-run", "inspect", "happy-hen"])["id"], home.completed.to_string());
    let tasks = json(dir, &["task-run", "ls", "--flow-run", "sad-seal", "--state", "failed"]);
    assert_eq!(tasks[0]["id"], home.failed_task.to_string());
    assert_eq!(tasks[0]["short_id"], ShortId::of(home.failed_task).to_string());

    // `logs` takes a task run's name or short id when no flow run matches.
    let load = task_name("load", home.failed_task);
    for reference in [load.clone(), ShortId::of(home.failed_task).to_string()] {
        let out = ok(dir, &["flow-run", "logs", &reference]);
        assert_eq!(out.lines().count(), 1, "{reference}: {out}");
        assert!(out.contains("load blew up"), "{out}");
    }
    let err = fails(dir, &["flow-run", "logs", "no-such-run"]);
    assert_eq!(err.trim(), "error: no flow run or task run matches `no-such-run`");
}

#[test]
fn a_shared_name_lists_the_runs_that_have_it() {
    let home = Home::empty();
    let db = home.path().join("prefect.db");
    let mut events = Events::starting_now();
    let first = events.flow_run("etl", "twin");
    events.lifecycle(first, StateType::Completed);
    let second = events.flow_run("report", "twin");
    events.lifecycle(second, StateType::Completed);
    write(&db, events.take());
    let output = prefect(home.path(), &["flow-run", "inspect", "twin"]);
    assert_eq!(output.status.code(), Some(1));
    let err = stderr(&output);
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines[0], "error: ambiguous: 2 runs are named `twin`; use an id:", "{err}");
    assert!(lines[1].starts_with(&format!("  {}  flow run  created ", ShortId::of(second))), "{err}");
    assert!(lines[2].starts_with(&format!("  {}  flow run  created ", ShortId::of(first))), "{err}");
    let short = ShortId::of(first).to_string();
    assert_eq!(json(home.path(), &["flow-run", "inspect", &short])["flow_name"], "etl");
}

#[test]
fn logs_of_a_flow_run_include_its_task_runs() {
    let home = Home::populated();
    let out = ok(home.dir.path(), &["flow-run", "logs", &home.failed.to_string()]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 2, "{out}");
    assert!(
        lines[0].contains(" INFO ")
            && lines[0].contains(" sad-seal ")
            && lines[0].contains("| starting etl line="),
        "{out}"
    );
    let task = format!(" {} {} ", task_name("load", home.failed_task), ShortId::of(home.failed_task));
    assert!(
        lines[1].contains(" ERROR ") && lines[1].contains(&task) && lines[1].contains("| load blew up"),
        "{out}"
    );
    for line in lines {
        // `2024-06-01 12:00:00.123 `: local time to the millisecond.
        let (date, time) = (&line[..10], &line[11..23]);
        assert!(date.chars().filter(|c| *c == '-').count() == 2 && time.as_bytes()[8] == b'.', "{line}");
        assert!(time[9..].chars().all(|c| c.is_ascii_digit()) && line.as_bytes()[23] == b' ', "{line}");
    }
    let json_lines: Vec<Value> =
        ok(home.dir.path(), &["flow-run", "logs", &home.failed.to_string(), "--json"])
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
    assert_eq!(json_lines[1]["level"], "ERROR");
    assert_eq!(json_lines[1]["task_run_id"], home.failed_task.to_string());
}

#[test]
fn logs_follow_of_a_finished_run_returns_promptly() {
    let home = Home::populated();
    let start = Instant::now();
    let out = ok(home.dir.path(), &["flow-run", "logs", "--follow", &home.completed.to_string()]);
    assert_eq!(out.lines().count(), 3, "{out}");
    assert!(start.elapsed() < Duration::from_secs(2), "took {:?}", start.elapsed());
}

#[test]
fn logs_follow_prints_new_lines_until_the_run_ends() {
    let home = Home::empty();
    let db = home.path().join("prefect.db");
    let mut events = Events::starting_now();
    let run = events.flow_run("etl", "live-lynx");
    events.state(run, StateType::Running);
    events.log(Some(run), None, LogLevel::Info, "first");
    write(&db, events.take());
    let mut child = command(home.path(), &["flow-run", "logs", "-f", &run.to_string()])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    // Waits until it has printed the first line (it is following), then
    // records more.
    use std::io::{BufRead, Read};
    let mut reader = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    reader.read_line(&mut first).unwrap();
    assert!(first.contains("first"), "{first}");
    events.log(Some(run), None, LogLevel::Info, "second");
    events.state(run, StateType::Completed);
    write(&db, events.take());
    let mut rest = String::new();
    reader.read_to_string(&mut rest).unwrap();
    assert!(child.wait().unwrap().success());
    assert!(rest.contains("second"), "{rest}");
}

#[test]
fn task_run_ls_lists_the_runs_of_a_flow_run() {
    let home = Home::populated();
    let dir = home.dir.path();
    let out = ok(dir, &["task-run", "ls", "--flow-run", &home.failed.to_string()[..30]]);
    assert_eq!(out.lines().count(), 3, "{out}");
    assert!(out.lines().nth(2).unwrap().contains("Failed"), "{out}");
    let runs = json(dir, &["task-run", "ls", "--flow-run", &home.failed.to_string(), "--state", "failed"]);
    assert_eq!(runs.as_array().unwrap().len(), 1);
    assert_eq!(runs[0]["id"], home.failed_task.to_string());
    assert_eq!(runs[0]["flow_run_id"], home.failed.to_string());
    assert_eq!(runs[0]["state"]["type"], "FAILED");
    let standalone = json(dir, &["task-run", "ls"]);
    assert_eq!(standalone[0]["task_name"], "ping");
}

#[test]
fn concurrency_limits_round_trip() {
    let home = Home::empty();
    let dir = home.path();
    assert!(ok(dir, &["concurrency-limit", "create", "api", "5"]).contains("`api` set to 5"));
    ok(dir, &["concurrency-limit", "create", "db", "1"]);
    let out = ok(dir, &["concurrency-limit", "ls"]);
    assert!(out.starts_with("TAG") && out.contains("api") && out.contains("db"), "{out}");
    let limits = json(dir, &["concurrency-limit", "ls"]);
    assert_eq!(limits[0]["tag"], "api");
    assert_eq!(limits[0]["limit"], 5);
    assert_eq!(limits[0]["active_slots"], 0);
    assert!(ok(dir, &["concurrency-limit", "delete", "api"]).contains("deleted"));
    assert_eq!(json(dir, &["concurrency-limit", "ls"]).as_array().unwrap().len(), 1);
    assert!(fails(dir, &["concurrency-limit", "delete", "api"]).contains("no concurrency limit"));
}

#[test]
fn db_prune_removes_old_runs() {
    let home = Home::populated();
    let dir = home.dir.path();
    let out = ok(dir, &["db", "prune", "--older-than", "30d"]);
    assert!(out.contains("1 flow runs"), "{out}");
    assert_eq!(names(&json(dir, &["flow-run", "ls"])), ["calm-cod", "happy-hen", "sad-seal"]);
    let again = json(dir, &["db", "prune", "--older-than", "30d"]);
    assert_eq!(again["flow_runs"], 0);
}

#[test]
fn absurd_durations_are_usage_errors_not_panics() {
    let home = Home::populated();
    let dir = home.dir.path();
    for args in [
        &["db", "prune", "--older-than", "300000y"][..],
        &["flow-run", "ls", "--since", "300000y"],
        &["db", "prune", "--older-than", "99999999999999999999y"],
    ] {
        let output = prefect(dir, args);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {}", stderr(&output));
        let err = stderr(&output);
        assert!(err.contains(args[args.len() - 1]) && err.contains(args[args.len() - 2]), "{err}");
        assert!(!err.contains("panicked"), "{err}");
    }
    let err = stderr(&prefect(dir, &["db", "prune", "--older-than", "300000y"]));
    assert!(err.contains("too long: at most 10000 years"), "{err}");
    let kept = json(dir, &["db", "prune", "--older-than", "10000y"]);
    assert_eq!(kept["flow_runs"], 0, "the longest age prunes nothing");
    assert_eq!(json(dir, &["flow-run", "ls", "--since", "10000y"]).as_array().unwrap().len(), 4);
}

/// A home whose flow run `chatty` (completed) has 2,500 log lines, more
/// than the CLI reads in one page, and 20 flow runs that ended 40 days ago.
fn long_home() -> (tempfile::TempDir, FlowRunId) {
    let home = Home::empty();
    let db = home.path().join("prefect.db");
    let mut old = Events::starting_ago(Duration::from_secs(40 * 86_400));
    for i in 0..20 {
        let run = old.flow_run("report", &format!("old-{i}"));
        old.lifecycle(run, StateType::Completed);
        let task = old.task_run(Some(run), "render");
        old.lifecycle(task, StateType::Completed);
    }
    write(&db, old.take());
    let mut events = Events::starting_now();
    let run = events.flow_run("etl", "chatty");
    events.state(run, StateType::Running);
    for i in 0..2_500 {
        events.log(Some(run), None, LogLevel::Info, &format!("line {i}"));
    }
    events.state(run, StateType::Completed);
    write(&db, events.take());
    (home, run)
}

/// Runs `args` in a pseudo-terminal (util-linux `script`), so stdout and
/// stderr are a terminal; returns what the terminal received.
fn on_a_terminal(home: &Path, args: &[&str], env: &[(&str, &str)]) -> String {
    let mut line = format!("'{}'", env!("CARGO_BIN_EXE_prefect"));
    for arg in args {
        line.push_str(&format!(" '{arg}'"));
    }
    let mut script = Command::new("script");
    script
        .args(["-qfec", &line, "/dev/null"])
        .env("PREFECT_HOME", home)
        .env_remove("PREFECT_API_DATABASE_URL")
        .env_remove("PREFECT_API_URL");
    script.env("NO_COLOR", "1").env_remove("PREFECT_CLI_PROGRESS").stdin(Stdio::null());
    for (name, value) in env {
        script.env(name, value);
    }
    let output = script.output().expect("util-linux `script` runs commands in a pseudo-terminal");
    assert!(output.status.success(), "{args:?}: {}", String::from_utf8_lossy(&output.stdout));
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn progress_is_never_written_off_a_terminal() {
    let (home, run) = long_home();
    let dir = home.path();
    for (env, pruned) in [(None, "20 flow runs, 20 task runs"), (Some("true"), "0 flow runs, 0 task runs")] {
        let mut logs = command(dir, &["flow-run", "logs", "--follow", &run.to_string()]);
        let mut prune = command(dir, &["db", "prune", "--older-than", "30d"]);
        if let Some(value) = env {
            logs.env("PREFECT_CLI_PROGRESS", value);
            prune.env("PREFECT_CLI_PROGRESS", value);
        }
        let output = logs.output().unwrap();
        assert!(output.status.success());
        assert_eq!(stdout(&output).lines().count(), 2_500);
        assert!(output.stderr.is_empty(), "{}", stderr(&output));
        let output = prune.output().unwrap();
        assert!(stdout(&output).contains(pruned), "{}", stdout(&output));
        assert!(output.stderr.is_empty(), "no bar, no escape codes: {:?}", stderr(&output));
        assert!(!stdout(&output).contains(['\x1b', '\r']));
    }
    let err =
        command(dir, &["db", "prune", "--older-than", "30d"]).env("PREFECT_CLI_PROGRESS", "maybe").output();
    let err = err.unwrap();
    assert_eq!(err.status.code(), Some(1));
    assert!(stderr(&err).contains("invalid value \"maybe\" for PREFECT_CLI_PROGRESS"), "{}", stderr(&err));
    assert!(ok(dir, &["db", "prune", "--older-than", "30d", "--no-progress"]).contains("0 flow runs"));
}

#[test]
fn progress_shows_on_a_terminal_unless_turned_off() {
    let (home, run) = long_home();
    let dir = home.path();
    let screen = on_a_terminal(dir, &["flow-run", "logs", "--follow", &run.to_string()], &[]);
    assert!(screen.contains("printing recorded lines"), "{screen}");
    assert!(screen.contains("| line 0 ") && screen.contains("| line 2499 "), "every line is printed");
    let quiet = on_a_terminal(dir, &["flow-run", "logs", &run.to_string(), "--no-progress"], &[]);
    assert!(!quiet.contains("printing recorded lines") && !quiet.contains('\x1b'), "{quiet}");

    let off =
        on_a_terminal(dir, &["db", "prune", "--older-than", "1000d"], &[("PREFECT_CLI_PROGRESS", "false")]);
    assert!(!off.contains("pruning") && !off.contains('\x1b'), "{off}");
    let screen = on_a_terminal(dir, &["db", "prune", "--older-than", "30d"], &[]);
    assert!(screen.contains("pruning") && screen.contains('\x1b'), "{screen}");
    assert!(
        screen.contains("pruned runs that ended more than 30days ago: 20 flow runs, 20 task runs"),
        "{screen}"
    );
}

#[test]
fn version_prints_versions_without_a_database() {
    let home = Home::empty();
    let out = ok(home.path(), &["version"]);
    assert!(out.contains(env!("CARGO_PKG_VERSION")) && out.contains("database schema"), "{out}");
    assert!(!home.path().join("prefect.db").exists());
    assert_eq!(json(home.path(), &["version"])["version"], env!("CARGO_PKG_VERSION"));
}

#[test]
fn missing_database_is_a_friendly_message_and_is_not_created() {
    let home = Home::empty();
    let dir = home.path();
    let db = dir.join("prefect.db");
    let output = prefect(dir, &["flow-run", "ls"]);
    assert!(output.status.success());
    assert!(output.stdout.is_empty());
    assert_eq!(stderr(&output).trim(), format!("no runs recorded yet at {}", db.display()));
    assert_eq!(json(dir, &["flow", "ls"]), serde_json::json!([]));
    assert!(fails(dir, &["flow-run", "inspect", "0193"]).contains("no runs recorded yet"));
    assert!(!db.exists());
}

#[test]
fn database_path_comes_from_flag_then_env() {
    let home = Home::populated();
    let empty = Home::empty();
    let db = home.db();
    let flag = ok(empty.path(), &["flow", "ls", "--db", db.to_str().unwrap()]);
    assert!(flag.contains("etl"), "{flag}");
    let short = ShortId::of(home.failed).to_string();
    let inspect = ok(empty.path(), &["flow-run", "inspect", &short, "--db", db.to_str().unwrap()]);
    assert!(inspect.contains("sad-seal"), "{inspect}");
    let url = format!("sqlite:///{}", db.display());
    let output =
        command(empty.path(), &["flow", "ls"]).env("PREFECT_API_DATABASE_URL", url).output().unwrap();
    assert!(stdout(&output).contains("etl"));
}

#[test]
fn only_database_commands_take_db() {
    let home = Home::empty();
    let dir = home.path();
    let db = dir.join("other.db");
    let db = db.to_str().unwrap();
    for args in [
        &["flow", "ls"][..],
        &["flow-run", "ls"],
        &["flow-run", "inspect"],
        &["flow-run", "logs"],
        &["task-run", "ls"],
        &["concurrency-limit", "create"],
        &["concurrency-limit", "ls"],
        &["concurrency-limit", "delete"],
        &["db", "prune"],
    ] {
        let help = ok(dir, &[args, &["--help"]].concat());
        assert!(help.contains("--db <PATH|URL>"), "{args:?}: {help}");
    }
    for args in [&["version"][..], &["config", "view"], &["profile", "ls"], &["config", "set", "a", "b"]] {
        let help = ok(dir, &[args, &["--help"]].concat());
        assert!(!help.contains("--db"), "{args:?}: {help}");
        let err = fails(dir, &[args, &["--db", db]].concat());
        assert!(err.contains("unexpected argument '--db'"), "{args:?}: {err}");
    }
    assert!(!ok(dir, &["--help"]).contains("--db"));
    assert!(ok(dir, &["concurrency-limit", "create", "api", "2", "--db", db]).contains("set to 2"));
    assert_eq!(json(dir, &["concurrency-limit", "ls", "--db", db])[0]["tag"], "api");
    assert!(!dir.join("prefect.db").exists(), "--db was used, not the default");
    let version = ok(dir, &["version"]);
    assert!(version.contains(&format!("database: {}", dir.join("prefect.db").display())), "{version}");
}

/// Every `prefect ...` line of the README's CLI example runs, against a
/// database holding the runs it names; the README says how to install the
/// binary and links nothing outside the repository.
#[test]
fn readme_cli_examples_work() {
    let readme = include_str!("../../README.md");
    assert!(readme.contains("cargo install --path prefect-cli"), "the README says how to install `prefect`");
    assert!(!readme.contains("../"), "the README links a file outside the repository");
    let home = Home::populated();
    let db = home.db();
    let mut events = Events::starting_now();
    let id = FlowRunId("0193ab4f-1c2d-7e3f-8a4b-9600997dad45".parse().unwrap());
    events.push(prefect_model::Event::FlowRunCreated(std::sync::Arc::new(prefect_model::FlowRunRecord {
        id,
        name: "brave-otter".into(),
        flow_name: "etl".into(),
        flow_version: None,
        parameters: serde_json::json!({}),
        tags: std::sync::Arc::from([]),
        parent_flow_run_id: None,
        parent_task_run_id: None,
        created: events.now(),
    })));
    events.lifecycle(id, StateType::Completed);
    events.log(Some(id), None, LogLevel::Info, "hello from the README");
    write(&db, events.take());

    let block = readme.split("```sh\ncargo install --path prefect-cli").nth(1).unwrap();
    let block = block.split("```").next().unwrap();
    let commands: Vec<Vec<String>> = block
        .lines()
        .filter_map(|line| line.split('#').next().unwrap().trim().strip_prefix("prefect "))
        .map(|line| {
            let db = db.to_str().unwrap();
            line.split_whitespace().map(|word| word.replace("/srv/prefect/prefect.db", db)).collect()
        })
        .collect();
    assert!(commands.len() >= 4, "{block}");
    for args in &commands {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = ok(home.dir.path(), &args);
        if args[..2] == ["flow-run", "logs"] {
            assert!(out.contains("hello from the README"), "{out}");
        }
    }
}

#[test]
fn foreign_file_error_names_the_file() {
    let home = Home::empty();
    let db = home.path().join("prefect.db");
    std::fs::write(&db, "this is not sqlite, just some text").unwrap();
    let err = fails(home.path(), &["flow-run", "ls"]);
    assert!(err.starts_with("error: ") && err.contains(&db.display().to_string()), "{err}");
    assert!(err.contains("not a run database"), "{err}");
    assert_eq!(std::fs::read_to_string(&db).unwrap(), "this is not sqlite, just some text");
}

#[test]
fn another_programs_sqlite_file_is_refused_and_left_as_it_was() {
    let home = Home::empty();
    let db = home.path().join("prefect.db");
    {
        let conn = rusqlite::Connection::open(&db).unwrap();
        conn.execute_batch(
            "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT);
             INSERT INTO notes (body) VALUES ('keep me');
             PRAGMA user_version = 2;",
        )
        .unwrap();
    }
    let before = std::fs::read(&db).unwrap();
    for args in [
        &["flow-run", "ls"][..],
        &["task-run", "ls"],
        &["flow", "ls"],
        &["db", "prune", "--older-than", "1d"],
    ] {
        let err = fails(home.path(), args);
        assert!(
            err.contains(&db.display().to_string()) && err.contains("not a run database"),
            "{args:?}: {err}"
        );
    }
    assert_eq!(std::fs::read(&db).unwrap(), before, "not a byte changed");
    let wal = home.path().join("prefect.db-wal");
    assert!(!wal.exists(), "the journal mode was not changed");
    let conn = rusqlite::Connection::open(&db).unwrap();
    let version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0)).unwrap();
    let tables: i64 =
        conn.query_row("SELECT count(*) FROM sqlite_master WHERE type = 'table'", [], |r| r.get(0)).unwrap();
    assert_eq!((version, tables), (2, 1), "no migration ran");
}

#[test]
fn config_view_shows_values_and_sources() {
    let home = Home::empty();
    let output = command(home.path(), &["config", "view", "--show-sources"])
        .env("PREFECT_LOGGING_LEVEL", "debug")
        .output()
        .unwrap();
    let out = stdout(&output);
    assert!(out.contains("PREFECT_LOGGING_LEVEL='DEBUG' (from env PREFECT_LOGGING_LEVEL)"), "{out}");
    assert!(out.contains("PREFECT_TASKS_DEFAULT_RETRIES='0' (from default)"), "{out}");
    let plain = ok(home.path(), &["config", "view"]);
    assert!(plain.contains("PREFECT_PROFILE='default'") && !plain.contains("(from"), "{plain}");
    let entries = json(home.path(), &["config", "view", "--show-sources"]);
    let db = entries.as_array().unwrap().iter().find(|e| e["key"] == "api.database_url").unwrap();
    assert_eq!(db["name"], "PREFECT_API_DATABASE_URL");
    assert_eq!(db["source"], "default");
}

#[test]
fn profiles_and_config_set_unset_round_trip() {
    let home = Home::empty();
    let dir = home.path();
    assert!(ok(dir, &["profile", "create", "dev"]).contains("created profile dev"));
    assert!(fails(dir, &["profile", "create", "dev"]).contains("already exists"));
    assert!(ok(dir, &["profile", "use", "dev"]).contains("now using profile dev"));
    assert_eq!(ok(dir, &["profile", "ls"]), "  default\n* dev\n");
    assert_eq!(json(dir, &["profile", "ls"])[1], serde_json::json!({ "name": "dev", "active": true }));
    assert!(fails(dir, &["profile", "use", "nope"]).contains("nope"));

    let other = dir.join("elsewhere.db");
    let url = format!("sqlite:///{}", other.display());
    assert!(ok(dir, &["config", "set", "PREFECT_API_DATABASE_URL", &url]).contains("in profile dev"));
    let view = ok(dir, &["config", "view", "--show-sources"]);
    assert!(view.contains("(from profile dev in"), "{view}");
    let output = prefect(dir, &["flow-run", "ls"]);
    assert!(stderr(&output).contains(&other.display().to_string()), "the database path follows the profile");
    let err = fails(dir, &["config", "set", "tasks.default_retries", "lots"]);
    assert!(err.contains("tasks.default_retries") && err.contains("whole number"), "{err}");

    assert!(ok(dir, &["config", "unset", "api.database_url"]).contains("unset"));
    assert!(ok(dir, &["config", "unset", "api.database_url"]).contains("is not set"));
    let output = prefect(dir, &["flow-run", "ls"]);
    assert!(stderr(&output).contains(&dir.join("prefect.db").display().to_string()));
}

/// A run database with the deployment `etl/daily` (parameters `months` and
/// `full`) and one run of it due in an hour.
fn with_deployment() -> (tempfile::TempDir, SqliteStore, prefect_store::Deployment) {
    let dir = Home::empty();
    let store = SqliteStore::open(dir.path().join("prefect.db")).unwrap();
    let spec = prefect_store::DeploymentSpec {
        flow_name: "etl".into(),
        name: "daily".into(),
        description: Some("nightly load".into()),
        version: None,
        tags: vec!["etl".into()],
        work_queue: "production".into(),
        labels: Vec::new(),
        parameters: serde_json::json!({ "months": [1], "full": false }),
        parameter_schema: Some(
            serde_json::json!({ "type": "object", "properties": { "months": {}, "full": {} } }),
        ),
        schedules: serde_json::json!([{ "schedule": { "clock": { "cron": { "cron": "0 6 * * *" } } } }]),
        catchup: "all".into(),
        paused: false,
    };
    let deployment = block_on(store.upsert_deployment(&spec)).unwrap();
    let due = chrono::Utc::now() + chrono::TimeDelta::hours(1);
    block_on(store.create_flow_runs(&[queued_run(&deployment, "early-bird", due, true)])).unwrap();
    (dir, store, deployment)
}

fn queued_run(
    deployment: &prefect_store::Deployment,
    name: &str,
    scheduled: chrono::DateTime<chrono::Utc>,
    auto: bool,
) -> prefect_store::NewFlowRun {
    prefect_store::NewFlowRun {
        id: FlowRunId::new(),
        deployment: deployment.id,
        name: name.into(),
        parameters: deployment.spec.parameters.clone(),
        scheduled,
        auto_scheduled: auto,
        parent_flow_run_id: None,
        created: chrono::Utc::now(),
    }
}

#[test]
fn deployment_commands_list_inspect_run_pause_and_delete() {
    let (dir, store, deployment) = with_deployment();
    let home = dir.path();
    let listed = ok(home, &["deployment", "ls"]);
    assert!(listed.lines().nth(1).unwrap().starts_with("etl/daily "), "{listed}");
    assert!(listed.contains("production") && listed.contains("active"), "{listed}");
    let shown = ok(home, &["deployment", "inspect", "etl/daily"]);
    assert!(shown.contains("nightly load") && shown.contains("early-bird"), "{shown}");

    // Parameters: by name, JSON when they read as JSON, merged over the deployment's.
    let error = fails(home, &["deployment", "run", "etl/daily", "-p", "monthz=[3]"]);
    assert!(error.contains("no parameter `monthz`") && error.contains("months"), "{error}");
    let created = json(
        home,
        &["deployment", "run", "etl/daily", "-p", "months=[3,4]", "--param-json", r#"{"full":true}"#],
    );
    let runs = block_on(store.queued_runs(Some(deployment.id), None, 10)).unwrap();
    let run = runs.iter().find(|r| r.id.to_string() == created["id"].as_str().unwrap()).unwrap();
    assert_eq!(run.parameters, serde_json::json!({ "months": [3, 4], "full": true }));
    assert!(run.scheduled <= chrono::Utc::now(), "due now");
    json(home, &["deployment", "run", "etl/daily", "--start-in", "10m"]);
    let runs = block_on(store.queued_runs(Some(deployment.id), None, 10)).unwrap();
    assert_eq!(runs.len(), 3);
    let later =
        runs.iter().filter(|r| r.scheduled > chrono::Utc::now() + chrono::TimeDelta::minutes(9)).count();
    assert_eq!(later, 2, "the hourly run and the one started in 10 minutes");
    assert!(fails(home, &["deployment", "run", "etl/nope"]).contains("known: etl/daily"));

    // Pausing removes the runs its schedules made, not the ones asked for.
    assert!(ok(home, &["deployment", "pause", "etl/daily"]).contains("paused"));
    let listed = json(home, &["deployment", "ls"]);
    assert_eq!(listed[0]["paused"], true);
    let runs = block_on(store.queued_runs(Some(deployment.id), None, 10)).unwrap();
    assert!(runs.iter().all(|r| r.name != "early-bird"), "{runs:?}");
    assert_eq!(runs.len(), 2);
    ok(home, &["deployment", "schedule", "resume", "etl/daily"]);
    assert_eq!(json(home, &["deployment", "schedule", "ls", "etl/daily"])["paused"], false);

    assert!(ok(home, &["deployment", "delete", "etl/daily"]).contains("deleted"));
    assert!(fails(home, &["deployment", "inspect", "etl/daily"]).contains("no deployment `etl/daily`"));
    assert!(block_on(store.queued_runs(None, None, 10)).unwrap().is_empty());
}

#[test]
fn flow_run_cancel_and_retry_change_runs_for_their_workers() {
    let (dir, store, deployment) = with_deployment();
    let home = dir.path();
    let now = chrono::Utc::now() - chrono::TimeDelta::seconds(1);
    let waiting = queued_run(&deployment, "waiting-wren", now, false);
    let running = queued_run(&deployment, "busy-bee", now + chrono::TimeDelta::milliseconds(1), false);
    block_on(store.create_flow_runs(&[waiting.clone(), running.clone()])).unwrap();

    // Not started: cancelled at once; twice: nothing to cancel.
    assert!(ok(home, &["flow-run", "cancel", "waiting-wren"]).contains("cancelled (it had not started)"));
    assert!(fails(home, &["flow-run", "cancel", "waiting-wren"]).contains("nothing to cancel"));

    // Claimed by a worker: Cancelling, listed for the worker's lease.
    let lease = block_on(store.acquire_lease(&prefect_store::LeaseOwner::current(), Duration::from_secs(60)))
        .unwrap();
    let flows = ["etl".to_owned()];
    let claim = prefect_store::ClaimRequest {
        labels: &[],
        queues: &[],
        flows: &flows,
        now: chrono::Utc::now(),
        limit: 1,
        lease: lease.id,
    };
    let claimed = block_on(store.claim_flow_runs(claim)).unwrap();
    assert_eq!(claimed[0].id, running.id);
    assert_eq!(json(home, &["flow-run", "cancel", "busy-bee"])["state"], "Cancelling");
    assert_eq!(block_on(store.cancelling_runs(lease.id)).unwrap(), [running.id]);

    // Retry: a run of a deployment that ended goes back to its queue.
    assert!(
        fails(home, &["flow-run", "retry", "busy-bee"]).contains("only a Failed, Crashed or Cancelled run")
    );
    let failed = StateMeta::new(StateType::Failed).with_message("boom");
    block_on(store.set_flow_run_state(running.id, &failed, &[])).unwrap();
    assert!(ok(home, &["flow-run", "retry", "busy-bee"]).contains("queued again"));
    let queued = block_on(store.queued_runs(Some(deployment.id), None, 10)).unwrap();
    let again = queued.iter().find(|r| r.id == running.id).expect("claimable again");
    assert_eq!(again.state.name, "AwaitingRetry");
    let inspected = ok(home, &["flow-run", "inspect", "busy-bee"]);
    assert!(
        inspected.contains("Deployment etl/daily") && inspected.contains("Queue      production"),
        "{inspected}"
    );

    let plain = Home::populated();
    let error = fails(plain.dir.path(), &["flow-run", "retry", "sad-seal"]);
    assert!(error.contains("not a run of a deployment"), "{error}");
}

#[test]
fn work_queue_and_worker_commands() {
    let (dir, store, _) = with_deployment();
    let home = dir.path();
    assert!(
        ok(home, &["work-queue", "create", "production", "--priority", "2", "--limit", "3"])
            .contains("saved")
    );
    let queues = json(home, &["work-queue", "ls"]);
    assert_eq!(queues[0]["name"], "production");
    assert_eq!((queues[0]["priority"].as_u64(), queues[0]["concurrency_limit"].as_u64()), (Some(2), Some(3)));
    ok(home, &["work-queue", "set-concurrency-limit", "production", "none"]);
    assert_eq!(json(home, &["work-queue", "ls"])[0]["concurrency_limit"], Value::Null);
    assert!(
        fails(home, &["work-queue", "set-concurrency-limit", "production", "many"]).contains("invalid limit")
    );
    ok(home, &["work-queue", "pause", "production"]);
    let shown = ok(home, &["work-queue", "inspect", "production"]);
    assert!(
        shown.contains("paused") && shown.contains("early-bird") && shown.contains("the queue is paused"),
        "{shown}"
    );
    ok(home, &["work-queue", "resume", "production"]);
    let shown = ok(home, &["work-queue", "inspect", "production"]);
    assert!(shown.contains("none alive") && shown.contains("not due yet"), "{shown}");
    let waiting = ok(home, &["flow-run", "inspect", "early-bird"]);
    assert!(waiting.contains("Waiting    not due yet"), "{waiting}");

    let lease = block_on(store.acquire_lease(&prefect_store::LeaseOwner::current(), Duration::from_secs(60)))
        .unwrap();
    let beat = prefect_store::WorkerBeat {
        name: "etl-worker".into(),
        queues: vec!["production".into()],
        flows: vec!["etl".into()],
        labels: Vec::new(),
        lease: lease.id,
        status: "online".into(),
        time: chrono::Utc::now(),
    };
    block_on(store.worker_heartbeat(&beat)).unwrap();
    let workers = ok(home, &["worker", "ls"]);
    assert!(
        workers.contains("etl-worker") && workers.contains("online") && workers.contains("production"),
        "{workers}"
    );
    assert!(ok(home, &["work-queue", "inspect", "production"]).contains("Workers      etl-worker"));
}

#[test]
fn flow_run_resume_resumes_only_a_paused_run() {
    let (dir, store, deployment) = with_deployment();
    let home = dir.path();
    let run = queued_run(&deployment, "patient-owl", chrono::Utc::now(), false);
    block_on(store.create_flow_runs(std::slice::from_ref(&run))).unwrap();
    assert!(
        fails(home, &["flow-run", "resume", "patient-owl"])
            .contains("is Scheduled: only a Paused run is resumed")
    );
    block_on(store.set_flow_run_state(run.id, &StateMeta::new(StateType::Paused), &[])).unwrap();
    assert!(ok(home, &["flow-run", "resume", "patient-owl"]).contains("resumed"));
    let state = block_on(store.inspect_flow_run(run.id, 0)).unwrap().run.state.unwrap();
    assert_eq!(state.state_type, StateType::Running);
    assert!(fails(home, &["flow-run", "resume", "patient-owl", "--input", "{"]).contains("not JSON"));
}

/// One HTTP/1.1 GET to `addr`; the whole response as text.
fn http_get(addr: &str, path: &str, key: Option<&str>) -> String {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    let auth = key.map(|k| format!("Authorization: Bearer {k}\r\n")).unwrap_or_default();
    write!(stream, "GET {path} HTTP/1.1\r\nHost: {addr}\r\n{auth}Connection: close\r\n\r\n").unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    response
}

/// Starts `prefect server start --port 0 ARGS` and reads the address it
/// prints first.
fn start_server(home: &Path, args: &[&str]) -> (std::process::Child, String) {
    use std::io::BufRead;
    let mut all = vec!["server", "start", "--port", "0"];
    all.extend_from_slice(args);
    let mut child =
        command(home, &all).env_remove("PREFECT_SERVER_API_KEY").stdout(Stdio::piped()).spawn().unwrap();
    let mut first = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap()).read_line(&mut first).unwrap();
    let addr = first
        .split("http://")
        .nth(1)
        .and_then(|rest| rest.split("/api").next())
        .unwrap_or_else(|| panic!("no address in {first:?}"))
        .to_owned();
    (child, addr)
}

fn terminate(mut child: std::process::Child) -> std::process::ExitStatus {
    let pid = child.id().to_string();
    assert!(Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    child.wait().unwrap()
}

#[test]
fn server_start_serves_the_run_database_until_sigterm() {
    let home = Home::populated();
    let (child, addr) = start_server(home.dir.path(), &[]);
    assert!(addr.starts_with("127.0.0.1:"), "{addr}");
    let response = http_get(&addr, "/api/flow_runs?state=failed", None);
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.contains(&home.failed.0.to_string()), "{response}");
    assert!(!response.contains(&home.completed.0.to_string()), "{response}");
    assert!(terminate(child).success());
}

#[test]
fn with_prefect_api_url_the_commands_ask_the_server() {
    let home = Home::populated();
    let (child, addr) = start_server(home.dir.path(), &[]);
    let client = Home::empty();
    let api = format!("http://{addr}/api");
    let run = |args: &[&str]| command(client.path(), args).env("PREFECT_API_URL", &api).output().unwrap();

    let out = run(&["flow-run", "ls"]);
    let listed = stdout(&out);
    assert!(out.status.success() && listed.contains("sad-seal") && listed.contains("happy-hen"), "{listed}");
    // Names and prefixes are resolved by the server.
    let out = stdout(&run(&["flow-run", "inspect", "happy-hen"]));
    assert!(out.contains(&format!("Id         {}\n", home.completed)), "{out}");
    let prefix = &home.failed.to_string()[..30];
    let out = stdout(&run(&["flow-run", "logs", prefix]));
    assert!(out.contains("starting etl") && out.contains("load blew up"), "{out}");
    // What the API does not offer yet is refused, naming the server.
    let refused = run(&["db", "prune", "--older-than", "1d"]);
    assert!(!refused.status.success());
    assert!(
        stderr(&refused).contains(&format!("not available on the server at `{api}`")),
        "{}",
        stderr(&refused)
    );
    assert!(!client.path().join("prefect.db").exists(), "the client opened no database of its own");
    // The server itself serves its database even with PREFECT_API_URL set.
    let (second, second_addr) = {
        use std::io::BufRead;
        let mut child = command(home.dir.path(), &["server", "start", "--port", "0"])
            .env("PREFECT_API_URL", &api)
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut first = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap()).read_line(&mut first).unwrap();
        assert!(first.contains(&home.db().display().to_string()), "{first}");
        (child, first)
    };
    assert!(second_addr.contains("serving the API"), "{second_addr}");
    assert!(terminate(second).success());
    assert!(terminate(child).success());
}

#[test]
fn server_start_beyond_loopback_needs_a_key_and_then_checks_it() {
    let home = Home::populated();
    let refused = fails(home.dir.path(), &["server", "start", "--host", "0.0.0.0", "--port", "0"]);
    assert!(refused.contains("API key") && refused.contains("0.0.0.0"), "{refused}");

    let missing = home.dir.path().join("no-such-key");
    let error = fails(home.dir.path(), &["server", "start", "--api-key-file", missing.to_str().unwrap()]);
    assert!(error.contains("no-such-key"), "{error}");

    let key_file = home.dir.path().join("api-key");
    std::fs::write(&key_file, "k3y\n").unwrap();
    let (child, addr) = start_server(home.dir.path(), &["--api-key-file", key_file.to_str().unwrap()]);
    assert!(http_get(&addr, "/api/flows", None).starts_with("HTTP/1.1 401"));
    assert!(http_get(&addr, "/api/flows", Some("k3y-not")).starts_with("HTTP/1.1 401"));
    let allowed = http_get(&addr, "/api/flows", Some("k3y"));
    assert!(allowed.starts_with("HTTP/1.1 200") && allowed.contains("\"etl\""), "{allowed}");
    assert!(terminate(child).success());
}
