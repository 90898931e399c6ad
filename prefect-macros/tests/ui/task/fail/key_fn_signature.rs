use prefect::prelude::*;

fn by_url(url: &str) -> String {
    url.to_owned()
}

#[task(cache_key = by_url)]
async fn fetch(url: String) -> String {
    url
}

fn main() {}
