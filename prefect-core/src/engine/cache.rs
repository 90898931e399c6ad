//! Persisting and caching: which record a run reads and writes, and how.
//!
//! [`plan_task`] and [`plan_flow`] decide, from the run's options, its
//! flow's defaults and the settings, whether the run's value is persisted,
//! where, and whether a stored record may stand in for running the body.
//! The record location of a task run is worked out by [`task_key`] in named
//! steps (gather the arguments, then `target`, `result_storage_key`, a key
//! function, the cache policy). Storage I/O runs off the runtime's threads.

use std::sync::Arc;
use std::time::Duration;

use chrono::{TimeDelta, Utc};
use futures::future::BoxFuture;
use prefect_results::{
    CacheKey, CacheKeyBuilder, CachePolicy, KeyContext, KeyTemplate, ResultRecord, ResultStorage, Serializer,
    StorageKey, TaskIdentity,
};

use super::attempts::Attempts;
use super::io::off_runtime;
use super::key_locks::{self, KeyGuard};
use super::not_cached::NotCached;
use super::record_memo;
use crate::context::{FlowRunContext, Scope, TaskRunContext};
use crate::options::{Flow, Task};
use crate::results::{CacheInputs, CacheSource, Codec, InputSink, ResultOptions, storage_for_run};
use crate::state::State;
use crate::transaction::{StagedRecord, Staging, TxnState};

/// Where one run's value goes, and whether a stored one may be used.
pub(crate) struct Plan<T> {
    storage: Arc<dyn ResultStorage>,
    key: StorageKey,
    cache_key: Option<CacheKey>,
    serializer: Serializer,
    expiration: Option<Duration>,
    task_key: String,
    /// Look for a record before running (caching on, not refreshing).
    lookup: bool,
    /// Hold the key while computing (caching on).
    isolate: bool,
    codec: Codec<T>,
    /// The transaction the run is in: its record is staged there, and
    /// records staged there are seen first.
    txn: Option<Arc<TxnState>>,
}

/// A cheap first check: false when no option or setting could make a run
/// of `task` in `scope` persist (the common case, which then skips all of this).
pub(crate) fn may_persist(task: &Task, scope: &Scope) -> bool {
    task.opts.results.is_some()
        || scope.flow.as_ref().is_some_and(|f| f.results.is_some())
        || scope.with_settings(|s| s.results_persist_by_default)
}

/// The plan of a task run, or `None` when its value is not persisted.
pub(crate) fn plan_task<T>(
    task: &Task,
    flow_run: Option<&FlowRunContext>,
    txn: Option<Arc<TxnState>>,
    ctx: &TaskRunContext,
    attempts: &mut dyn Attempts<T>,
    cache: &CacheSource<T>,
) -> Option<Box<Plan<T>>> {
    let own = task.opts.results.as_deref();
    let flow = flow_run.and_then(|f| f.results.as_deref());
    let explicit = own.is_some_and(ResultOptions::implies_persistence);
    let persist = own
        .and_then(|o| o.persist)
        .or(explicit.then_some(true))
        .or_else(|| flow.and_then(ResultOptions::inherited_persist))
        .unwrap_or_else(|| crate::env::with_settings(|s| s.results_persist_by_default));
    if !persist {
        return None;
    }
    let Some(codec) = cache.codec else {
        not_persistable(explicit);
        return None;
    };
    let storage = own
        .and_then(|o| o.storage.clone())
        .or_else(|| flow.and_then(|f| f.storage.clone()))
        .unwrap_or_else(storage_for_run);
    let serializer =
        own.and_then(|o| o.serializer).or_else(|| flow.and_then(|f| f.serializer)).unwrap_or_default();
    let mut keyed = task_key(&KeyParts::new(own, task, flow_run, ctx), attempts, cache);
    let asked = own.is_some_and(ResultOptions::asks_for_caching);
    if let Some(template) = own.and_then(|o| o.storage_key.as_ref()) {
        // `result_storage_key` says where a value is written, not whether
        // later calls are served from it: that takes a cache option.
        if !asked {
            keyed.caching = false;
        } else if !template.varies_with_inputs() && own.is_some_and(|o| o.target.is_none()) {
            once_per_task(&format!("storage-key/{}", task.opts.name), || {
                tracing::warn!(
                    "result_storage_key `{template}` of '{}' has no {{parameters.x}} placeholder: calls with \
                     different inputs share one record, and only the last is kept",
                    task.opts.name
                );
            });
        }
    }
    Some(Box::new(Plan {
        storage,
        key: keyed.key,
        cache_key: keyed.cache_key,
        serializer,
        expiration: own.and_then(|o| o.expiration),
        task_key: task.opts.name.to_string(),
        lookup: keyed.caching && !own.and_then(|o| o.refresh).unwrap_or(false),
        isolate: keyed.caching,
        codec,
        txn,
    }))
}

