use std::rc::Rc;

use prefect::prelude::*;

async fn yield_now() {}

#[task]
async fn fetch(url: String) -> usize {
    let local = Rc::new(url);
    yield_now().await;
    local.len()
}

fn main() {}
