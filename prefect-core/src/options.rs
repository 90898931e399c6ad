//! Task and flow descriptors: [`Task`] and [`Flow`] hold a run's options and
//! are built with chained setters, one per `#[task]`/`#[flow]` option.
//!
//! ```
//! use std::time::Duration;
//! use prefect_core::{Task, RetryDelay};
//!
//! let task = Task::new("fetch")
//!     .retries(3)
//!     .retry_delay(RetryDelay::Exponential(Duration::from_secs(1)))
//!     .timeout(Duration::from_secs(30))
//!     .tags(["api"]);
//! assert_eq!(task.options().retries(), 3);
//! assert_eq!(task.options().tags(), ["api".to_string()]);
//! ```

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::context::TaskRunContext;
use crate::error::Error;
use crate::hooks::{HookContext, HookFn, Hooks, RetryConditionFn};
use crate::results::{CacheInputs, CachePolicy, ResultOptions, ResultStorage, Serializer};
use crate::retry::{RetryDelay, check_jitter};
use crate::runner::{ConcurrentTaskRunner, TaskRunner};

/// The options shared by tasks and flows, read through [`Task::options`] and
/// [`Flow::options`].
#[derive(Clone)]
pub struct RunOptions {
    pub(crate) name: Cow<'static, str>,
    pub(crate) description: Option<Cow<'static, str>>,
    pub(crate) version: Option<Cow<'static, str>>,
    pub(crate) tags: Arc<[String]>,
    /// `None`: the default from the settings (`tasks.default_retries` or
    /// `flows.default_retries`).
    pub(crate) retries: Option<u32>,
    /// `None`: the default from the settings (`tasks.default_retry_delay`).
    pub(crate) retry_delay: Option<RetryDelay>,
    pub(crate) kind: Kind,
    pub(crate) retry_jitter: f64,
    pub(crate) retry_condition: Option<RetryConditionFn>,
    pub(crate) timeout: Option<Duration>,
    pub(crate) hooks: Hooks,
    pub(crate) run_name: Option<RunNameFn>,
    pub(crate) task_runner: Option<RunnerFactory>,
    /// Persistence and caching; `None` when no such option was given.
    pub(crate) results: Option<Arc<ResultOptions>>,
    /// The hash of the body's source tokens (set by the macros).
    pub(crate) source_hash: Option<Cow<'static, str>>,
    /// Whether `prefect::println!` lines become the run's logs; `None`: the
    /// enclosing run's choice, else the setting `logging.log_prints`.
    pub(crate) log_prints: Option<bool>,
    /// Tasks: end Skipped when an upstream was skipped (default true).
    pub(crate) skip_on_upstream_skip: bool,
}

/// Makes a run's name (set with `run_name`).
pub(crate) type RunNameFn = Arc<dyn Fn() -> String + Send + Sync>;

/// Makes a fresh task runner for each flow run.
pub(crate) type RunnerFactory = Arc<dyn Fn() -> Arc<dyn TaskRunner> + Send + Sync>;

/// Whether options belong to a task or a flow (their defaults differ).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Task,
    Flow,
}

impl RunOptions {
    fn new(name: Cow<'static, str>, kind: Kind) -> Self {
        RunOptions {
            kind,
            name,
            description: None,
            version: None,
            tags: Arc::from(Vec::new()),
            retries: None,
            retry_delay: None,
            retry_jitter: 0.0,
            retry_condition: None,
            timeout: None,
            hooks: Hooks::default(),
            run_name: None,
            task_runner: None,
            results: None,
            source_hash: None,
            log_prints: None,
            skip_on_upstream_skip: true,
        }
    }

    fn results_mut(&mut self) -> &mut ResultOptions {
        Arc::make_mut(self.results.get_or_insert_with(Default::default))
    }

    /// The task or flow name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The description, if any.
    pub fn description(&self) -> Option<&str> {
        self.description.as_deref()
    }

    /// The version, if any.
    pub fn version(&self) -> Option<&str> {
        self.version.as_deref()
    }

    /// The tags given on the task or flow itself.
    pub fn tags(&self) -> &[String] {
        &self.tags
    }

    /// How many times a failed run is retried: the option, else the
    /// setting `tasks.default_retries` / `flows.default_retries`.
    pub fn retries(&self) -> u32 {
        crate::env::with_settings(|settings| self.retries_in(settings))
    }

