//! An argument that is not `Serialize` can be left out of a key that hashes the inputs.

use prefect::prelude::*;

struct Client;

#[task(cache_key = input_hash(exclude = ["client"]), cache_expiration = "10m")]
async fn fetch(client: Client, url: String) -> String {
    let _ = client;
    url
}

// A key without the inputs needs no `Serialize` arguments at all.
#[task(cache_key = task_source + run_id)]
async fn ping(client: Client) -> bool {
    let _ = client;
    true
}

fn main() {
    let _call: TaskCall<String> = fetch(Client, "https://example.invalid".to_owned());
    let _call: TaskCall<bool> = ping(Client);
}
