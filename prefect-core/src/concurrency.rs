//! Concurrency limits by name, shared by tag limits and code inside tasks.
//!
//! - Tag limits: `set_limit("api", 5)` makes every task run tagged `api`
//!   take a slot before it starts; runs that must wait are Pending, named
//!   AwaitingConcurrencySlot, and start the moment a slot frees. A run with
//!   several limited tags takes a slot of each. A limit of 0 aborts the run
//!   (Cancelled). Slots are released however the run ends: completion,
//!   failure, timeout, panic or cancellation.
//! - [`concurrency`]: a guard holding `occupy` slots of a named limit for a
//!   block of code.
//! - [`rate_limit`]: takes one slot of a rate limit set with
//!   [`set_rate_limit`]; slots come back at a fixed rate per second.
//!
//! A name with no limit does not block; it is logged once as a warning.
//!
//! Tag limits can also be shared by every process using one run database:
//! a [`SharedLimits`] registered with [`set_shared_limits`] (the `prefect`
//! facade registers the run database's) is asked before a tagged run
//! starts; waiting runs poll it with backoff.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! use prefect_core::concurrency;
//!
//! concurrency::set_limit("db", 2);
//! {
//!     let _slot = concurrency::concurrency("db", 1).await;
//!     assert_eq!(concurrency::active_slots("db"), Some(1));
//! }
//! assert_eq!(concurrency::active_slots("db"), Some(0));
//! # }
//! ```

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, LazyLock, Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

struct Limit {
    size: usize,
    slots: Arc<Semaphore>,
}

struct Rate {
    capacity: f64,
    per_second: f64,
    state: Mutex<(f64, Instant)>,
}

#[derive(Default)]
struct Registry {
    limits: HashMap<String, Arc<Limit>>,
    rates: HashMap<String, Arc<Rate>>,
    warned: HashSet<String>,
}

/// A set of named limits: the process's ([`set_limit`] and the other free
/// functions use it), or one scoped to some runs with
/// [`Env::concurrency_limits`](crate::env::Env::concurrency_limits).
#[derive(Clone, Default)]
pub struct ConcurrencyLimits {
    inner: Arc<LimitsInner>,
}

#[derive(Default)]
struct LimitsInner {
    registry: Mutex<Registry>,
    /// Skips the registry on the hot path until a limit exists.
    any: AtomicBool,
}

impl ConcurrencyLimits {
    /// An empty set of limits.
    pub fn new() -> Self {
        Self::default()
    }

    /// The process's limits.
    pub fn process() -> &'static ConcurrencyLimits {
        static PROCESS: LazyLock<ConcurrencyLimits> = LazyLock::new(ConcurrencyLimits::new);
        &PROCESS
    }

    fn registry(&self) -> MutexGuard<'_, Registry> {
        self.inner.registry.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Sets (or replaces) the limit `name` to `slots` concurrent holders.
    /// Runs already holding a slot of a replaced limit keep it.
    pub fn set_limit(&self, name: impl Into<String>, slots: usize) {
        let limit = Arc::new(Limit { size: slots, slots: Arc::new(Semaphore::new(slots)) });
        self.registry().limits.insert(name.into(), limit);
        self.inner.any.store(true, Ordering::Release);
    }

    /// Removes the limit `name`; returns whether it existed.
    pub fn remove_limit(&self, name: &str) -> bool {
        self.registry().limits.remove(name).is_some()
    }

    /// The size of the limit `name`.
    pub fn limit(&self, name: &str) -> Option<usize> {
        self.registry().limits.get(name).map(|l| l.size)
    }

    /// How many slots of `name` are held right now.
    pub fn active_slots(&self, name: &str) -> Option<usize> {
        self.registry().limits.get(name).map(|l| l.size - l.slots.available_permits().min(l.size))
    }

    /// Sets a rate limit: at most `capacity` slots at once, refilled at
    /// `per_second` slots per second.
    pub fn set_rate_limit(&self, name: impl Into<String>, capacity: u32, per_second: f64) {
        let rate = Rate {
            capacity: f64::from(capacity.max(1)),
            per_second: per_second.max(f64::MIN_POSITIVE),
            state: Mutex::new((f64::from(capacity.max(1)), Instant::now())),
        };
        self.registry().rates.insert(name.into(), Arc::new(rate));
    }
}

impl std::fmt::Debug for ConcurrencyLimits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<String> = self.registry().limits.keys().cloned().collect();
        f.debug_struct("ConcurrencyLimits").field("limits", &names).finish()
    }
}

