//! A plain `fn` becomes a task run on the blocking pool; `call_direct` stays sync.

use prefect::prelude::*;

#[task(retries = 1)]
fn checksum(bytes: Vec<u8>) -> u64 {
    bytes.iter().map(|b| u64::from(*b)).sum()
}

#[task]
fn nothing() {}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    // A pass case must print nothing: trybuild shows a program\'s output.
    prefect::logging::init_with_level("off").unwrap();
    assert_eq!(checksum::call_direct(vec![1, 2, 3]), 6);
    let h = prefect::testing::harness();
    assert_eq!(h.run(checksum(vec![4, 5])).await.unwrap(), 9);
    h.run(nothing()).await.unwrap();
}
