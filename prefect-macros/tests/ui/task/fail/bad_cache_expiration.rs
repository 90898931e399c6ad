use prefect::prelude::*;

#[task(cache_key = inputs, cache_expiration = "0s")]
async fn fetch(url: String) -> String {
    url
}

#[task(cache_expiration = "1 fortnight")]
async fn later() {}

#[task(cache_expiration = 3600)]
async fn unitless() {}

fn main() {}