    /// [`retries`](Self::retries) with the defaults of `settings`.
    pub(crate) fn retries_in(&self, settings: &crate::settings::Settings) -> u32 {
        self.retries.unwrap_or(match self.kind {
            Kind::Task => settings.tasks_default_retries,
            Kind::Flow => settings.flows_default_retries,
        })
    }

    /// The delay before each retry: the option, else (for tasks) the
    /// setting `tasks.default_retry_delay`.
    pub fn retry_delay(&self) -> RetryDelay {
        crate::env::with_settings(|settings| self.retry_delay_in(settings))
    }

    /// [`retry_delay`](Self::retry_delay) with the defaults of `settings`.
    pub(crate) fn retry_delay_in(&self, settings: &crate::settings::Settings) -> RetryDelay {
        match (&self.retry_delay, self.kind) {
            (Some(delay), _) => delay.clone(),
            (None, Kind::Task) => RetryDelay::from(settings.tasks_default_retry_delay),
            (None, Kind::Flow) => RetryDelay::None,
        }
    }

    /// The retry jitter factor.
    pub fn retry_jitter(&self) -> f64 {
        self.retry_jitter
    }

    /// The per-attempt timeout.
    pub fn timeout(&self) -> Option<Duration> {
        self.timeout
    }

    /// Checks the values the type system cannot.
    pub(crate) fn validate(&self) -> Result<(), Error> {
        check_jitter(self.retry_jitter)?;
        if self.kind == Kind::Flow
            && let Some(c) = self.name.chars().find(|c| ['/', '%', '&', '>', '<'].contains(c))
        {
            return Err(Error::InvalidOption {
                option: "name",
                reason: format!(
                    "flow name `{}` contains `{c}`; flow names must not contain `/`, `%`, `&`, `>` or `<`",
                    self.name
                ),
            });
        }
        if self.timeout.is_some_and(|t| t.is_zero()) {
            return Err(Error::InvalidOption {
                option: "timeout",
                reason: "a timeout of zero would fail every attempt; give a positive duration or none".into(),
            });
        }
        if self.name.is_empty() {
            return Err(Error::InvalidOption { option: "name", reason: "the name is empty".into() });
        }
        match &self.results {
            Some(results) => results.validate(),
            None => Ok(()),
        }
    }
}

impl fmt::Debug for RunOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RunOptions")
            .field("name", &self.name)
            .field("description", &self.description)
            .field("version", &self.version)
            .field("tags", &self.tags)
            .field("retries", &self.retries)
            .field("retry_delay", &self.retry_delay)
            .field("retry_jitter", &self.retry_jitter)
            .field("retry_condition", &self.retry_condition.is_some())
            .field("timeout", &self.timeout)
            .field("hooks", &self.hooks)
            .field("run_name", &self.run_name.is_some())
            .field("task_runner", &self.task_runner.is_some())
            .field("results", &self.results)
            .field("source_hash", &self.source_hash)
            .finish()
    }
}

