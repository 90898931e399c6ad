//! `parameters = Name` generates a serde struct of the flow's parameters.
use prefect::prelude::*;

#[derive(serde::Serialize, serde::Deserialize, Debug, Clone)]
struct Window {
    from: String,
}

#[flow(parameters = EtlParams)]
async fn etl(months: Vec<u32>, window: Window, full: bool) -> usize {
    let _ = (window, full);
    months.len()
}

fn main() {
    let params = EtlParams { months: vec![1, 2], window: Window { from: "2026-01-01".into() }, full: false };
    let spec = etl::deployment("daily").parameters(params).spec().unwrap();
    assert_eq!(spec.parameters["months"], serde_json::json!([1, 2]));
    let back: EtlParams = serde_json::from_value(spec.parameters).unwrap();
    assert_eq!(back.window.from, "2026-01-01");
}
