use prefect::prelude::*;

struct Client;

#[task(retries = 1, persist_result = true)]
async fn connect(url: String) -> Result<Client, std::io::Error> {
    let _ = url;
    Ok(Client)
}

fn main() {}