/// Says why a run's value is not persisted: a warning when its own options
/// asked for persistence, a debug line when it was only inherited.
fn not_persistable(explicit: bool) {
    let why = "The value is not persisted: the return type is not Serialize + DeserializeOwned";
    if explicit {
        tracing::warn!("{why}");
    } else {
        tracing::debug!("{why}");
    }
}

/// The plan of a flow run, or `None` when its value is not persisted.
pub(crate) fn plan_flow<T>(
    flow: &Flow,
    ctx: &FlowRunContext,
    cache: &CacheSource<T>,
) -> Option<Box<Plan<T>>> {
    let own = flow.opts.results.as_deref();
    let explicit = own.is_some_and(ResultOptions::implies_persistence);
    let persist = own
        .and_then(|o| o.persist)
        .or(explicit.then_some(true))
        .unwrap_or_else(|| crate::env::with_settings(|s| s.results_persist_by_default));
    if !persist {
        return None;
    }
    let Some(codec) = cache.codec else {
        not_persistable(explicit);
        return None;
    };
    let run_id = ctx.id().to_string();
    let fallback = || StorageKey::new(run_id.clone()).expect("a run id is a valid key");
    let key = match own.and_then(|o| o.storage_key.as_ref()) {
        Some(template) => {
            let key_ctx = KeyContext::new(Utc::now())
                .flow_name(ctx.flow_name())
                .flow_run_id(&run_id)
                .parameters(ctx.parameters());
            template.render(&key_ctx).unwrap_or_else(|e| {
                tracing::warn!("Cannot render result_storage_key: {e}; storing under the run id");
                fallback()
            })
        }
        None => fallback(),
    };
    Some(Box::new(Plan {
        storage: own.and_then(|o| o.storage.clone()).unwrap_or_else(storage_for_run),
        key,
        cache_key: None,
        serializer: own.and_then(|o| o.serializer).unwrap_or_default(),
        expiration: None,
        task_key: flow.opts.name.to_string(),
        lookup: false,
        isolate: false,
        codec,
        // A flow's own record is written when the flow ends, not staged.
        txn: None,
    }))
}

/// What a look for a stored value found.
pub(crate) enum Lookup<T> {
    /// A valid record: its value, and where it was read.
    Hit(T, StoredAt),
    /// No record.
    Miss,
    /// A record that cannot be used (corrupt, expired, unreadable).
    Unusable,
}

/// Where a run's record was written or read: what its result event names.
#[derive(Debug)]
pub(crate) struct StoredAt {
    /// The record's location, as its storage names it.
    pub(crate) location: String,
    /// The cache key it is kept under, if the run is cached.
    pub(crate) cache_key: Option<CacheKey>,
}

/// A task run's record location, and whether it is a cache key.
struct Keyed {
    key: StorageKey,
    cache_key: Option<CacheKey>,
    caching: bool,
}

/// What a task run's key is made from.
struct KeyParts<'a> {
    own: Option<&'a ResultOptions>,
    task: &'a Task,
    flow_run: Option<&'a FlowRunContext>,
    ctx: &'a TaskRunContext,
    task_run_id: String,
    flow_run_id: Option<String>,
    policy: CachePolicy,
    /// Whether the task's own options asked for caching (failures to cache
    /// are then warnings, not debug lines).
    asked: bool,
}

