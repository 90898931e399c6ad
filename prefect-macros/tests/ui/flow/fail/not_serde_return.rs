use prefect::prelude::*;

struct Connection;

#[flow(result_serializer = "json", persist_result = true)]
async fn connect() -> Connection {
    Connection
}

fn main() {}
