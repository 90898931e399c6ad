use prefect::prelude::*;

struct Client;

struct Session;

#[task(cache_key = input_hash)]
async fn fetch(client: Client, url: String) -> String {
    let _ = client;
    url
}

#[task(cache_key = default)]
async fn login(session: Session) -> bool {
    let _ = session;
    true
}

fn main() {}
