//! Mapping: one run per element, input order kept, paired and unmapped
//! arguments, limits, fail-fast.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use prefect::futures::unmapped;
use prefect::prelude::*;
use prefect::testing;

#[task]
async fn delayed(x: u64) -> u64 {
    // Later items finish first.
    tokio::time::sleep(Duration::from_millis(100 - x * 10)).await;
    x
}

#[task]
async fn scale(x: u64, factor: u64) -> u64 {
    x * factor
}

#[tokio::test(start_paused = true)]
async fn results_come_in_input_order_with_map_indexes() {
    let h = testing::harness();
    let results: Vec<u64> =
        h.run(delayed::map(vec![1, 2, 3, 4])).await.into_iter().map(Result::unwrap).collect();
    assert_eq!(results, [1, 2, 3, 4]);
    let mut indexes: Vec<u32> = h.task_runs().iter().map(|r| r.map_index.unwrap()).collect();
    indexes.sort();
    assert_eq!(indexes, [0, 1, 2, 3]);
}

#[tokio::test]
async fn mapped_arguments_pair_by_position_and_unmapped_is_passed_whole() {
    let h = testing::harness();
    let paired: Vec<u64> =
        h.run(scale::map(vec![1, 2, 3], vec![10, 20, 30])).await.into_iter().map(Result::unwrap).collect();
    assert_eq!(paired, [10, 40, 90]);
    let broadcast: Vec<u64> =
        h.run(scale::map(vec![1, 2, 3], unmapped(7))).await.into_iter().map(Result::unwrap).collect();
    assert_eq!(broadcast, [7, 14, 21]);
}

#[tokio::test]
async fn unequal_lengths_are_an_error_naming_both() {
    let h = testing::harness();
    let results = h.run(scale::map(vec![1, 2, 3], vec![1, 2])).await;
    assert_eq!(results.len(), 1);
    let err = results.into_iter().next().unwrap().unwrap_err();
    assert!(matches!(err, prefect::Error::MapLengthMismatch { first_len: 3, other_len: 2, .. }));
    assert_eq!(err.to_string(), "cannot map `scale`: argument `x` has 3 items but `factor` has 2");
    assert!(h.task_runs().is_empty(), "nothing ran");
}

#[tokio::test]
async fn mapping_over_nothing_gives_nothing() {
    let h = testing::harness();
    assert!(h.run(scale::map(Vec::<u64>::new(), unmapped(2))).await.is_empty());
}

static RUNNING: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

#[task]
async fn tracked(x: u64) -> u64 {
    let now = RUNNING.fetch_add(1, Ordering::SeqCst) + 1;
    PEAK.fetch_max(now, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(10)).await;
    RUNNING.fetch_sub(1, Ordering::SeqCst);
    x
}

#[tokio::test(start_paused = true)]
async fn limit_bounds_how_many_children_run_at_once() {
    let h = testing::harness();
    let start = tokio::time::Instant::now();
    let results = h.run(tracked::map((0..12).collect::<Vec<u64>>()).limit(3)).await;
    assert_eq!(results.len(), 12);
    assert_eq!(PEAK.load(Ordering::SeqCst), 3);
    assert_eq!(start.elapsed(), Duration::from_millis(40), "12 children, 3 at a time, 10 ms each");
}

#[task]
async fn fails_on_three(x: u64) -> Result<u64, std::io::Error> {
    tokio::time::sleep(Duration::from_millis(x * 10)).await;
    if x == 3 { Err(std::io::Error::other("three")) } else { Ok(x) }
}

#[tokio::test(start_paused = true)]
async fn fail_fast_returns_the_first_failure() {
    let h = testing::harness();
    let start = tokio::time::Instant::now();
    let err = h
        .run(async { fails_on_three::map(vec![9, 3, 1]).submit().unwrap().fail_fast().await })
        .await
        .unwrap_err();
    assert_eq!(err.downcast_ref::<std::io::Error>().unwrap().to_string(), "three");
    assert_eq!(start.elapsed(), Duration::from_millis(30), "did not wait for the 90 ms child");
    let ok =
        h.run(async { fails_on_three::map(vec![2, 1]).submit().unwrap().fail_fast().await }).await.unwrap();
    assert_eq!(ok, [2, 1]);
}
