use prefect::prelude::*;

#[derive(serde::Serialize)]
struct Report {
    lines: Vec<String>,
}

// `Report` is `Serialize` but not `Deserialize`: a cached run could not read it back.
#[task(name = "report", cache_key = task_source + run_id, cache_expiration = "1h")]
fn report() -> Report {
    Report { lines: Vec::new() }
}

fn main() {}