/// The arguments, read once: into the policy's key and as JSON.
struct Gathered<'p> {
    builder: Option<CacheKeyBuilder<'p>>,
    inputs: CacheInputs,
    /// False when the call's arguments could not be read.
    fed: bool,
    /// Whether the policy hashes the inputs.
    wants_inputs: bool,
}

/// Works out the record location: `target`, else `result_storage_key`,
/// else the custom key function's key, else the cache policy's key (the
/// default policy when only persistence was asked for). A call without a
/// usable key is stored under its run id and not cached, and the reason is
/// logged.
fn task_key<T>(parts: &KeyParts<'_>, attempts: &mut dyn Attempts<T>, cache: &CacheSource<T>) -> Keyed {
    if parts.key_fn().is_some() && parts.own.is_some_and(|o| o.policy.is_some()) {
        once_per_task(&format!("key-fn/{}", parts.task.opts.name), || {
            tracing::info!(
                "The cache key function of '{}' decides its keys: its cache policy is not used",
                parts.task.opts.name
            );
        });
    }
    let gathered = parts.gather(attempts, cache);
    if let Some(target) = parts.own.and_then(|o| o.target.as_ref()) {
        return parts.target_key(target, &gathered.inputs);
    }
    let location =
        match parts.own.and_then(|o| o.storage_key.as_ref()).map(|t| parts.render(t, &gathered.inputs)) {
            Some(Ok(key)) => Some(key),
            Some(Err(why)) => return parts.uncached(NotCached::StorageKeyUnrenderable(why), None),
            None => None,
        };
    if !gathered.fed && (gathered.wants_inputs || parts.key_fn().is_some()) {
        return parts.uncached(NotCached::ArgumentsUnknown, location);
    }
    if parts.key_fn().is_some() {
        return parts.custom_key(&gathered.inputs, location);
    }
    parts.policy_key(gathered.builder, location)
}

impl<'a> KeyParts<'a> {
    fn new(
        own: Option<&'a ResultOptions>,
        task: &'a Task,
        flow_run: Option<&'a FlowRunContext>,
        ctx: &'a TaskRunContext,
    ) -> Self {
        let policy = own.and_then(|o| o.policy.clone()).unwrap_or(CachePolicy::DEFAULT);
        KeyParts {
            own,
            task,
            flow_run,
            ctx,
            task_run_id: ctx.id().to_string(),
            flow_run_id: flow_run.map(|f| f.id().to_string()),
            policy,
            asked: own.is_some_and(ResultOptions::asks_for_caching),
        }
    }

    fn key_fn(&self) -> Option<&crate::results::options::CacheKeyFn> {
        self.own.and_then(|o| o.key_fn.as_ref())
    }

    /// A target or a key function decides the key alone: no policy key then.
    fn uses_policy(&self) -> bool {
        self.key_fn().is_none() && self.own.is_none_or(|o| o.target.is_none()) && !self.policy.is_none()
    }

