//! Task arguments that may be upstream futures: a task parameter of type
//! `T` accepts a `T`, a `&T` (cloned at the call), a [`TaskFuture<T>`],
//! `allow_failure(fut)` (when the parameter is `Result<T, Error>`), or for
//! `Vec<T>` a `Vec<TaskFuture<T>>`; a `String` parameter also takes a `&str`
//! (so `fetch("orders")` works; `fetch("orders".into())` cannot, as nothing
//! says which of these `.into()` should make).
//! The engine waits for the upstream runs, records the edges, and passes
//! their values; an upstream that did not complete makes the downstream
//! NotReady.
//!
//! Futures can only be passed once they exist, so a cycle of dependencies
//! cannot be built: the graph is acyclic by construction.

use super::slot::Upstream;
use super::task_future::{AllowFailure, Dependency, TaskFuture};
use crate::error::Error;
use crate::record::DependencyKind;

/// A value for a task parameter of type `T`, ready now or after upstream runs.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a valid argument for a task parameter of type `{T}`",
    label = "expected `{T}` or a `TaskFuture<{T}>`",
    note = "a task argument is the parameter's own type (or a reference to it, cloned), an upstream `TaskFuture` of it, or `allow_failure(future)` for a `Result` parameter; convert first, e.g. `42u64` or `\"text\".to_string()`"
)]
pub trait TaskInput<T> {
    /// Converts into the engine's form.
    fn into_input(self) -> Input<T>;
}

/// A parameter value: ready, or taken from upstream runs once they end.
pub struct Input<T> {
    pub(crate) ready: Option<T>,
    pub(crate) upstream: Vec<(Upstream, bool)>,
    pub(crate) resolve: Option<Box<dyn FnOnce() -> Result<T, Error> + Send>>,
}

impl<T> std::fmt::Debug for Input<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Input").field("upstream", &self.upstream.len()).finish_non_exhaustive()
    }
}

impl<T> Input<T> {
    /// A value that is ready now.
    pub fn ready(value: T) -> Self {
        Input { ready: Some(value), upstream: Vec::new(), resolve: None }
    }

    /// The value when it is ready now (for run-name templates).
    pub fn peek(&self) -> Option<&T> {
        self.ready.as_ref()
    }

    /// The upstream runs, as dependency edges of `argument`.
    pub fn edges(&self, argument: &'static str) -> Vec<(Upstream, DependencyKind)> {
        self.upstream
            .iter()
            .map(|(up, allow)| {
                let kind = if *allow {
                    DependencyKind::AllowFailure
                } else {
                    DependencyKind::Data { argument: argument.into() }
                };
                (up.clone(), kind)
            })
            .collect()
    }

    /// The value, once the upstream runs have ended.
    ///
    /// # Errors
    /// An upstream's value was already taken from its future elsewhere.
    pub fn resolve(self) -> Result<T, Error> {
        match (self.ready, self.resolve) {
            (Some(v), _) => Ok(v),
            (None, Some(resolve)) => resolve(),
            (None, None) => unreachable_input(),
        }
    }
}

fn unreachable_input<T>() -> Result<T, Error> {
    Err(Error::InvalidOption {
        option: "argument",
        reason: "an input had neither a value nor an upstream".into(),
    })
}

impl<T: Send + 'static> TaskInput<T> for T {
    fn into_input(self) -> Input<T> {
        Input::ready(self)
    }
}

/// A borrowed value, cloned when the call is made.
impl<T: Clone + Send + 'static> TaskInput<T> for &T {
    fn into_input(self) -> Input<T> {
        Input::ready(self.clone())
    }
}

/// Text for a `String` parameter, copied when the call is made.
impl TaskInput<String> for &str {
    fn into_input(self) -> Input<String> {
        Input::ready(self.to_owned())
    }
}

impl<T: Send + 'static> TaskInput<T> for TaskFuture<T> {
    fn into_input(self) -> Input<T> {
        let upstream = vec![(self.upstream(), false)];
        Input { ready: None, upstream, resolve: Some(Box::new(move || self.take_now())) }
    }
}

impl<T: Send + 'static> TaskInput<Result<T, Error>> for AllowFailure<TaskFuture<T>> {
    fn into_input(self) -> Input<Result<T, Error>> {
        let future = self.0;
        let upstream = vec![(future.upstream(), true)];
        Input { ready: None, upstream, resolve: Some(Box::new(move || Ok(future.take_now()))) }
    }
}

/// An input made already (the items of a map).
impl<T: Send + 'static> TaskInput<T> for Input<T> {
    fn into_input(self) -> Input<T> {
        self
    }
}

impl<T: Send + 'static> TaskInput<Vec<Result<T, Error>>> for AllowFailure<Vec<TaskFuture<T>>> {
    fn into_input(self) -> Input<Vec<Result<T, Error>>> {
        let futures = self.0;
        let upstream = futures.iter().map(|f| (f.upstream(), true)).collect();
        let resolve = move || Ok(futures.into_iter().map(|f| f.take_now()).collect());
        Input { ready: None, upstream, resolve: Some(Box::new(resolve)) }
    }
}

impl<T: Send + 'static> TaskInput<Vec<T>> for Vec<TaskFuture<T>> {
    fn into_input(self) -> Input<Vec<T>> {
        let upstream = self.iter().map(|f| (f.upstream(), false)).collect();
        Input {
            ready: None,
            upstream,
            resolve: Some(Box::new(move || self.into_iter().map(|f| f.take_now()).collect())),
        }
    }
}
