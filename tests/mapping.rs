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

#[task]
async fn numbers(n: u64) -> Vec<u64> {
    (1..=n).collect()
}

#[task]
async fn maybe(x: u64) -> Result<u64, std::io::Error> {
    if x == 2 { Err(std::io::Error::other("two")) } else { Ok(x) }
}

#[task]
async fn count_ok(results: Vec<Result<u64, prefect::Error>>) -> usize {
    results.iter().filter(|r| r.is_ok()).count()
}

#[flow]
async fn over_upstreams() -> Result<(Vec<u64>, Vec<u64>, usize), prefect::Error> {
    // A map over a Vec of futures: one child per future.
    let futures: Vec<_> = (1..=3).map(|x| scale(x, 1).submit()).collect();
    let doubled: Result<Vec<u64>, _> = scale::map(futures, unmapped(2)).await.into_iter().collect();
    // A map over the future of a Vec: the map waits for it.
    let listed: Result<Vec<u64>, _> =
        scale::map(numbers(3).submit(), unmapped(10)).await.into_iter().collect();
    // allow_failure over a list.
    let attempts: Vec<_> = (1..=3).map(|x| maybe(x).submit()).collect();
    let ok = count_ok(prefect::allow_failure(attempts)).await?;
    Ok((doubled?, listed?, ok))
}

#[tokio::test]
async fn maps_take_upstream_futures_and_record_an_edge_per_item() {
    let h = testing::harness();
    let (doubled, listed, ok) = h.run(over_upstreams()).await.unwrap();
    assert_eq!((doubled, listed, ok), (vec![2, 4, 6], vec![10, 20, 30], 2));
    let runs = h.task_runs();
    let id_of = |name: &str| runs.iter().filter(|r| r.task_name == name).map(|r| r.id).collect::<Vec<_>>();
    let edges = h.dependencies();
    let into = |ids: &[prefect::TaskRunId]| edges.iter().filter(|e| ids.contains(&e.downstream)).count();
    let scaled = id_of("scale");
    // 3 scale runs fed the first map (no edges of their own); 3 children of
    // it (an edge each); 3 children of the map over `numbers` (an edge each).
    assert_eq!(scaled.len(), 9);
    assert_eq!(into(&scaled), 6);
    let numbers_id = id_of("numbers")[0];
    assert_eq!(edges.iter().filter(|e| e.upstream == numbers_id.into()).count(), 3);
    let counted = id_of("count_ok");
    let allowed: Vec<_> = edges.iter().filter(|e| counted.contains(&e.downstream)).collect();
    assert_eq!(allowed.len(), 3);
    assert!(allowed.iter().all(|e| e.kind == prefect::record::DependencyKind::AllowFailure));
}

#[task]
async fn never_listed() -> Vec<u64> {
    std::future::pending().await
}

#[tokio::test]
async fn submitting_a_map_over_an_unfinished_upstream_value_says_to_await_it() {
    let h = testing::harness();
    let error = h.run(async { scale::map(never_listed().submit(), unmapped(1)).submit().err() }).await;
    assert!(matches!(error, Some(prefect::Error::MapNotReady { .. })), "{error:?}");
}

static GATED_RUNNING: AtomicUsize = AtomicUsize::new(0);
static GATE_OPEN: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

#[task]
async fn gated(x: u64) -> u64 {
    GATED_RUNNING.fetch_add(1, Ordering::SeqCst);
    while !GATE_OPEN.load(Ordering::SeqCst) {
        tokio::task::yield_now().await;
    }
    GATED_RUNNING.fetch_sub(1, Ordering::SeqCst);
    x
}

// One thread: scheduling is deterministic, so "every started child is
// waiting at the gate" is a state the test can reach by yielding.
#[tokio::test(flavor = "current_thread")]
async fn a_large_map_runs_at_most_the_default_window_at_once() {
    let h = testing::harness();
    let window = prefect::futures::DEFAULT_MAP_WINDOW;
    let n = window as u64 + 1_000;
    let recorder = h.recorder();
    let map =
        tokio::spawn(prefect::testing::with_recorder(recorder, gated::map((0..n).collect::<Vec<u64>>())));
    // Yield until the number of children at the gate stops changing.
    let (mut seen, mut still) = (usize::MAX, 0);
    while still < 20 {
        tokio::task::yield_now().await;
        let now = GATED_RUNNING.load(Ordering::SeqCst);
        still = if now == seen && now > 0 { still + 1 } else { 0 };
        seen = now;
    }
    assert_eq!(seen, window, "children running at once");
    assert_eq!(h.task_runs_of("gated").len(), window, "children not started have no run yet");
    GATE_OPEN.store(true, Ordering::SeqCst);
    let results = map.await.unwrap();
    assert_eq!(results.len() as u64, n);
    assert!(results.iter().enumerate().all(|(i, r)| r.as_ref().ok() == Some(&(i as u64))));
    assert_eq!(h.task_runs_of("gated").len() as u64, n);
}
