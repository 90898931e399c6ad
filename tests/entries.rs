//! Flows started by name with JSON parameters: what deployments and
//! workers build on.

use prefect::prelude::*;
use prefect::{FlowRegistry, StateType};
use serde::{Deserialize, Serialize};
use serde_json::json;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Window {
    start: String,
    days: u32,
}

#[flow]
async fn load(
    months: Vec<u32>,
    window: Window,
    ratio: f64,
    dry_run: Option<bool>,
) -> Result<String, prefect::Error> {
    Ok(format!("{months:?} from {} for {} days at {ratio}, dry run {dry_run:?}", window.start, window.days))
}

/// A flow whose parameter is not a serde type: callable from Rust, not by name.
struct Connection;

#[flow]
async fn with_connection(connection: Connection) -> u32 {
    let Connection = connection;
    1
}

#[flow]
async fn nothing_to_pass() -> u32 {
    7
}

fn registry() -> FlowRegistry {
    FlowRegistry::new().with(load::entry()).with(nothing_to_pass::entry())
}

#[tokio::test]
async fn a_flow_started_by_name_gets_typed_arguments_and_records_them_losslessly() {
    let harness = prefect::testing::harness();
    let parameters =
        json!({ "months": [1, 2], "window": { "start": "2024-06-01", "days": 30 }, "ratio": 0.125 });
    let call = registry().call("load", parameters.clone()).unwrap();
    let value = harness.run(call).await.unwrap();
    assert_eq!(value, json!("[1, 2] from 2024-06-01 for 30 days at 0.125, dry run None"));
    let run = &harness.flow_runs()[0];
    assert_eq!(run.record.flow_name, "load");
    let mut expected = parameters;
    expected["dry_run"] = json!(null);
    assert_eq!(run.record.parameters, expected);
    assert_eq!(run.state().unwrap().state_type, StateType::Completed);
}

#[tokio::test]
async fn bad_parameters_name_the_field_and_nothing_runs() {
    let h = prefect::testing::harness();
    h.run(async {
        let bad = [
            (json!({ "months": "june", "window": { "start": "x", "days": 1 }, "ratio": 1.0 }), "months"),
            (json!({ "months": [1], "window": { "start": "x" }, "ratio": 1.0 }), "window"),
            (json!({ "months": [1], "window": { "start": "x", "days": 1 } }), "ratio"),
            (
                json!({ "months": [1], "window": { "start": "x", "days": 1 }, "ratio": 1.0, "mnths": [] }),
                "mnths",
            ),
        ];
        for (parameters, field) in bad {
            let error = registry().call("load", parameters).unwrap_err();
            match &error {
                prefect::Error::InvalidParameters { flow, field: Some(named), .. } => {
                    assert_eq!((flow.as_str(), named.as_str()), ("load", field), "{error}");
                }
                other => panic!("expected invalid parameters, got {other:?}"),
            }
            assert!(error.to_string().contains(&format!("`{field}`")), "{error}");
        }
    })
    .await;
    // Not a count of bodies: other tests in this binary run `load` at the same time.
    assert!(h.flow_runs().is_empty() && h.task_runs().is_empty(), "nothing ran");
}

#[tokio::test]
async fn registry_lookups() {
    let registry = registry();
    assert_eq!(registry.names().collect::<Vec<_>>(), ["load", "nothing-to-pass"]);
    assert_eq!(registry.get("load").unwrap().parameters(), ["months", "window", "ratio", "dry_run"]);
    let harness = prefect::testing::harness();
    let value = harness.run(registry.call("nothing-to-pass", json!(null)).unwrap()).await.unwrap();
    assert_eq!(value, json!(7));
    let unknown = registry.call("lod", json!({})).unwrap_err();
    assert!(matches!(unknown, prefect::Error::UnknownFlow { .. }));
    assert_eq!(unknown.to_string(), "no flow named `lod` is registered (registered: load, nothing-to-pass)");
}

#[tokio::test]
async fn flows_with_other_parameters_still_run_when_called_from_rust() {
    let harness = prefect::testing::harness();
    assert_eq!(harness.run(with_connection(Connection)).await.unwrap(), 1);
}