/// Setters shared by [`Task`] and [`Flow`]; each maps 1:1 onto an attribute
/// option of the same name.
macro_rules! common_setters {
    () => {
        /// Sets the name.
        pub fn name(mut self, name: impl Into<Cow<'static, str>>) -> Self {
            self.opts.name = name.into();
            self
        }

        /// Sets the description.
        pub fn description(mut self, description: impl Into<Cow<'static, str>>) -> Self {
            self.opts.description = Some(description.into());
            self
        }

        /// Sets the version.
        pub fn version(mut self, version: impl Into<Cow<'static, str>>) -> Self {
            self.opts.version = Some(version.into());
            self
        }

        /// Replaces the tags.
        pub fn tags<I, S>(mut self, tags: I) -> Self
        where
            I: IntoIterator<Item = S>,
            S: Into<String>,
        {
            self.opts.tags = tags.into_iter().map(Into::into).collect();
            self
        }

        /// Sets how many times a failed run is retried.
        pub fn retries(mut self, retries: u32) -> Self {
            self.opts.retries = Some(retries);
            self
        }

        /// Sets the delay before each retry: a [`Duration`], or a
        /// [`RetryDelay`] list or exponential backoff.
        pub fn retry_delay(mut self, delay: impl Into<RetryDelay>) -> Self {
            self.opts.retry_delay = Some(delay.into());
            self
        }

        /// Spreads each retry delay by up to this factor either way (≥ 0).
        pub fn retry_jitter(mut self, factor: f64) -> Self {
            self.opts.retry_jitter = factor;
            self
        }

        /// Decides on each failure whether to retry; false ends the run Failed.
        pub fn retry_condition(
            mut self,
            condition: impl Fn(&HookContext) -> bool + Send + Sync + 'static,
        ) -> Self {
            self.opts.retry_condition = Some(Arc::new(condition));
            self
        }

        /// Ends each attempt that runs longer than `timeout` as Failed, named TimedOut.
        pub fn timeout(mut self, timeout: Duration) -> Self {
            self.opts.timeout = Some(timeout);
            self
        }

        /// Removes the timeout.
        pub fn no_timeout(mut self) -> Self {
            self.opts.timeout = None;
            self
        }

        /// Whether what the body prints with `prefect::println!` (and
        /// `print!`, `eprintln!`) is also recorded as the run's logs (default:
        /// the enclosing run's choice, else the setting `logging.log_prints`).
        pub fn log_prints(mut self, log_prints: bool) -> Self {
            self.opts.log_prints = Some(log_prints);
            self
        }

        /// Names each run by calling `f` (the default adds a short random suffix).
        pub fn run_name(mut self, f: impl Fn() -> String + Send + Sync + 'static) -> Self {
            self.opts.run_name = Some(Arc::new(f));
            self
        }

        /// Adds a hook run when an attempt enters Running.
        pub fn on_running(mut self, hook: HookFn) -> Self {
            self.opts.hooks.on_running.push(hook);
            self
        }

        /// Adds a hook run when the run ends Completed.
        pub fn on_completion(mut self, hook: HookFn) -> Self {
            self.opts.hooks.on_completion.push(hook);
            self
        }

        /// Adds a hook run when the run ends Failed (after its retries).
        pub fn on_failure(mut self, hook: HookFn) -> Self {
            self.opts.hooks.on_failure.push(hook);
            self
        }

        /// Turns persistence of the run's value on or off (default: on when any
        /// result or cache option is given, else the setting
        /// `results.persist_by_default`; tasks inherit their flow's choice).
        pub fn persist_result(mut self, persist: bool) -> Self {
            self.opts.results_mut().persist = Some(persist);
            self
        }

        /// Stores values in `storage` (default: local files under the setting
        /// `results.storage_path`). Tasks inherit their flow's storage.
        pub fn result_storage(mut self, storage: impl ResultStorage + 'static) -> Self {
            self.opts.results_mut().storage = Some(Arc::new(storage));
            self
        }

        /// Encodes values with `serializer` (default: JSON). Tasks inherit
        /// their flow's serializer.
        pub fn result_serializer(mut self, serializer: Serializer) -> Self {
            self.opts.results_mut().serializer = Some(serializer);
            self
        }

        /// Stores the value under a key rendered from `template` per run, such
        /// as `"{flow_name}/{date:%A}/{task_name}.json"` (see
        /// [`KeyTemplate`](crate::results::KeyTemplate)). A template that does
        /// not parse fails each run with [`Error::InvalidOption`].
        pub fn result_storage_key(mut self, template: impl AsRef<str>) -> Self {
            let results = self.opts.results_mut();
            results.storage_key = results.template("result_storage_key", template.as_ref());
            self
        }

        /// The options, read-only.
        pub fn options(&self) -> &RunOptions {
            &self.opts
        }
    };
}

/// A task: a unit of work whose every call is a recorded task run.
///
/// `#[task]` builds one of these once per function; build one by hand to
/// run a closure as a task with [`crate::run_task`].
#[derive(Clone, Debug)]
pub struct Task {
    pub(crate) opts: RunOptions,
}

impl Task {
    /// A task named `name` with default options.
    pub fn new(name: impl Into<Cow<'static, str>>) -> Self {
        Task { opts: RunOptions::new(name.into(), Kind::Task) }
    }

    common_setters!();

    /// Whether a run whose upstream was skipped ends Skipped too, as in
    /// Prefect 1 (default true). With `false`, it runs: its `wait_for`
    /// upstreams are satisfied, and an argument from a skipped upstream (which
    /// has no value) fails it.
    pub fn skip_on_upstream_skip(mut self, skip: bool) -> Self {
        self.opts.skip_on_upstream_skip = skip;
        self
    }

    /// Adds a hook run when the [transaction](crate::transaction) a
    /// Completed run of this task belongs to commits.
    pub fn on_commit(mut self, hook: HookFn) -> Self {
        self.opts.hooks.on_commit.push(hook);
        self
    }

    /// Adds a hook run when the [transaction](crate::transaction) a
    /// Completed run of this task belongs to rolls back: undo what the run
    /// did (the run then ends in state `RolledBack`).
    pub fn on_rollback(mut self, hook: HookFn) -> Self {
        self.opts.hooks.on_rollback.push(hook);
        self
    }

