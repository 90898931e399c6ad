use prefect::prelude::*;

#[task(task_run_name = "fetch-{urll}")]
async fn fetch(url: String, page: u32) -> String {
    format!("{url}{page}")
}

#[task(task_run_name = "fetch-{")]
async fn unmatched(url: String) -> String {
    url
}

fn main() {}
