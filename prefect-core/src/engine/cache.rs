//! Persisting and caching: which record a run reads and writes, and how.
//!
//! [`plan_task`] and [`plan_flow`] decide, from the run's options, its
//! flow's defaults and the settings, whether the run's value is persisted,
//! where, and whether a stored record may stand in for running the body.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::time::Duration;

use chrono::{TimeDelta, Utc};
use prefect_results::{
    CacheKey, CachePolicy, KeyContext, KeyTemplate, ResultRecord, ResultStorage, Serializer, StorageKey,
    TaskIdentity,
};

use super::attempts::Attempts;
use super::key_locks::{self, KeyGuard};
use super::outcome::panic_message;
use crate::context::{FlowRunContext, Scope, TaskRunContext};
use crate::options::{Flow, Task};
use crate::results::{Codec, InputSink, ResultOptions, default_storage};
use crate::settings;
use crate::state::State;

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
}

/// A cheap first check: false when no option or setting could make a run
/// of `task` in `scope` persist (the common case, which then skips all of this).
pub(crate) fn may_persist(task: &Task, scope: &Scope) -> bool {
    task.opts.results.is_some()
        || scope.flow.as_ref().is_some_and(|f| f.results.is_some())
        || settings::current().results_persist_by_default
}

/// The plan of a task run, or `None` when its value is not persisted.
pub(crate) fn plan_task<T>(
    task: &Task,
    flow_run: Option<&FlowRunContext>,
    ctx: &TaskRunContext,
    attempts: &mut dyn Attempts<T>,
) -> Option<Box<Plan<T>>> {
    let own = task.opts.results.as_deref();
    let flow = flow_run.and_then(|f| f.results.as_deref());
    let by_default = settings::current().results_persist_by_default;
    let explicit = own.is_some_and(ResultOptions::implies_persistence);
    let persist = own
        .and_then(|o| o.persist)
        .or(explicit.then_some(true))
        .or_else(|| flow.and_then(ResultOptions::inherited_persist))
        .unwrap_or(by_default);
    if !persist {
        return None;
    }
    let Some(codec) = attempts.codec() else {
        not_persistable(explicit);
        return None;
    };
    let storage = own
        .and_then(|o| o.storage.clone())
        .or_else(|| flow.and_then(|f| f.storage.clone()))
        .unwrap_or_else(default_storage);
    let serializer =
        own.and_then(|o| o.serializer).or_else(|| flow.and_then(|f| f.serializer)).unwrap_or_default();
    let keyed = task_key(own, task, flow_run, ctx, attempts);
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
    attempts: &dyn Attempts<T>,
) -> Option<Box<Plan<T>>> {
    let own = flow.opts.results.as_deref();
    let explicit = own.is_some_and(ResultOptions::implies_persistence);
    let persist = own
        .and_then(|o| o.persist)
        .or(explicit.then_some(true))
        .unwrap_or(settings::current().results_persist_by_default);
    if !persist {
        return None;
    }
    let Some(codec) = attempts.codec() else {
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
        storage: own.and_then(|o| o.storage.clone()).unwrap_or_else(default_storage),
        key,
        cache_key: None,
        serializer: own.and_then(|o| o.serializer).unwrap_or_default(),
        expiration: None,
        task_key: flow.opts.name.to_string(),
        lookup: false,
        isolate: false,
        codec,
    }))
}

/// What a look for a stored value found.
pub(crate) enum Lookup<T> {
    /// A valid record: its value.
    Hit(T),
    /// No record.
    Miss,
    /// A record that cannot be used (corrupt, expired, unreadable).
    Unusable,
}

/// A task run's record location, and whether it is a cache key.
struct Keyed {
    key: StorageKey,
    cache_key: Option<CacheKey>,
    caching: bool,
}

