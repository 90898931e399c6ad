use prefect::prelude::*;

#[task(retries = 1, retry_delay = "2 parsecs")]
async fn fetch(url: String) -> String {
    url
}

#[task(timeout = "0s")]
async fn instant() {}

#[task(retry_delay = 5)]
async fn unitless() {}

fn main() {}
