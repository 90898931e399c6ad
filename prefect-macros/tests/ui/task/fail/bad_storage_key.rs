use prefect::prelude::*;

#[task(result_storage_key = "{flow}/{task_name}.json")]
async fn fetch(url: String) -> String {
    url
}

#[task(result_storage_key = "../{task_name}")]
async fn escapes() {}

#[task(result_storage_key = "{date:%Q}/x")]
async fn bad_date() {}

fn main() {}