/// Works out the record location: `target`, else `result_storage_key`,
/// else the custom key function's key, else the cache policy's key (the
/// default policy when only persistence was asked for). A call without a
/// usable key is stored under its run id and not cached; when caching was
/// asked for, one warning says why.
fn task_key<T>(
    own: Option<&ResultOptions>,
    task: &Task,
    flow_run: Option<&FlowRunContext>,
    ctx: &TaskRunContext,
    attempts: &mut dyn Attempts<T>,
) -> Keyed {
    let asked = own.is_some_and(ResultOptions::asks_for_caching);
    let default_policy = CachePolicy::DEFAULT;
    let policy = own.and_then(|o| o.policy.as_ref()).unwrap_or(&default_policy);
    let key_fn = own.and_then(|o| o.key_fn.as_ref());
    let templates = own.is_some_and(|o| o.target.is_some() || o.storage_key.is_some());
    let flow_run_id = flow_run.map(|f| f.id().to_string());
    let task_run_id = ctx.id().to_string();
    let source = task.opts.source_hash.as_deref();
    let identity = match source {
        Some(hash) => TaskIdentity::new(&task.opts.name).with_source_hash(hash),
        None => TaskIdentity::new(&task.opts.name),
    };

    // One pass over the arguments feeds the key and, when something needs
    // them as JSON (a key function, a template), the JSON inputs.
    // A target or a key function decides the key alone: no policy key then.
    let target = own.and_then(|o| o.target.as_ref());
    let use_policy = key_fn.is_none() && target.is_none() && !policy.is_none();
    let mut builder = use_policy.then(|| {
        let builder = policy.key_for(identity).run_id(flow_run_id.as_deref().unwrap_or(&task_run_id));
        match flow_run {
            Some(flow) => builder.flow_parameters(flow.parameters()),
            None => builder,
        }
    });
    let wants_inputs = use_policy && policy.includes_inputs();
    let mut sink = InputSink {
        key: if wants_inputs { builder.take() } else { None },
        json: (key_fn.is_some() || templates).then(serde_json::Map::new),
    };
    let fed = (sink.key.is_none() && sink.json.is_none()) || attempts.feed_inputs(&mut sink);
    if wants_inputs {
        builder = sink.key.take();
    }
    let inputs = sink.into_inputs();
    let parameters = inputs.to_json();

    let render = |template: &KeyTemplate| {
        let mut key_ctx = KeyContext::new(Utc::now())
            .flow_name(flow_run.map_or("", |f| f.flow_name()))
            .task_name(&task.opts.name)
            .task_run_id(&task_run_id)
            .task_run_count(1)
            .parameters(&parameters);
        if let Some(id) = &flow_run_id {
            key_ctx = key_ctx.flow_run_id(id);
        }
        if let Some(index) = ctx.record.map_index {
            key_ctx = key_ctx.map_index(index as usize);
        }
        template.render(&key_ctx)
    };
    let fallback = || StorageKey::new(task_run_id.clone()).expect("a run id is a valid key");
    let warn = |why: String| {
        if asked {
            tracing::warn!("Not cached: {why}");
        } else {
            tracing::debug!("Not cached: {why}");
        }
    };

    if let Some(target) = target {
        return match render(target) {
            Ok(key) => Keyed { key, cache_key: None, caching: true },
            Err(e) => {
                warn(format!("cannot render target: {e}"));
                Keyed { key: fallback(), cache_key: None, caching: false }
            }
        };
    }
    let location = match own.and_then(|o| o.storage_key.as_ref()).map(render) {
        Some(Ok(key)) => Some(key),
        Some(Err(e)) => {
            tracing::warn!("Cannot render result_storage_key: {e}; storing under the run id");
            return Keyed { key: fallback(), cache_key: None, caching: false };
        }
        None => None,
    };
    if !fed && (wants_inputs || key_fn.is_some()) {
        warn("the call's arguments are not known (a hand-built call)".into());
        return Keyed { key: location.unwrap_or_else(fallback), cache_key: None, caching: false };
    }
    if let Some(key_fn) = key_fn {
        let answer = catch_unwind(AssertUnwindSafe(|| key_fn(ctx, &inputs)));
        let key = match answer {
            Ok(Some(text)) => StorageKey::new(text).map_err(|e| format!("the cache key function's key: {e}")),
            Ok(None) => Err("the cache key function returned None".into()),
            Err(payload) => Err(format!("the cache key function panicked: {}", panic_message(payload))),
        };
        return match key {
            Ok(key) => Keyed { key: location.unwrap_or(key), cache_key: None, caching: true },
            Err(why) => {
                if why.ends_with("returned None") {
                    tracing::debug!("Not cached: {why}");
                } else {
                    warn(why);
                }
                Keyed { key: location.unwrap_or_else(fallback), cache_key: None, caching: false }
            }
        };
    }
    let Some(builder) = builder else {
        return Keyed { key: location.unwrap_or_else(fallback), cache_key: None, caching: false };
    };
    match builder.finish() {
        Ok(cache_key) => Keyed {
            key: location.unwrap_or_else(|| cache_key.storage_key()),
            cache_key: Some(cache_key),
            caching: true,
        },
        Err(e) => {
            warn(e.to_string());
            Keyed { key: location.unwrap_or_else(fallback), cache_key: None, caching: false }
        }
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
    pub(crate) fn read(&self, quiet: bool) -> Lookup<T> {
        match (self.codec.read)(&*self.storage, &self.key, Utc::now()) {
            Ok(Some(record)) => Lookup::Hit(record.into_value()),
            Ok(None) => Lookup::Miss,
            Err(e) => {
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
        Some(key_locks::hold(&*self.storage, &self.key).await)
    }

    /// Stores a Completed run's value. A failure is logged; the run's
    /// state stays as it is and the next lookup misses.
    pub(crate) fn write(&self, state: &State<T>) {
        let Some(value) = state.value().filter(|_| state.is_completed()) else {
            return;
        };
        let mut record =
            ResultRecord::new(self.key.clone(), self.serializer, value).with_task_key(self.task_key.clone());
        if let Some(key) = self.cache_key {
            record = record.with_cache_key(key);
        }
        if let Some(ttl) = self.expiration {
            record = record.expires_after(TimeDelta::from_std(ttl).unwrap_or(TimeDelta::MAX));
        }
        match (self.codec.write)(&record, &*self.storage) {
            Ok(()) => tracing::debug!("Result persisted to {}", self.storage.location(&self.key)),
            Err(e) => tracing::error!("Failed to persist the result: {e}"),
        }
    }
}
