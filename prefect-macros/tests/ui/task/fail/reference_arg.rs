use prefect::prelude::*;

#[task]
async fn fetch(url: &str, buf: &mut Vec<u8>, items: &[u32]) -> usize {
    url.len() + buf.len() + items.len()
}

fn main() {}
