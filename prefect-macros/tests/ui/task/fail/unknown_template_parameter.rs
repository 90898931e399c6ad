use prefect::prelude::*;

#[task(result_storage_key = "{parameters.town}/{parameters[city]}.json", target = "{parameters.x}")]
async fn weather(city: String, day: u32) -> String {
    let _ = day;
    city
}

#[task(target = "{parameters.x}")]
async fn tick() {}

fn main() {}
