use prefect::{flow, task};

#[flow(flow_run_name = "etl-{date}")]
async fn etl(day: String) -> String {
    day
}

#[task]
async fn unused() {}

fn main() {}
