use prefect::prelude::*;

#[task(retries = -1)]
async fn fetch(url: String) -> String {
    url
}

#[task(retry_jitter = -0.5)]
async fn jittery() {}

fn main() {}
