//! A parameters struct needs every parameter to be a serde type: the error points at it.
use prefect::prelude::*;

struct Connection;

#[flow(parameters = SyncParams)]
async fn sync_rows(connection: Connection, table: String) -> usize {
    let _ = (connection, table);
    0
}

fn main() {}