    /// One pass over the arguments feeds the policy's key and, when
    /// something needs them as JSON (a key function, a template), the JSON
    /// inputs.
    fn gather<T>(&self, attempts: &mut dyn Attempts<T>, cache: &CacheSource<T>) -> Gathered<'_> {
        let use_policy = self.uses_policy();
        let mut builder = use_policy.then(|| self.policy_builder());
        let wants_inputs = use_policy && self.policy.includes_inputs();
        let templates = self.own.is_some_and(|o| o.target.is_some() || o.storage_key.is_some());
        let mut sink = InputSink {
            key: if wants_inputs { builder.take() } else { None },
            json: (self.key_fn().is_some() || templates).then(serde_json::Map::new),
        };
        let fed = (sink.key.is_none() && sink.json.is_none()) || cache.feed(attempts.args(), &mut sink);
        if wants_inputs {
            builder = sink.key.take();
        }
        Gathered { builder, inputs: sink.into_inputs(), fed, wants_inputs }
    }

    fn policy_builder(&self) -> CacheKeyBuilder<'_> {
        let identity = match self.task.opts.source_hash.as_deref() {
            Some(hash) => TaskIdentity::new(&self.task.opts.name).with_source_hash(hash),
            None => TaskIdentity::new(&self.task.opts.name),
        };
        let run_id = self.flow_run_id.as_deref().unwrap_or(&self.task_run_id);
        let builder = self.policy.key_for(identity).run_id(run_id);
        match self.flow_run {
            Some(flow) => builder.flow_parameters(flow.parameters()),
            None => builder,
        }
    }

    /// Renders a key template with the run's names, ids and arguments.
    fn render(&self, template: &KeyTemplate, inputs: &CacheInputs) -> Result<StorageKey, String> {
        let parameters = inputs.to_json();
        let mut key_ctx = KeyContext::new(Utc::now())
            .flow_name(self.flow_run.map_or("", |f| f.flow_name()))
            .task_name(&self.task.opts.name)
            .task_run_id(&self.task_run_id)
            .task_run_count(1)
            .parameters(&parameters);
        if let Some(id) = &self.flow_run_id {
            key_ctx = key_ctx.flow_run_id(id);
        }
        if let Some(index) = self.ctx.record.map_index {
            key_ctx = key_ctx.map_index(index as usize);
        }
        template.render(&key_ctx).map_err(|e| e.to_string())
    }

    /// Prefect 1's `target`: the rendered template is the key and the
    /// location; an existing record there means the run is done.
    fn target_key(&self, target: &KeyTemplate, inputs: &CacheInputs) -> Keyed {
        match self.render(target, inputs) {
            Ok(key) => Keyed { key, cache_key: None, caching: true },
            Err(why) => self.uncached(NotCached::TargetUnrenderable(why), None),
        }
    }

    /// The custom key function's answer as the key (the location wins).
    fn custom_key(&self, inputs: &CacheInputs, location: Option<StorageKey>) -> Keyed {
        let Some(key_fn) = self.key_fn() else {
            return self.uncached(NotCached::ArgumentsUnknown, location);
        };

        let answer = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| key_fn(self.ctx, inputs)));
        let key = match answer {
            Ok(Some(text)) => StorageKey::new(text).map_err(|e| NotCached::KeyFnInvalid(e.to_string())),
            Ok(None) => Err(NotCached::KeyFnDeclined),
            Err(payload) => Err(NotCached::KeyFnPanicked(super::outcome::panic_message(payload))),
        };
        match key {
            Ok(key) => Keyed { key: location.unwrap_or(key), cache_key: None, caching: true },
            Err(why) => self.uncached(why, location),
        }
    }

    /// The cache policy's blake3 key (its hex form is the location unless a
    /// `result_storage_key` names one).
    fn policy_key(&self, builder: Option<CacheKeyBuilder<'_>>, location: Option<StorageKey>) -> Keyed {
        let Some(builder) = builder else {
            return Keyed {
                key: location.unwrap_or_else(|| self.fallback()),
                cache_key: None,
                caching: false,
            };
        };
        match builder.finish() {
            Ok(cache_key) => Keyed {
                key: location.unwrap_or_else(|| cache_key.storage_key()),
                cache_key: Some(cache_key),
                caching: true,
            },
            Err(prefect_results::CacheKeyError::Unhashable { input, reason }) => {
                self.uncached(NotCached::Unhashable { input, reason }, location)
            }
            Err(e) => self.uncached(NotCached::PolicyKey(e.to_string()), location),
        }
    }

    /// Not cached, for `why`: stored at `location` or under the run id.
    fn uncached(&self, why: NotCached, location: Option<StorageKey>) -> Keyed {
        why.log(self.asked);
        Keyed { key: location.unwrap_or_else(|| self.fallback()), cache_key: None, caching: false }
    }

    fn fallback(&self) -> StorageKey {
        StorageKey::new(self.task_run_id.clone()).expect("a run id is a valid key")
    }
}

/// Runs `say` the first time it is asked for `what` (a message and a task)
/// in this process.
fn once_per_task(what: &str, say: impl FnOnce()) {
    static SAID: std::sync::LazyLock<std::sync::Mutex<std::collections::HashSet<String>>> =
        std::sync::LazyLock::new(Default::default);
    if SAID.lock().unwrap_or_else(|e| e.into_inner()).insert(what.to_owned()) {
        say();
    }
}

impl<T> Plan<T> {
    /// True if a stored record may stand in for running the body.
    pub(crate) fn looks_up(&self) -> bool {
        self.lookup
    }

