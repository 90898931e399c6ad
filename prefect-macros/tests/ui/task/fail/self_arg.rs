use prefect::prelude::*;

struct Client;

impl Client {
    #[task]
    async fn fetch(&self, url: String) -> String {
        url
    }
}

fn main() {}
