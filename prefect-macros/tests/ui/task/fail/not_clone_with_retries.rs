use prefect::prelude::*;

struct Connection;

#[task(retries = 2)]
async fn query(conn: Connection, sql: String) -> usize {
    let _ = conn;
    sql.len()
}

fn main() {}
