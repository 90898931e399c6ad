use prefect::prelude::*;

#[flow(task_run_name = "x", cache_key = inputs)]
async fn etl() {}

fn main() {}
