//! Checks of log queries.

use std::time::Duration;

use prefect_model::LogLevel;

use super::{Events, write};
use crate::{LogFilter, Store};

fn messages(entries: &[crate::LogEntry]) -> Vec<&str> {
    entries.iter().map(|e| e.record.message.as_str()).collect()
}

pub(super) async fn reads_logs_by_run(store: &dyn Store) {
    let mut events = Events::starting_now();
    let run = events.flow_run("etl", "a");
    let task = events.task_run(Some(run), "fetch");
    let alone = events.task_run(None, "standalone");
    events.log(Some(run), None, LogLevel::Info, "flow starts");
    events.log(Some(run), Some(task), LogLevel::Debug, "fetching ✓");
    events.log(None, Some(alone), LogLevel::Warning, "alone");
    events.log(Some(run), None, LogLevel::Info, "flow ends");
    write(store, &mut events).await;

    let all = store.logs(&LogFilter::of(run)).await.unwrap();
    assert_eq!(messages(&all), ["flow starts", "fetching ✓", "flow ends"]);
    let flow_only = store.logs(&LogFilter::of(run).flow_only()).await.unwrap();
    assert_eq!(messages(&flow_only), ["flow starts", "flow ends"]);
    let of_task = store.logs(&LogFilter::of(task)).await.unwrap();
    assert_eq!(messages(&of_task), ["fetching ✓"]);
    let record = &of_task[0].record;
    assert_eq!(record.level, LogLevel::Debug);
    assert_eq!(record.target, "conformance");
    assert_eq!(record.flow_run_id, Some(run));
    assert_eq!(record.task_run_id, Some(task));
    assert!(record.fields.contains_key("line"));
    assert_eq!(messages(&store.logs(&LogFilter::of(alone)).await.unwrap()), ["alone"]);
}

pub(super) async fn follows_logs_with_cursor(store: &dyn Store) {
    let mut events = Events::starting_now();
    let run = events.flow_run("etl", "a");
    for i in 0..5 {
        events.log(Some(run), None, LogLevel::Info, &format!("line {i}"));
    }
    write(store, &mut events).await;
    let first = store.logs(&LogFilter::of(run).limit(3)).await.unwrap();
    assert_eq!(messages(&first), ["line 0", "line 1", "line 2"]);
    let cursor = first[2].cursor;
    let rest = store.logs(&LogFilter::of(run).after(cursor)).await.unwrap();
    assert_eq!(messages(&rest), ["line 3", "line 4"]);
    let cursor = rest[1].cursor;
    assert!(store.logs(&LogFilter::of(run).after(cursor)).await.unwrap().is_empty());
    events.log(Some(run), None, LogLevel::Info, "late line");
    write(store, &mut events).await;
    let late = store.logs(&LogFilter::of(run).after(cursor)).await.unwrap();
    assert_eq!(messages(&late), ["late line"]);
    assert!(late[0].cursor > cursor);
}

pub(super) async fn filters_logs(store: &dyn Store) {
    let mut events = Events::starting_now();
    let run = events.flow_run("etl", "a");
    events.log(Some(run), None, LogLevel::Debug, "debug");
    events.log(Some(run), None, LogLevel::Error, "error early");
    events.advance(Duration::from_secs(1));
    let since = events.now();
    events.log(Some(run), None, LogLevel::Info, "info");
    events.log(Some(run), None, LogLevel::Warning, "warn");
    write(store, &mut events).await;

    let warn_up = store.logs(&LogFilter::of(run).min_level(LogLevel::Warning)).await.unwrap();
    assert_eq!(messages(&warn_up), ["error early", "warn"]);
    let recent = store.logs(&LogFilter::of(run).since(since)).await.unwrap();
    assert_eq!(messages(&recent), ["info", "warn"]);
}
