use prefect::prelude::*;

#[flow(result_storage_key = "{flow_name}/{task_name}-{map_index}/{parameters.day}.json")]
async fn etl(date: String) -> String {
    date
}

fn main() {}
