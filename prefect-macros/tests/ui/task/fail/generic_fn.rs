use prefect::prelude::*;

#[task]
async fn fetch<T: Send + 'static>(value: T) -> T {
    value
}

#[task]
async fn show(value: impl std::fmt::Display) -> String {
    value.to_string()
}

fn main() {}
