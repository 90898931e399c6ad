use prefect::prelude::*;

#[task(retries = 2, name = "fetch", retries = 3)]
async fn fetch(url: String) -> String {
    url
}

fn main() {}
