//! A flow records its arguments as JSON parameters: `Serialize` types as themselves,
//! others as a placeholder naming the type. Sync flows and every return shape work.

use prefect::prelude::*;
use serde::Serialize;

#[derive(Debug, Clone, Serialize)]
struct Window {
    days: u32,
}

#[derive(Debug)]
struct Connection;

#[flow(flow_run_name = "etl-{day}")]
async fn etl(day: String, window: Window, conn: Connection) -> Vec<State<u32>> {
    let _ = conn;
    vec![State::completed(window.days), State::completed(day.len() as u32)]
}

#[flow]
fn sync_flow(n: u64) -> State<u64> {
    State::completed(n)
}

#[flow]
fn unit_flow() {}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    // A pass case must print nothing: trybuild shows a program\'s output.
    prefect::logging::init_with_level("off").unwrap();
    let harness = prefect::testing::harness();
    let out = harness.run(etl("mon".to_owned(), Window { days: 7 }, Connection)).await.unwrap();
    assert_eq!(out, vec![7, 3]);
    let run = &harness.flow_runs_of("etl")[0];
    assert_eq!(run.record.name, "etl-mon");
    assert_eq!(run.record.parameters["day"], "mon");
    assert_eq!(run.record.parameters["window"]["days"], 7);
    assert!(run.record.parameters["conn"].as_str().unwrap().contains("Connection"));
    assert_eq!(harness.run(sync_flow(4)).await.unwrap(), 4);
    harness.run(unit_flow()).await.unwrap();
}
