use prefect::prelude::*;

#[task(cache_key = input_hash(exclude = ["clinet", "url"]))]
async fn fetch(client: String, url: String) -> String {
    let _ = client;
    url
}

fn main() {}
