use prefect::prelude::*;

#[task]
async fn fetch(wait_for: Vec<String>, return_state: bool) -> usize {
    wait_for.len() + usize::from(return_state)
}

fn main() {}

#[task]
async fn count(count: u32) -> u32 {
    count
}
