//! `cache_key = path` caches under the key a fn computes from the run and the inputs.

use prefect::prelude::*;

fn key(_: &prefect::context::TaskRunContext, inputs: &prefect::results::CacheInputs) -> Option<String> {
    let city: String = inputs.parse("city")?;
    Some(format!("weather/{city}"))
}

mod keys {
    pub fn by_day(_: &prefect::context::TaskRunContext, inputs: &prefect::results::CacheInputs) -> Option<String> {
        inputs.get("day").map(|day| day.to_string())
    }
}

// A custom fn sees non-`Serialize` arguments as their type name: no bound on them.
struct Client;

#[task(cache_key = key)]
async fn weather(city: String, day: u32, client: Client) -> String {
    let _ = (day, client);
    city
}

#[task(cache_key = keys::by_day, result_storage_key = "weather/{parameters.day}.json")]
fn by_day(day: u32) -> u32 {
    day
}

fn main() {
    assert!(format!("{:?}", weather::task().options()).contains("key_fn: true"));
    assert!(format!("{:?}", by_day::task().options()).contains("key_fn: true"));
    let _call: TaskCall<String> = weather("Oslo".to_owned(), 1, Client);
}
