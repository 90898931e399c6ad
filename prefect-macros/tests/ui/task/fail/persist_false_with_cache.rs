use prefect::prelude::*;

#[task(persist_result = false, cache_key = inputs)]
async fn fetch(url: String) -> String {
    url
}

#[task(refresh_cache = true, persist_result = false)]
async fn refresh() {}

fn main() {}
