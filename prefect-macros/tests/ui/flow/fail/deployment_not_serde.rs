//! A flow with a parameter that is not a serde type cannot be deployed.
use prefect::prelude::*;

struct Connection;

#[flow]
async fn sync_rows(connection: Connection, table: String) -> usize {
    let _ = (connection, table);
    0
}

fn main() {
    let _ = sync_rows::deployment("nightly");
}
