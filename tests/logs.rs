//! Run logs: tracing events inside runs are recorded with their run ids,
//! and the console shows them in Prefect's shape.

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

use prefect::prelude::*;
use prefect::record::LogLevel;
use prefect::testing;
use tracing_subscriber::layer::SubscriberExt;

/// Console output of this test binary, captured.
#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl Write for Buffer {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Installs a subscriber like prefect's default one, writing to a buffer.
fn console() -> &'static Buffer {
    static BUFFER: OnceLock<Buffer> = OnceLock::new();
    BUFFER.get_or_init(|| {
        let buffer = Buffer::default();
        let writer = buffer.clone();
        let console = tracing_subscriber::fmt::layer()
            .event_format(prefect::logging::ConsoleFormat)
            .with_writer(move || writer.clone());
        let subscriber = tracing_subscriber::registry()
            .with(tracing_subscriber::filter::LevelFilter::INFO)
            .with(console)
            .with(prefect::logging::layer());
        tracing::subscriber::set_global_default(subscriber).unwrap();
        buffer
    })
}

#[task]
async fn load(rows: u32) -> u32 {
    tracing::info!(rows, table = "events", "loading rows");
    tracing::debug!("below the level: not recorded");
    tracing::warn!("slow disk");
    rows
}

#[flow]
async fn nightly() -> Result<u32, prefect::Error> {
    tracing::info!("starting");
    load(3).await
}

#[tokio::test]
async fn events_inside_runs_are_that_runs_logs() {
    let out = console();
    let h = testing::harness();
    h.run(nightly()).await.unwrap();
    tracing::info!("outside any run");

    let flow = &h.flow_runs()[0];
    let task = &h.task_runs()[0];
    let task_logs = h.logs(task.id);
    let loading = task_logs.iter().find(|l| l.message == "loading rows").unwrap();
    assert_eq!(loading.level, LogLevel::Info);
    assert_eq!(loading.fields["rows"], 3);
    assert_eq!(loading.fields["table"], "events");
    assert_eq!(loading.task_run_id, Some(task.id));
    assert_eq!(loading.flow_run_id, Some(flow.id));
    assert!(task_logs.iter().any(|l| l.level == LogLevel::Warning && l.message == "slow disk"));
    assert!(!task_logs.iter().any(|l| l.message.contains("below the level")));
    assert!(
        task_logs.iter().any(|l| l.message == "Finished in state Completed()"),
        "the engine's own lines are run logs"
    );

    let flow_logs: Vec<String> = h.logs(flow.id).into_iter().map(|l| l.message).collect();
    assert!(flow_logs.contains(&"starting".to_string()));
    assert!(flow_logs.iter().any(|m| m.starts_with("Beginning flow run '")));
    assert!(!flow_logs.contains(&"loading rows".to_string()), "task lines belong to the task run");
    assert!(!h.all_logs().iter().any(|l| l.message == "outside any run"));

    let text = String::from_utf8(out.0.lock().unwrap().clone()).unwrap();
    let line = text.lines().find(|l| l.contains("loading rows")).unwrap();
    // 12:00:01.123 | INFO    | Task run 'load-3f2' - loading rows rows=3 table="events"
    let parts: Vec<&str> = line.splitn(3, " | ").collect();
    assert_eq!(parts[0].len(), "12:00:01.123".len(), "{line}");
    assert_eq!(parts[1], "INFO   ");
    assert!(parts[2].starts_with(&format!("Task run '{}' - loading rows", task.name)), "{line}");
    assert!(text.contains(&format!("Flow run '{}' - Finished in state Completed()", flow.name)), "{text}");
    assert!(text.lines().any(|l| l.contains("| WARNING | Task run")), "{text}");
}

#[task(log_prints = true)]
async fn chatty_task(n: u32) -> u32 {
    prefect::println!("row {n} of {}", 3);
    prefect::print!("no newline");
    n
}

#[task]
async fn inheriting(n: u32) -> u32 {
    prefect::println!("inherited {n}");
    n
}

#[task(log_prints = false)]
async fn opting_out(n: u32) -> u32 {
    prefect::println!("to stdout {n}");
    n
}

#[flow(log_prints = true)]
async fn printing_flow() -> Result<u32, prefect::Error> {
    prefect::println!("from the flow");
    Ok(inheriting(1).await? + opting_out(2).await?)
}

fn messages(h: &testing::Harness, id: impl Into<prefect::RunId>) -> Vec<(String, String)> {
    h.logs(id).into_iter().map(|l| (l.target, l.message)).collect()
}

