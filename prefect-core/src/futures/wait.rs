//! Waiting on several futures at once.

use std::time::Duration;

use futures::stream::{FuturesUnordered, Stream};

use super::task_future::TaskFuture;

/// The futures split by whether their run had ended.
#[derive(Debug)]
pub struct Done<T> {
    /// Runs that ended.
    pub done: Vec<TaskFuture<T>>,
    /// Runs still going when the timeout expired.
    pub not_done: Vec<TaskFuture<T>>,
}

/// Waits until every future's run has ended, or `timeout` passes, and splits
/// them into done and not done (in their original order). `None` waits
/// without a limit.
pub async fn wait<T: Send + 'static>(futures: Vec<TaskFuture<T>>, timeout: Option<Duration>) -> Done<T> {
    let all = futures::future::join_all(futures.iter().map(|f| f.wait()));
    match timeout {
        None => {
            all.await;
        }
        Some(limit) => {
            let _ = tokio::time::timeout(limit, all).await;
        }
    }
    let (done, not_done) = futures.into_iter().partition(TaskFuture::is_done);
    Done { done, not_done }
}

/// Yields each future as its run ends, in finishing order.
pub fn as_completed<T: Send + 'static>(futures: Vec<TaskFuture<T>>) -> impl Stream<Item = TaskFuture<T>> {
    futures
        .into_iter()
        .map(|f| async move {
            f.wait().await;
            f
        })
        .collect::<FuturesUnordered<_>>()
}
