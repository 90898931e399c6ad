use prefect::prelude::*;

#[task]
struct Fetch;

fn main() {}
