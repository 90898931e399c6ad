use prefect::prelude::*;

fn my_key(_: &prefect::context::TaskRunContext, _: &prefect::results::CacheInputs) -> Option<String> {
    None
}

#[task(cache_key = input_hash + my_key)]
async fn combined(url: String) -> String {
    url
}

#[task(cache_key = none + inputs)]
async fn none_and_more(url: String) -> String {
    url
}

#[task(cache_key = default(exclude = ["url"]))]
async fn default_excludes(url: String) -> String {
    url
}

#[task(cache_key = input_hash + inputs(exclude = ["url"]))]
async fn inputs_twice(url: String) -> String {
    url
}

#[task(cache_key = my_key())]
async fn called(url: String) -> String {
    url
}

#[task(cache_key = input_hsh(exclude = ["url"]))]
async fn misspelled(url: String) -> String {
    url
}

fn main() {}