/// The limits runs in the current scope use.
fn current() -> ConcurrencyLimits {
    crate::env::concurrency_limits().unwrap_or_else(|| ConcurrencyLimits::process().clone())
}

/// Sets (or replaces) the limit `name` to `slots` concurrent holders, for
/// the process. Runs already holding a slot of a replaced limit keep it.
pub fn set_limit(name: impl Into<String>, slots: usize) {
    ConcurrencyLimits::process().set_limit(name, slots);
}

/// Removes the process's limit `name`; returns whether it existed.
pub fn remove_limit(name: &str) -> bool {
    ConcurrencyLimits::process().remove_limit(name)
}

/// The size of the limit `name` in the current scope.
pub fn limit(name: &str) -> Option<usize> {
    current().limit(name)
}

/// How many slots of `name` are held right now, in the current scope.
pub fn active_slots(name: &str) -> Option<usize> {
    current().active_slots(name)
}

/// Sets a rate limit for the process: at most `capacity` slots at once,
/// refilled at `per_second` slots per second.
pub fn set_rate_limit(name: impl Into<String>, capacity: u32, per_second: f64) {
    ConcurrencyLimits::process().set_rate_limit(name, capacity, per_second);
}

/// Slots held by a [`concurrency`] call; released on drop.
#[derive(Debug)]
pub struct ConcurrencyGuard {
    _permit: Option<OwnedSemaphorePermit>,
    /// Slots of a limit of the run database, freed on drop.
    _shared: Vec<SharedSlots>,
}

/// Waits for `occupy` slots of the limit `name` and holds them until the
/// guard is dropped. Asking for more slots than the limit has waits for all
/// of them, so it never succeeds: `occupy` is clamped to the limit's size.
///
/// A limit set in this process ([`set_limit`]) is used first. Otherwise, a
/// limit of the run database shared by every process and machine using it
/// (`prefect concurrency-limit create NAME N`, the same limits tagged task
/// runs take) is: its slots are polled for with backoff (20 to 250 ms),
/// taken all at once or not at all (so two callers never each hold part of
/// what the other waits for), and given back when the guard is dropped;
/// slots of a process that dies are freed by the store (at once on the
/// same machine, when its lease lapses elsewhere). A shared limit of 0
/// admits nobody: the call waits until it is raised. A name with no limit
/// anywhere does not block (one warning).
pub async fn concurrency(name: &str, occupy: u32) -> ConcurrencyGuard {
    let limits = current();
    let Some(limit) = limits.registry().limits.get(name).cloned() else {
        if let Some(shared) = shared()
            && let Some(held) = occupy_shared(&shared, name, occupy.max(1)).await
        {
            return ConcurrencyGuard { _permit: None, _shared: held };
        }
        warn_unknown(&limits, name);
        return ConcurrencyGuard { _permit: None, _shared: Vec::new() };
    };
    let occupy = occupy.min(u32::try_from(limit.size).unwrap_or(u32::MAX)).max(1);
    let permit = limit.slots.clone().acquire_many_owned(occupy).await.ok();
    ConcurrencyGuard { _permit: permit, _shared: Vec::new() }
}