    /// The stored value, if a valid, unexpired record is there. Anything
    /// else is a miss; an unusable record is logged, naming it, unless
    /// `quiet` (it was already reported by an earlier look).
    pub(crate) async fn read(&self, quiet: bool) -> Lookup<T> {
        // Computed once: a hit must stay cheap (a location is a formatted path).
        let location = self.storage.location(&self.key);
        // Local files only: their location names them for every handle.
        let memo = self.storage.lock_root().is_some();
        let kept = || if memo { record_memo::get(&location) } else { None };
        let staged = self.txn.as_ref().and_then(|txn| txn.find(&location));
        let (read, from_storage) = match staged.or_else(kept) {
            Some(bytes) => (Some(Ok(Some(bytes))), false),
            None => {
                let (storage, key) = (self.storage.clone(), self.key.clone());
                let read = off_runtime(move || storage.read(&key)).await;
                (read.map(|r| r.map(|found| found.map(Arc::<[u8]>::from))), true)
            }
        };
        let (record, bytes) = match read {
            Some(Ok(Some(bytes))) => ((self.codec.decode)(&bytes, Utc::now(), location.clone()), bytes),
            Some(Ok(None)) => return Lookup::Miss,
            Some(Err(e)) => (Err(e), Arc::from(Vec::new())),
            None => return Lookup::Miss,
        };
        match record {
            // A record at a shared location written for other inputs.
            Ok(record)
                if self.cache_key.is_some() && record.metadata().cache_key() != self.cache_key.as_ref() =>
            {
                tracing::debug!("Cache miss: the record at {location} is for other inputs");
                Lookup::Miss
            }
            Ok(record) => {
                if memo && from_storage {
                    record_memo::put(&location, bytes);
                }
                Lookup::Hit(record.into_value(), StoredAt { location, cache_key: self.cache_key })
            }
            Err(e) => {
                if memo {
                    record_memo::forget(&location);
                }
                match (quiet, e.is_expired()) {
                    (true, _) => tracing::debug!("Cache miss: {e}"),
                    (false, true) => tracing::info!("Cache miss: {e}"),
                    (false, false) => tracing::warn!("Cache miss: {e}"),
                }
                Lookup::Unusable
            }
        }
    }

    /// Holds the key while the value is computed, if caching is on.
    pub(crate) async fn hold(&self) -> Option<KeyGuard> {
        if !self.isolate {
            return None;
        }
        Some(key_locks::hold(&self.storage, &self.key).await)
    }

    /// Stores a Completed run's value: encodes it now, and returns the
    /// write to wait for, which gives where the record went once it is
    /// written. A failure is logged; the run's state stays as it is and the
    /// next lookup misses. A record a transaction holds until its commit is
    /// written then, and names no location now.
    pub(crate) fn write(&self, state: &State<T>) -> Option<BoxFuture<'static, Option<StoredAt>>> {
        let value = state.value().filter(|_| state.is_completed())?;
        let mut record =
            ResultRecord::new(self.key.clone(), self.serializer, value).with_task_key(self.task_key.clone());
        if let Some(key) = self.cache_key {
            record = record.with_cache_key(key);
        }
        if let Some(ttl) = self.expiration {
            record = record.expires_after(TimeDelta::from_std(ttl).unwrap_or(TimeDelta::MAX));
        }
        let bytes = match (self.codec.encode)(&record) {
            Ok(bytes) => bytes,
            Err(e) => {
                tracing::error!("Failed to persist the result: {e}");
                return None;
            }
        };
        let (storage, key) = (self.storage.clone(), self.key.clone());
        let location = storage.location(&key);
        let memo = storage.lock_root().is_some();
        let record = StagedRecord { storage, key, location, bytes: bytes.into(), memo };
        let record = match &self.txn {
            None => record,
            Some(txn) => match txn.stage(record) {
                Staging::Held | Staging::Discarded => return None,
                Staging::WriteNow(record) => record,
            },
        };
        let cache_key = self.cache_key;
        Some(Box::pin(async move {
            let location = record.location.clone();
            crate::transaction::write(record).await.then_some(StoredAt { location, cache_key })
        }))
    }
}
