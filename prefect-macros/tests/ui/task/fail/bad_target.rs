use prefect::prelude::*;

#[task(target = "out/{task_name")]
async fn fetch(url: String) -> String {
    url
}

fn main() {}