#[tokio::test]
async fn log_prints_turns_a_runs_prints_into_its_logs() {
    console();
    let h = testing::harness();
    h.run(chatty_task(7)).await.unwrap();
    let task = &h.task_runs_of("chatty_task")[0];
    let logs = messages(&h, task.id);
    let print = prefect::logging::PRINT_TARGET.to_owned();
    assert!(logs.contains(&(print.clone(), "row 7 of 3".into())), "{logs:?}");
    assert!(logs.contains(&(print.clone(), "no newline".into())), "{logs:?}");

    h.run(printing_flow()).await.unwrap();
    let flow = h.flow_runs().into_iter().find(|f| f.flow_name.starts_with("printing")).unwrap();
    assert!(messages(&h, flow.id).contains(&(print.clone(), "from the flow".into())));
    let inner = &h.task_runs_of("inheriting")[0];
    assert!(
        messages(&h, inner.id).contains(&(print.clone(), "inherited 1".into())),
        "a task inherits its flow's choice"
    );
    let out = &h.task_runs_of("opting_out")[0];
    assert!(!messages(&h, out.id).iter().any(|(t, _)| *t == print), "its own option wins");
}

#[tokio::test]
async fn the_log_prints_setting_is_the_default() {
    console();
    let h = testing::harness();
    let mut settings =
        prefect::settings::Settings::defaults(std::env::temp_dir().join("unused-prefect-home"));
    settings.logging_log_prints = true;
    let env = prefect::env::Env::new().recorder(h.recorder()).settings(settings);
    env.run(inheriting(5)).await.unwrap();
    let run = &h.task_runs_of("inheriting")[0];
    assert!(messages(&h, run.id).contains(&(prefect::logging::PRINT_TARGET.into(), "inherited 5".into())));
    // Off by default: the same task prints to stdout.
    h.run(inheriting(6)).await.unwrap();
    let run = h.task_runs_of("inheriting").into_iter().find(|r| r.id != run.id).unwrap();
    assert!(!messages(&h, run.id).iter().any(|(_, m)| m == "inherited 6"));
}

#[task]
async fn with_logger() -> Result<(), prefect::Error> {
    let logger = prefect::get_run_logger()?;
    logger.warning("disk at 91%");
    // Lines from spawned work still belong to this run.
    tokio::spawn(async move { logger.info("from a spawned future") }).await.unwrap();
    prefect::info!(rows = 2u32, "via the macro");
    Ok(())
}

#[tokio::test]
async fn the_run_logger_logs_to_its_run_from_anywhere() {
    console();
    let h = testing::harness();
    h.run(with_logger()).await.unwrap();
    let run = &h.task_runs_of("with_logger")[0];
    let logs = h.logs(run.id);
    assert!(logs.iter().any(|l| l.level == LogLevel::Warning && l.message == "disk at 91%"), "{logs:?}");
    assert!(logs.iter().any(|l| l.message == "from a spawned future"), "{logs:?}");
    assert!(logs.iter().any(|l| l.message == "via the macro" && l.fields["rows"] == 2), "{logs:?}");
    let err = prefect::get_run_logger().unwrap_err();
    assert!(err.to_string().contains("only available inside a flow or task run"), "{err}");
}

#[task]
async fn square_or_fail(n: u32) -> Result<u32, String> {
    if n % 7 == 3 { Err(format!("{n} is unlucky")) } else { Ok(n * n) }
}

#[flow]
async fn mapping_with_progress() -> usize {
    square_or_fail::map((0..20).collect::<Vec<u32>>()).await.iter().filter(|r| r.is_ok()).count()
}

#[tokio::test]
async fn with_progress_on_a_map_prints_a_summary_instead_of_each_completed_run() {
    let console = console();
    let h = testing::harness();
    let mut settings =
        prefect::settings::Settings::defaults(std::env::temp_dir().join("unused-prefect-home"));
    settings.logging_progress = Some(true);
    let env = prefect::env::Env::new().recorder(h.recorder()).settings(settings);
    assert_eq!(env.run(mapping_with_progress()).await.unwrap(), 17);

    let flow = h.flow_runs().into_iter().find(|f| f.flow_name.starts_with("mapping")).unwrap();
    let summary = "Map of 'square_or_fail' finished: 20 task runs in ";
    let flow_logs = messages(&h, flow.id);
    let line = flow_logs.iter().find(|(_, m)| m.starts_with(summary)).expect("the flow logs a summary");
    assert!(line.1.ends_with(" - 17 Completed, 3 Failed"), "{line:?}");
    // Each completed child still has its line in its own logs.
    let children = h.task_runs_of("square_or_fail");
    assert_eq!(children.len(), 20);
    for child in children.iter().filter(|c| c.state().is_some_and(|s| s.state_type == StateType::Completed)) {
        assert!(messages(&h, child.id).iter().any(|(_, m)| m == "Finished in state Completed()"));
    }

    let text = String::from_utf8(console.0.lock().unwrap().clone()).unwrap();
    let child_lines: Vec<&str> = text.lines().filter(|l| l.contains("Task run 'square_or_fail-")).collect();
    assert!(!child_lines.iter().any(|l| l.contains("Completed()")), "{child_lines:#?}");
    assert_eq!(
        child_lines.iter().filter(|l| l.contains("Finished in state Failed")).count(),
        3,
        "{child_lines:#?}"
    );
    let summary_at = text.find(summary).expect("the summary is on the console");
    let flow_done = format!("Flow run '{}' - Finished in state Completed()", flow.name);
    assert!(
        text.find(&flow_done).is_some_and(|end| end > summary_at),
        "the summary comes before the flow's end:\n{text}"
    );
}