    /// Caches the task's value under a key computed by `policy` from each
    /// call (see [`CachePolicy`]): a later call with the same key is served
    /// from the stored record without running the body.
    pub fn cache_policy(mut self, policy: CachePolicy) -> Self {
        self.opts.results_mut().policy = Some(policy);
        self
    }

    /// Caches under the key `f` returns for each call; `None` means "do not
    /// cache this call". The key is used as the storage key as-is.
    pub fn cache_key_fn(
        mut self,
        f: impl Fn(&TaskRunContext, &CacheInputs) -> Option<String> + Send + Sync + 'static,
    ) -> Self {
        self.opts.results_mut().key_fn = Some(Arc::new(f));
        self
    }

    /// Stored values expire `ttl` after they were written (default: never).
    pub fn cache_expiration(mut self, ttl: Duration) -> Self {
        self.opts.results_mut().expiration = Some(ttl);
        self
    }

    /// Runs the body even when a record exists, and overwrites it.
    pub fn refresh_cache(mut self, refresh: bool) -> Self {
        self.opts.results_mut().refresh = Some(refresh);
        self
    }

    /// Prefect 1's file-existence caching: if a record exists at the key
    /// rendered from `template`, the run is Cached without running; else
    /// the value is stored there.
    pub fn target(mut self, template: impl AsRef<str>) -> Self {
        let results = self.opts.results_mut();
        results.target = results.template("target", template.as_ref());
        self
    }

    /// Sets the hash of the task's source, which cache policies with
    /// `task_source` use (the macro sets it from the body's tokens, so
    /// editing the body invalidates its records).
    pub fn source_hash(mut self, hash: impl Into<Cow<'static, str>>) -> Self {
        self.opts.source_hash = Some(hash.into());
        self
    }
}

/// A flow: a function whose every call is a recorded flow run containing the
/// task runs and subflow runs it makes.
#[derive(Clone, Debug)]
pub struct Flow {
    pub(crate) opts: RunOptions,
}

impl Flow {
    /// A flow named `name` with default options.
    pub fn new(name: impl Into<Cow<'static, str>>) -> Self {
        Flow { opts: RunOptions::new(name.into(), Kind::Flow) }
    }

    common_setters!();

    /// Adds a hook run when the flow run ends Cancelled.
    pub fn on_cancellation(mut self, hook: HookFn) -> Self {
        self.opts.hooks.on_cancellation.push(hook);
        self
    }

    /// Runs the tasks this flow submits or maps with a runner made by
    /// `factory`, once per flow run (default: [`ConcurrentTaskRunner`]).
    ///
    /// ```
    /// use prefect_core::{Flow, runner::SequentialTaskRunner};
    /// let flow = Flow::new("debug-me").task_runner(|| SequentialTaskRunner::new());
    /// ```
    pub fn task_runner<R: TaskRunner>(mut self, factory: impl Fn() -> R + Send + Sync + 'static) -> Self {
        self.opts.task_runner = Some(Arc::new(move || Arc::new(factory()) as Arc<dyn TaskRunner>));
        self
    }

    pub(crate) fn make_runner(&self) -> Arc<dyn TaskRunner> {
        match &self.opts.task_runner {
            Some(factory) => factory(),
            None => Arc::new(ConcurrentTaskRunner::new()),
        }
    }

    /// Adds a hook run when the flow run ends Crashed (interrupted: its
    /// future was dropped before it finished).
    pub fn on_crashed(mut self, hook: HookFn) -> Self {
        self.opts.hooks.on_crashed.push(hook);
        self
    }
}

/// A task or flow descriptor held by a call: the `static` one a macro
/// built, or an owned copy with overrides. Two words, where `Cow<Task>`
/// kept the whole descriptor inline in every run's future.
pub(crate) enum Descriptor<T: 'static> {
    Static(&'static T),
    Owned(Box<T>),
}

impl<T: Clone> Descriptor<T> {
    pub(crate) fn get(&self) -> &T {
        match self {
            Descriptor::Static(d) => d,
            Descriptor::Owned(d) => d,
        }
    }

    /// Applies `f` to a copy (the static descriptor is never changed).
    pub(crate) fn modify(self, f: impl FnOnce(T) -> T) -> Self {
        let owned = match self {
            Descriptor::Static(d) => d.clone(),
            Descriptor::Owned(d) => *d,
        };
        Descriptor::Owned(Box::new(f(owned)))
    }
}
