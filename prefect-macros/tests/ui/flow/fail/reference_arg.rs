use prefect::prelude::*;

#[flow]
async fn etl(urls: &[String], client: &'static str) -> usize {
    urls.len() + client.len()
}

fn main() {}
