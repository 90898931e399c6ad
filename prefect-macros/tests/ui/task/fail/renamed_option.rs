use prefect::prelude::*;

#[task(retry_delay_seconds = 10, timeout_seconds = 30)]
async fn fetch(url: String) -> String {
    url
}

fn main() {}
