use prefect::prelude::*;

#[flow(cache_key = input_hash, persist_result = true, target = "x", refresh_cache = true)]
async fn etl(day: String) -> String {
    day
}

fn main() {}
