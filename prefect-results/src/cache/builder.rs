//! Computing the cache key of one task call.

use serde::Serialize;

use super::canonical::{self, END, LIST, MAP};
use super::{CacheKey, CacheKeyError, CachePolicy, Component};

/// Who a task is, for cache keys: its name (always hashed) and the hash of
/// its source (hashed when the policy includes the task source).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TaskIdentity<'a> {
    name: &'a str,
    source_hash: Option<&'a str>,
}

impl<'a> TaskIdentity<'a> {
    /// A task known by `name` (use the task key: name plus a source digest,
    /// if the engine has one).
    pub const fn new(name: &'a str) -> Self {
        Self { name, source_hash: None }
    }

    /// Sets the hash of the task's source text.
    pub const fn with_source_hash(mut self, source_hash: &'a str) -> Self {
        self.source_hash = Some(source_hash);
        self
    }

    /// The task's name.
    pub const fn name(&self) -> &'a str {
        self.name
    }

    /// The hash of the task's source, if given.
    pub const fn source_hash(&self) -> Option<&'a str> {
        self.source_hash
    }
}

/// Collects the parts of one call's cache key; made by
/// [`CachePolicy::key_for`].
///
/// Arguments the policy does not use are skipped without being serialized.
/// If any used argument fails to serialize, [`finish`](Self::finish) returns
/// that error and no key: never a key of the remaining arguments.
#[derive(Debug)]
#[must_use = "call `finish` to get the key"]
pub struct CacheKeyBuilder<'a> {
    policy: &'a CachePolicy,
    task: TaskIdentity<'a>,
    inputs: Vec<u8>,
    entries: Vec<(usize, usize)>,
    parameters: Option<Vec<u8>>,
    run_id: Option<&'a str>,
    error: Option<CacheKeyError>,
}

impl<'a> CacheKeyBuilder<'a> {
    pub(super) fn new(policy: &'a CachePolicy, task: TaskIdentity<'a>) -> Self {
        Self {
            policy,
            task,
            inputs: Vec::new(),
            entries: Vec::new(),
            parameters: None,
            run_id: None,
            error: None,
        }
    }

    /// Adds the argument `name` with `value` (skipped if the policy excludes it).
    pub fn input<T: Serialize + ?Sized>(mut self, name: &str, value: &T) -> Self {
        if self.error.is_some() || !self.policy.includes_argument(name) {
            return self;
        }
        let from = self.inputs.len();
        canonical::write_str(&mut self.inputs, name);
        match canonical::encode(value, &mut self.inputs) {
            Ok(()) => self.entries.push((from, self.inputs.len())),
            Err(e) => {
                self.inputs.truncate(from);
                self.error = Some(CacheKeyError::Unhashable { input: name.to_owned(), reason: e.0 });
            }
        }
        self
    }

    /// Sets the flow run's parameters (skipped if the policy does not use them).
    pub fn flow_parameters<T: Serialize + ?Sized>(mut self, parameters: &T) -> Self {
        if self.error.is_some() || !self.policy.flow_parameters {
            return self;
        }
        let mut bytes = Vec::new();
        match canonical::encode(parameters, &mut bytes) {
            Ok(()) => self.parameters = Some(bytes),
            Err(e) => {
                self.error = Some(CacheKeyError::Unhashable { input: "flow parameters".into(), reason: e.0 })
            }
        }
        self
    }

    /// Sets the run id (the flow run's id, or the task run's outside a flow).
    pub fn run_id(mut self, run_id: &'a str) -> Self {
        self.run_id = Some(run_id);
        self
    }

    /// The key.
    ///
    /// # Errors
    ///
    /// - [`CacheKeyError::Disabled`] for [`CachePolicy::NONE`];
    /// - [`CacheKeyError::Unhashable`] if an argument failed to serialize;
    /// - [`CacheKeyError::Missing`] if the policy needs a part (source hash,
    ///   flow parameters, run id) that was not given.
    pub fn finish(mut self) -> Result<CacheKey, CacheKeyError> {
        if self.policy.is_none() {
            return Err(CacheKeyError::Disabled);
        }
        if let Some(error) = self.error.take() {
            return Err(error);
        }
        let mut out = Vec::with_capacity(self.inputs.len() + 64);
        out.push(LIST);
        self.write_parts(&mut out)?;
        out.push(END);
        Ok(CacheKey::hash(&out))
    }

    /// Writes `"task", name` then each used component as a label and a value.
    fn write_parts(&mut self, out: &mut Vec<u8>) -> Result<(), CacheKeyError> {
        let policy = self.policy;
        canonical::write_str(out, "task");
        canonical::write_str(out, self.task.name);
        if policy.task_source {
            let hash = self.task.source_hash.ok_or(CacheKeyError::Missing(Component::TaskSource))?;
            canonical::write_str(out, "source");
            canonical::write_str(out, hash);
        }
        if policy.inputs {
            canonical::write_str(out, "inputs");
            self.write_inputs(out);
        }
        if policy.flow_parameters {
            let params = self.parameters.as_deref();
            let params = params.ok_or(CacheKeyError::Missing(Component::FlowParameters))?;
            canonical::write_str(out, "parameters");
            out.extend_from_slice(params);
        }
        if policy.run_id {
            let run_id = self.run_id.ok_or(CacheKeyError::Missing(Component::RunId))?;
            canonical::write_str(out, "run");
            canonical::write_str(out, run_id);
        }
        Ok(())
    }

    /// The inputs as a canonical map `{name: value}`, in any call order.
    fn write_inputs(&mut self, out: &mut Vec<u8>) {
        let inputs = &self.inputs;
        self.entries.sort_unstable_by(|a, b| inputs[a.0..a.1].cmp(&inputs[b.0..b.1]));
        out.push(MAP);
        for &(from, to) in &self.entries {
            out.extend_from_slice(&inputs[from..to]);
        }
        out.push(END);
    }
}
