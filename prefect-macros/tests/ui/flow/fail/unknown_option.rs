use prefect::prelude::*;

#[flow(task_run_name = "x", persist_result = true)]
async fn etl() {}

fn main() {}
