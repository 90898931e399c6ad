use prefect::prelude::*;

#[flow]
async fn etl<'a>(name: String) -> String where String: Clone {
    name
}

fn main() {}
