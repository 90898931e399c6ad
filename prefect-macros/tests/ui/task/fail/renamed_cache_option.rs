use prefect::prelude::*;

fn my_key(_: &prefect::context::TaskRunContext, _: &prefect::results::CacheInputs) -> Option<String> {
    None
}

#[task(cache_key_fn = my_key, cache_policy = inputs, result_serialiser = "json")]
async fn fetch(url: String) -> String {
    url
}

fn main() {}
