use prefect::prelude::*;

#[flow(name = "etl/daily")]
async fn etl() {}

#[flow(name = "a<b>")]
async fn angled() {}

fn main() {}
