use prefect::prelude::*;

#[task(retries = -1, timeout = "soon", bogus = 1)]
async fn fetch(url: &str, wait_for: u32) -> String {
    format!("{url}{wait_for}")
}

fn main() {}
