use prefect::prelude::*;

#[task]
async fn double(x: u64) -> u64 {
    x * 2
}

#[flow]
async fn pipeline() -> Result<u64, prefect::Error> {
    double(1.5).await
}

fn main() {}