/// Takes `occupy` slots of the shared limit `name`, all or none per try,
/// polling with backoff; `None` when the store has no limit of that name.
async fn occupy_shared(limits: &Arc<dyn SharedLimits>, name: &str, occupy: u32) -> Option<Vec<SharedSlots>> {
    let tags = [name.to_owned()];
    let mut backoff = Duration::from_millis(20);
    loop {
        let mut held = Vec::with_capacity(occupy as usize);
        let mut blocked = false;
        for _ in 0..occupy {
            let holder = crate::TaskRunId::new();
            match try_shared(limits, &tags, holder).await {
                SharedDecision::NoLimits => return None,
                SharedDecision::Acquired => held.push(SharedSlots { limits: Some(limits.clone()), holder }),
                SharedDecision::Busy | SharedDecision::Abort(_) => {
                    blocked = true;
                    break;
                }
            }
        }
        if !blocked {
            return Some(held);
        }
        // Part of what was asked for: give it back before waiting, so that
        // no caller holds slots another one waits for.
        for slots in held {
            slots.release().await;
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(Duration::from_millis(250));
    }
}

/// Takes one slot of the rate limit `name`, waiting until one has refilled.
/// An unknown name does not block (one warning).
pub async fn rate_limit(name: &str) {
    let limits = current();
    let Some(rate) = limits.registry().rates.get(name).cloned() else {
        warn_unknown(&limits, name);
        return;
    };
    loop {
        let wait = {
            let mut state = rate.state.lock().unwrap_or_else(|p| p.into_inner());
            let now = Instant::now();
            let refilled = state.0 + (now - state.1).as_secs_f64() * rate.per_second;
            *state = (refilled.min(rate.capacity), now);
            if state.0 >= 1.0 {
                state.0 -= 1.0;
                return;
            }
            Duration::from_secs_f64((1.0 - state.0) / rate.per_second)
        };
        tokio::time::sleep(wait).await;
    }
}

fn warn_unknown(limits: &ConcurrencyLimits, name: &str) {
    if limits.registry().warned.insert(name.to_string()) {
        tracing::warn!("concurrency limit '{name}' does not exist; running without a limit");
    }
}

/// What a task run with these tags must do before it starts.
pub(crate) enum TagSlots {
    /// No limit applies, or every slot was free: hold these.
    Held(Vec<OwnedSemaphorePermit>),
    /// Some slots must be waited for.
    Wait(Vec<(String, Arc<Semaphore>)>, Vec<OwnedSemaphorePermit>),
    /// A limit of 0 applies.
    Abort(String),
}

/// Tries to take a slot of every limited tag, in name order.
pub(crate) fn try_tag_slots(tags: &[String]) -> TagSlots {
    if tags.is_empty() {
        return TagSlots::Held(Vec::new());
    }
    let limits = current();
    if !limits.inner.any.load(Ordering::Acquire) {
        return TagSlots::Held(Vec::new());
    }
    let mut limited: Vec<(String, Arc<Limit>)> = {
        let registry = limits.registry();
        tags.iter().filter_map(|t| registry.limits.get(t).map(|l| (t.clone(), l.clone()))).collect()
    };
    limited.sort_by(|a, b| a.0.cmp(&b.0));
    if let Some((tag, _)) = limited.iter().find(|(_, l)| l.size == 0) {
        return TagSlots::Abort(tag.clone());
    }
    let mut held = Vec::new();
    let mut waiting = Vec::new();
    for (tag, limit) in limited {
        match limit.slots.clone().try_acquire_owned() {
            Ok(permit) if waiting.is_empty() => held.push(permit),
            _ => waiting.push((tag, limit.slots.clone())),
        }
    }
    if waiting.is_empty() { TagSlots::Held(held) } else { TagSlots::Wait(waiting, held) }
}

/// Waits for the remaining slots, in name order (so two runs never hold
/// each other's slots).
pub(crate) async fn wait_tag_slots(
    waiting: Vec<(String, Arc<Semaphore>)>,
    mut held: Vec<OwnedSemaphorePermit>,
) -> Vec<OwnedSemaphorePermit> {
    for (_, slots) in waiting {
        if let Ok(permit) = slots.acquire_owned().await {
            held.push(permit);
        }
    }
    held
}

pub use prefect_model::{SharedDecision, SharedLimits};

static SHARED: std::sync::OnceLock<Arc<dyn SharedLimits>> = std::sync::OnceLock::new();

/// Registers the shared tag limits (once per process).
///
/// # Errors
/// [`crate::Error::AlreadySet`] on a second call.
pub fn set_shared_limits(limits: Arc<dyn SharedLimits>) -> Result<(), crate::Error> {
    SHARED.set(limits).map_err(|_| crate::Error::AlreadySet { what: "the shared concurrency limits" })
}

/// Slots of the shared limits held by one run: [released](SharedSlots::release)
/// when the run ends, or freed on drop however it ends (cancelled, dropped).
pub(crate) struct SharedSlots {
    limits: Option<Arc<dyn SharedLimits>>,
    holder: crate::TaskRunId,
}

impl std::fmt::Debug for SharedSlots {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedSlots").field("holder", &self.holder).finish_non_exhaustive()
    }
}

impl SharedSlots {
    /// Frees the slots, on the blocking pool (a database call), and waits
    /// until they are free, so the next run (here or in another process)
    /// can take them when this one is over.
    pub(crate) async fn release(mut self) {
        if let Some(limits) = self.limits.take() {
            let holder = self.holder;
            crate::engine::io::off_runtime(move || limits.release(holder)).await;
        }
    }
}

impl Drop for SharedSlots {
    /// A run that did not get to release its slots frees them without
    /// waiting (still off the runtime's threads).
    fn drop(&mut self) {
        if let Some(limits) = self.limits.take() {
            let holder = self.holder;
            crate::engine::io::detach_off_runtime(move || limits.release(holder));
        }
    }
}

