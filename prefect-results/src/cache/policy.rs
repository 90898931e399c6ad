//! Cache policies: which parts of a task call make up its cache key.

use std::fmt;
use std::ops::Add;
use std::str::FromStr;

use super::{CacheKeyBuilder, CacheKeyError, TaskIdentity};

/// Which parts of a task call make up its cache key; combine with `+` or the
/// `and_*` methods.
///
/// The task's name is always part of the key, so two tasks never share
/// records by accident. On top of it a policy adds any of: the call's
/// inputs (minus excluded arguments), the task's source hash, the flow run's
/// parameters, and the run id. [`CachePolicy::NONE`] disables caching.
///
/// As text (for options and attributes): components joined by `+`, each one of
/// `inputs`, `task_source`, `flow_parameters`, `run_id`, `default`, `none`;
/// `inputs` may carry exclusions as `inputs - client - db`.
///
/// # Examples
///
/// ```
/// use prefect_results::{CachePolicy, TaskIdentity};
///
/// let policy = CachePolicy::inputs().exclude(["client"]).and_task_source();
/// assert_eq!(policy.to_string(), "inputs - client + task_source");
/// assert_eq!(policy, "inputs - client + task_source".parse()?);
///
/// let task = TaskIdentity::new("fetch").with_source_hash("a1b2");
/// let key = policy
///     .key_for(task)
///     .input("url", "https://example.com")
///     .input("client", &()) // excluded: never serialized
///     .finish()?;
/// assert_eq!(key.to_string().len(), 64);
/// # Ok::<(), prefect_results::CacheKeyError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct CachePolicy {
    pub(super) inputs: bool,
    pub(super) excluded: Vec<String>,
    pub(super) task_source: bool,
    pub(super) flow_parameters: bool,
    pub(super) run_id: bool,
}

impl CachePolicy {
    /// No caching.
    pub const NONE: Self = Self::none();
    /// The call's inputs.
    pub const INPUTS: Self = Self::none().and_inputs();
    /// The task's source hash.
    pub const TASK_SOURCE: Self = Self::none().and_task_source();
    /// The flow run's parameters.
    pub const FLOW_PARAMETERS: Self = Self::none().and_flow_parameters();
    /// The run id (the flow run's, or the task run's outside a flow).
    pub const RUN_ID: Self = Self::none().and_run_id();
    /// Prefect's default: inputs + task source + run id, so identical calls
    /// are cached within one flow run.
    pub const DEFAULT: Self = Self::INPUTS.and_task_source().and_run_id();

    /// No caching; the start of a builder chain.
    pub const fn none() -> Self {
        Self {
            inputs: false,
            excluded: Vec::new(),
            task_source: false,
            flow_parameters: false,
            run_id: false,
        }
    }

    /// Just the call's inputs.
    pub const fn inputs() -> Self {
        Self::none().and_inputs()
    }

    /// Adds the call's inputs.
    pub const fn and_inputs(mut self) -> Self {
        self.inputs = true;
        self
    }

    /// Adds the task's source hash, so editing the task invalidates its records.
    pub const fn and_task_source(mut self) -> Self {
        self.task_source = true;
        self
    }

    /// Adds the flow run's parameters.
    pub const fn and_flow_parameters(mut self) -> Self {
        self.flow_parameters = true;
        self
    }

    /// Adds the run id, scoping records to one flow run.
    pub const fn and_run_id(mut self) -> Self {
        self.run_id = true;
        self
    }

    /// Leaves the named arguments out of the inputs (for clients, handles,
    /// anything without a stable value). Excluded arguments are never serialized.
    pub fn exclude<I>(mut self, names: I) -> Self
    where
        I: IntoIterator,
        I::Item: Into<String>,
    {
        self.excluded.extend(names.into_iter().map(Into::into));
        self.excluded.sort();
        self.excluded.dedup();
        self
    }

    /// True if the policy disables caching.
    pub fn is_none(&self) -> bool {
        !(self.inputs || self.task_source || self.flow_parameters || self.run_id)
    }

    /// True if the call's inputs are part of the key.
    pub fn includes_inputs(&self) -> bool {
        self.inputs
    }

    /// True if `argument` is part of the key.
    pub fn includes_argument(&self, argument: &str) -> bool {
        self.inputs && !self.excluded.iter().any(|e| e == argument)
    }

    /// True if the task's source hash is part of the key.
    pub fn includes_task_source(&self) -> bool {
        self.task_source
    }

    /// True if the flow run's parameters are part of the key.
    pub fn includes_flow_parameters(&self) -> bool {
        self.flow_parameters
    }

    /// True if the run id is part of the key.
    pub fn includes_run_id(&self) -> bool {
        self.run_id
    }

    /// The excluded argument names, sorted.
    pub fn excluded(&self) -> impl Iterator<Item = &str> {
        self.excluded.iter().map(String::as_str)
    }

    /// Starts computing the key of one call of `task`.
    pub fn key_for<'a>(&'a self, task: TaskIdentity<'a>) -> CacheKeyBuilder<'a> {
        CacheKeyBuilder::new(self, task)
    }
}

impl Add for CachePolicy {
    type Output = Self;

    /// The union of both policies. An argument stays excluded only if every
    /// side that uses inputs excludes it.
    fn add(self, other: Self) -> Self {
        let excluded = match (self.inputs, other.inputs) {
            (true, true) => self.excluded.into_iter().filter(|e| other.excluded.contains(e)).collect(),
            (true, false) => self.excluded,
            (false, _) => other.excluded,
        };
        Self {
            inputs: self.inputs || other.inputs,
            excluded,
            task_source: self.task_source || other.task_source,
            flow_parameters: self.flow_parameters || other.flow_parameters,
            run_id: self.run_id || other.run_id,
        }
    }
}

impl fmt::Display for CachePolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_none() {
            return f.write_str("none");
        }
        let mut parts = Vec::new();
        if self.inputs {
            let mut inputs = String::from("inputs");
            for name in &self.excluded {
                inputs.push_str(" - ");
                inputs.push_str(name);
            }
            parts.push(inputs);
        }
        let flags = [
            (self.task_source, "task_source"),
            (self.flow_parameters, "flow_parameters"),
            (self.run_id, "run_id"),
        ];
        parts.extend(flags.iter().filter(|(on, _)| *on).map(|(_, n)| n.to_string()));
        f.write_str(&parts.join(" + "))
    }
}

impl FromStr for CachePolicy {
    type Err = CacheKeyError;

    fn from_str(s: &str) -> Result<Self, CacheKeyError> {
        s.split('+').try_fold(Self::NONE, |policy, part| Ok(policy + parse_component(s, part)?))
    }
}

fn parse_component(text: &str, part: &str) -> Result<CachePolicy, CacheKeyError> {
    let mut pieces = part.split('-').map(str::trim);
    let policy = match pieces.next().unwrap_or_default() {
        "inputs" => CachePolicy::INPUTS,
        "task_source" => CachePolicy::TASK_SOURCE,
        "flow_parameters" => CachePolicy::FLOW_PARAMETERS,
        "run_id" => CachePolicy::RUN_ID,
        "default" => CachePolicy::DEFAULT,
        "none" => CachePolicy::NONE,
        _ => return Err(CacheKeyError::UnknownPolicy { text: text.to_owned() }),
    };
    let excluded: Vec<&str> = pieces.collect();
    if (!excluded.is_empty() && !policy.inputs) || excluded.iter().any(|e| e.is_empty()) {
        return Err(CacheKeyError::UnknownPolicy { text: text.to_owned() });
    }
    Ok(policy.exclude(excluded))
}
