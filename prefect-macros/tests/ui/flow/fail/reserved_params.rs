use prefect::prelude::*;

#[flow]
fn etl(return_state: bool) -> bool {
    return_state
}

fn main() {}