/// What a run must do about the shared limits.
pub(crate) enum SharedWait {
    /// Go on, holding these slots (if any).
    Go(Option<SharedSlots>),
    /// A limit of 0 applies to this tag.
    Abort(String),
}

/// The shared limits: the current scope's ([`Env::shared_limits`](crate::env::Env::shared_limits)),
/// else those set with [`set_shared_limits`], else those of the default
/// backend once it is in use.
fn shared() -> Option<Arc<dyn SharedLimits>> {
    crate::env::shared_limits()
        .or_else(|| SHARED.get().cloned())
        .or_else(|| prefect_model::backend::default_backend_if_made()?.limits.clone())
}

/// Whether shared limits may apply to a run with `tags` (cheap; lets the
/// engine skip the wait entirely, keeping its state out of every run's
/// future).
pub(crate) fn shares(tags: &[String]) -> bool {
    !tags.is_empty() && shared().is_some()
}

/// One try for the shared slots, on the blocking pool. If the waiting run
/// goes away (cancelled) while the try is under way, slots it took are
/// given back, so a cancelled wait never leaks a slot.
async fn try_shared(
    limits: &Arc<dyn SharedLimits>,
    tags: &[String],
    holder: crate::TaskRunId,
) -> SharedDecision {
    let handoff = Arc::new(Mutex::new(Handoff::Waiting));
    let guard = AbandonGuard { handoff: handoff.clone(), limits: limits.clone(), holder };
    let (asked, owned_tags, answer) = (limits.clone(), tags.to_vec(), handoff.clone());
    let decision = crate::engine::io::off_runtime(move || {
        let decision = asked.try_acquire(&owned_tags, holder);
        let mut handoff = answer.lock().unwrap_or_else(|p| p.into_inner());
        match (&*handoff, &decision) {
            (Handoff::Abandoned, SharedDecision::Acquired) => asked.release(holder),
            (_, SharedDecision::Acquired) => *handoff = Handoff::Acquired,
            _ => {}
        }
        decision
    })
    .await
    .unwrap_or(SharedDecision::NoLimits);
    *guard.handoff.lock().unwrap_or_else(|p| p.into_inner()) = Handoff::Taken;
    decision
}

/// Where a try for shared slots stands, between the waiting run and the
/// blocking thread making the try.
enum Handoff {
    Waiting,
    /// The thread took the slots; the run has not read the answer yet.
    Acquired,
    /// The run went away before the answer.
    Abandoned,
    /// The run read the answer.
    Taken,
}

/// Marks a try abandoned when its waiting run is dropped, and gives back
/// slots the thread took before it noticed.
struct AbandonGuard {
    handoff: Arc<Mutex<Handoff>>,
    limits: Arc<dyn SharedLimits>,
    holder: crate::TaskRunId,
}

impl Drop for AbandonGuard {
    fn drop(&mut self) {
        let mut handoff = self.handoff.lock().unwrap_or_else(|p| p.into_inner());
        match *handoff {
            Handoff::Taken => {}
            Handoff::Acquired => {
                *handoff = Handoff::Taken;
                let (limits, holder) = (self.limits.clone(), self.holder);
                crate::engine::io::detach_off_runtime(move || limits.release(holder));
            }
            Handoff::Waiting | Handoff::Abandoned => *handoff = Handoff::Abandoned,
        }
    }
}

/// Waits for a slot of every shared-limited tag: polls with backoff from
/// 20 ms to 1 s, calling `waiting` once when the run has to wait.
pub(crate) async fn wait_shared(
    tags: &[String],
    holder: crate::TaskRunId,
    mut waiting: impl FnMut(),
) -> SharedWait {
    let Some(limits) = shared() else {
        return SharedWait::Go(None);
    };
    if tags.is_empty() {
        return SharedWait::Go(None);
    }
    let mut backoff = Duration::from_millis(20);
    let mut told = false;
    loop {
        let decision = try_shared(&limits, tags, holder).await;
        match decision {
            SharedDecision::NoLimits => return SharedWait::Go(None),
            SharedDecision::Acquired => {
                return SharedWait::Go(Some(SharedSlots { limits: Some(limits), holder }));
            }
            SharedDecision::Abort(tag) => return SharedWait::Abort(tag),
            SharedDecision::Busy => {
                if !told {
                    waiting();
                    told = true;
                }
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(1));
            }
        }
    }
}
