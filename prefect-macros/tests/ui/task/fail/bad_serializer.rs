use prefect::prelude::*;

#[task(result_serializer = "xml")]
async fn fetch(url: String) -> String {
    url
}

#[task(result_serializer = "zstd+yaml")]
async fn compressed() {}

#[task(result_serializer = json)]
async fn unquoted() {}

fn main() {}
