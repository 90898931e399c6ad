//! Waiting for the store to change between looks at a run.

use std::time::Duration;

use prefect_store::AnyStore;

/// Returns once the store has changed since it read `seen` (a store told
/// of changes, such as PostgreSQL, wakes the caller at once), once `poll`
/// has passed for a store that cannot wait, or at `deadline`.
pub(crate) async fn nap(
    store: &AnyStore,
    seen: Option<u64>,
    poll: Duration,
    deadline: Option<tokio::time::Instant>,
) {
    let now = tokio::time::Instant::now();
    let left = deadline.map_or(Duration::MAX, |d| d.saturating_duration_since(now));
    if let Some(seen) = seen {
        // At most a minute at a time: the caller looks at the run anyway.
        let longest = left.min(Duration::from_secs(60));
        if let Ok(Some(_)) = store.wait_for_change(seen, longest).await {
            return;
        }
    }
    tokio::time::sleep(poll.min(left)).await;
}
