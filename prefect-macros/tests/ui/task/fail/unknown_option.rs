use prefect::prelude::*;

#[task(retires = 3)]
async fn fetch(url: String) -> String {
    url
}

fn main() {}
