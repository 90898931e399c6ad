//! [`Worker`]: claims scheduled runs of the flows this binary knows and
//! runs them, with a lease renewed by heartbeat.
//!
//! How a worker learns of new runs on SQLite: it reads the database's
//! change counter (`PRAGMA data_version`, a read of the shared-memory WAL
//! index, a few microseconds and no I/O) every 20 ms, and asks for due
//! runs only when another connection has committed, or when the earliest
//! queued run it could take falls due (a timer, not a poll). An idle
//! worker costs 50 cheap reads a second; a run created by the CLI is
//! claimed within one poll.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use prefect_core::entry::ExistingRun;
use prefect_core::{FlowEntry, FlowRegistry, FlowRunId, StateMeta, StateType};
use prefect_store::{
    AnyStore, ClaimRequest, ConnectOptions, Lease, LeaseOwner, QueuedRun, StoreUrl, WorkerBeat,
};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::Error;
use crate::isolation::{HARD_TIMEOUT_GRACE, Isolation, assigned_run, run_assigned, run_in_child};

/// How often an idle worker reads the store's change counter.
const POLL: Duration = Duration::from_millis(20);

/// How a worker (or `serve`) runs: limits and the timings of its loop.
#[derive(Debug, Clone)]
pub(crate) struct LoopOptions {
    pub(crate) name: Option<String>,
    pub(crate) queues: Vec<String>,
    pub(crate) labels: Vec<String>,
    pub(crate) limit: usize,
    pub(crate) heartbeat: Duration,
    /// Set by [`Worker::lease_ttl`]; else six heartbeats, at least 30 s.
    pub(crate) explicit_ttl: Option<Duration>,
    pub(crate) grace: Duration,
    pub(crate) signals: bool,
    pub(crate) once: bool,
    pub(crate) isolation: Isolation,
    pub(crate) kill_grace: Duration,
}

impl LoopOptions {
    /// Heartbeats every `every` (at least 10 ms).
    pub(crate) fn set_heartbeat(&mut self, every: Duration) {
        self.heartbeat = every.max(Duration::from_millis(10));
    }

    /// How long the lease lasts: as set (never under three heartbeats), or
    /// six heartbeats and at least 30 s.
    pub(crate) fn lease_ttl(&self) -> Duration {
        match self.explicit_ttl {
            Some(ttl) => ttl.max(self.heartbeat * 3),
            None => (self.heartbeat * 6).max(Duration::from_secs(30)),
        }
    }
}

impl Default for LoopOptions {
    fn default() -> Self {
        LoopOptions {
            name: None,
            queues: Vec::new(),
            labels: Vec::new(),
            limit: 16,
            heartbeat: Duration::from_secs(5),
            explicit_ttl: None,
            grace: Duration::from_secs(30),
            signals: true,
            once: false,
            isolation: Isolation::InProcess,
            kill_grace: HARD_TIMEOUT_GRACE,
        }
    }
}

/// What a worker (or `serve`) did, returned when it stops.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct WorkReport {
    /// Runs it claimed and started.
    pub started: u64,
    /// Runs that ended Completed.
    pub completed: u64,
    /// Runs that ended Failed or Crashed (a run whose parameters did not
    /// read included: it fails without running).
    pub failed: u64,
    /// Runs that ended Cancelled.
    pub cancelled: u64,
    /// Crashed runs of dead workers it sent back to the queue for a retry.
    pub rescheduled: u64,
}

/// A worker in the user's binary: claims the scheduled runs of the flows it
/// is given, from its work queues (all when none are named), highest
/// priority first, up to its limit at once, and runs them here.
///
/// Each claimed run is owned by the worker's lease, renewed with every
/// heartbeat: if the worker dies, its runs end Crashed (at once when the
/// process is seen dead on this machine, when the lease lapses elsewhere),
/// and a worker that finds them sends them back to the queue when their
/// flow has retries left. A run cancelled from outside (`prefect flow-run
/// cancel`) is cancelled here: it ends Cancelled and its hooks run.
///
/// `run()` stops on SIGINT or SIGTERM (or [`Worker::stop_token`]): it
/// stops claiming, lets running flows finish within the grace period
/// (default 30 s), cancels the rest, and releases its lease.
///
/// ```no_run
/// # async fn example(etl: prefect_core::FlowEntry) -> Result<(), prefect_deploy::Error> {
/// use prefect_deploy::Worker;
///
/// Worker::new().flows([etl]).queues(["production"]).limit(4).run().await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Worker {
    registry: FlowRegistry,
    options: LoopOptions,
    stop: CancellationToken,
}

impl Default for Worker {
    fn default() -> Self {
        Worker::new()
    }
}

impl Worker {
    /// A worker with no flows yet, serving every queue, 16 runs at once.
    pub fn new() -> Worker {
        Worker {
            registry: FlowRegistry::new(),
            options: LoopOptions::default(),
            stop: CancellationToken::new(),
        }
    }

    /// Adds the flows it can run (`my_flow::entry()`).
    pub fn flows(mut self, entries: impl IntoIterator<Item = FlowEntry>) -> Worker {
        for entry in entries {
            self.registry.register(entry);
        }
        self
    }

    /// Serves only these work queues.
    pub fn queues<I, S>(mut self, queues: I) -> Worker
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.options.queues = queues.into_iter().map(Into::into).collect();
        self
    }

    /// Gives it labels: it takes the runs of deployments whose labels it
    /// has all (a deployment without labels: any worker of its queue).
    pub fn labels<I, S>(mut self, labels: I) -> Worker
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.options.labels = labels.into_iter().map(Into::into).collect();
        self
    }

    /// Runs at most `limit` flow runs at once (default 16; at least 1).
    pub fn limit(mut self, limit: usize) -> Worker {
        self.options.limit = limit.max(1);
        self
    }

    /// Its name in `prefect worker ls` (default `<host>-<pid>`).
    pub fn name(mut self, name: impl Into<String>) -> Worker {
        self.options.name = Some(name.into());
        self
    }

    /// How often it renews its lease, reports itself and looks for crashed
    /// runs (default 5 s; its lease lasts six heartbeats, at least 30 s).
    pub fn heartbeat(mut self, every: Duration) -> Worker {
        self.options.set_heartbeat(every);
        self
    }

    /// How long its lease lasts without a heartbeat (default six
    /// heartbeats, at least 30 s; never less than three heartbeats). When a
    /// worker on another machine dies, its runs end Crashed once its lease
    /// lapses (a dead process on this machine is seen at once): a shorter
    /// lease hands them on sooner, at the risk of crashing the runs of a
    /// worker that only stalled.
    pub fn lease_ttl(mut self, ttl: Duration) -> Worker {
        self.options.explicit_ttl = Some(ttl);
        self
    }

    /// How long running flows may take to finish after a stop is asked for
    /// (default 30 s); then they are cancelled.
    pub fn grace(mut self, grace: Duration) -> Worker {
        self.options.grace = grace;
        self
    }

    /// Whether SIGINT and SIGTERM stop it (default true).
    pub fn handle_signals(mut self, handle: bool) -> Worker {
        self.options.signals = handle;
        self
    }

    /// Runs what is due now, waits for it, and returns, instead of running
    /// until stopped.
    pub fn run_once(mut self) -> Worker {
        self.options.once = true;
        self
    }

    /// Where claimed runs execute: in this process (the default), or each
    /// in a child process of this binary ([`Isolation::Process`]), so a
    /// crash or a hard timeout cannot take the worker down.
    pub fn isolation(mut self, isolation: Isolation) -> Worker {
        self.options.isolation = isolation;
        self
    }

    /// With [`Isolation::Process`]: how long a run's process may go on
    /// after its flow's timeout before it is killed (default 10 s); the run
    /// then ends Failed (TimedOut).
    pub fn kill_after_timeout(mut self, grace: Duration) -> Worker {
        self.options.kill_grace = grace;
        self
    }

    /// A token that stops the worker when cancelled, as a signal would.
    pub fn stop_token(&self) -> CancellationToken {
        self.stop.clone()
    }

    /// Claims and runs flow runs until stopped (or, with
    /// [`run_once`](Worker::run_once), until what was due has run).
    ///
    /// # Errors
    /// [`Error::NoFlows`], or the run database's errors when it cannot be
    /// opened or its lease taken.
    pub async fn run(self) -> Result<WorkReport, Error> {
        if self.registry.names().next().is_none() {
            return Err(Error::NoFlows);
        }
        let store = open_store(&self.registry)?;
        if let Some(run) = assigned_run() {
            return run_one(&store, &self.registry, &run).await;
        }
        let mut engine = Engine::start(store, self.registry, self.options, self.stop).await?;
        engine.run(&mut NoSchedules).await
    }
}

/// In a process a worker started for one run: runs it, and reports it.
pub(crate) async fn run_one(
    store: &AnyStore,
    registry: &FlowRegistry,
    run: &str,
) -> Result<WorkReport, Error> {
    let state = run_assigned(store, registry, run).await?;
    let mut report = WorkReport { started: 1, ..WorkReport::default() };
    match state {
        StateType::Completed => report.completed = 1,
        StateType::Cancelled => report.cancelled = 1,
        _ => report.failed = 1,
    }
    Ok(report)
}

/// A future of [`Beat`]'s.
pub(crate) type BeatFuture<'a> = std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send + 'a>>;

/// What `serve` adds to the worker's loop, called at every heartbeat.
pub(crate) trait Beat: Send {
    /// Schedules runs ahead and marks late ones.
    fn beat<'a>(&'a mut self, store: &'a AnyStore, now: DateTime<Utc>) -> BeatFuture<'a>;

    /// When stopping: pauses schedules unless told not to.
    fn stopping<'a>(&'a mut self, store: &'a AnyStore) -> BeatFuture<'a>;
}

/// A worker's loop has nothing to add.
struct NoSchedules;

impl Beat for NoSchedules {
    fn beat<'a>(&'a mut self, _: &'a AnyStore, _: DateTime<Utc>) -> BeatFuture<'a> {
        Box::pin(async {})
    }

    fn stopping<'a>(&'a mut self, _: &'a AnyStore) -> BeatFuture<'a> {
        Box::pin(async {})
    }
}

/// The run database of the settings, opened as the engine's recorder opens
/// it. Building the flows' descriptors first runs the program's defaults,
/// which register the SQLite driver.
pub(crate) fn open_store(registry: &FlowRegistry) -> Result<AnyStore, Error> {
    for name in registry.names() {
        if let Some(entry) = registry.get(name) {
            let _ = entry.flow();
        }
    }
    open_settings_store()
}

/// The run database of the settings, or the server of `PREFECT_API_URL`
/// when one is set (its driver must be registered: a program's first flow
/// or task descriptor does that).
pub(crate) fn open_settings_store() -> Result<AnyStore, Error> {
    let settings = prefect_settings::current();
    let url = match &settings.api_url {
        Some(api) => StoreUrl::parse(api)?,
        None => match &settings.database_url {
            Some(server) => StoreUrl::parse(server)?,
            None => StoreUrl::sqlite(&settings.database_path),
        },
    };
    let driver = prefect_store::driver_for(&url)?;
    Ok(driver.connect(&url, &ConnectOptions::default())?)
}

/// The loop shared by [`Worker`] and `serve`.
pub(crate) struct Engine {
    store: AnyStore,
    registry: Arc<FlowRegistry>,
    flows: Vec<String>,
    options: LoopOptions,
    name: String,
    lease: Lease,
    stop: CancellationToken,
    running: HashMap<FlowRunId, CancellationToken>,
    tasks: JoinSet<(FlowRunId, StateType)>,
    unknown_logged: HashSet<String>,
    report: WorkReport,
}

impl Engine {
    pub(crate) async fn start(
        store: AnyStore,
        registry: FlowRegistry,
        options: LoopOptions,
        stop: CancellationToken,
    ) -> Result<Engine, Error> {
        let owner = LeaseOwner::current();
        let lease = store.acquire_lease(&owner, options.lease_ttl()).await?;
        let name = options.name.clone().unwrap_or_else(|| format!("{}-{}", owner.host, owner.pid));
        let flows = registry.names().map(str::to_owned).collect();
        if options.signals {
            listen_for_signals(stop.clone())?;
        }
        Ok(Engine {
            store,
            registry: Arc::new(registry),
            flows,
            options,
            name,
            lease,
            stop,
            running: HashMap::new(),
            tasks: JoinSet::new(),
            unknown_logged: HashSet::new(),
            report: WorkReport::default(),
        })
    }

    pub(crate) fn store(&self) -> &AnyStore {
        &self.store
    }

    pub(crate) async fn run(&mut self, beat: &mut dyn Beat) -> Result<WorkReport, Error> {
        let mut started = None;
        let mut next_beat = tokio::time::Instant::now();
        let mut counter = None;
        tracing::info!(
            "worker {} started: flows {}; queues {}",
            self.name,
            self.flows.join(", "),
            if self.options.queues.is_empty() { "all".to_owned() } else { self.options.queues.join(", ") }
        );
        loop {
            if self.stop.is_cancelled() {
                break;
            }
            if tokio::time::Instant::now() >= next_beat {
                let now = Utc::now();
                beat.beat(&self.store, now).await;
                self.heartbeat("online").await;
                next_beat = tokio::time::Instant::now() + self.options.heartbeat;
            }
            // In run-once mode only what was due at its first heartbeat
            // (crashed runs sent back to the queue included) is taken.
            let now = Utc::now();
            let due = if self.options.once { *started.get_or_insert(now) } else { now };
            let claimed = self.claim(due).await;
            if self.options.once && claimed == 0 && self.running.is_empty() {
                break;
            }
            if claimed > 0 && self.running.len() < self.options.limit {
                continue;
            }
            let wake = self.next_wake(next_beat).await;
            tokio::select! {
                _ = self.stop.cancelled() => break,
                Some(done) = self.tasks.join_next(), if !self.tasks.is_empty() => {
                    self.finished(done);
                    // Every run that ended meanwhile: one claim fills their slots.
                    while let Some(done) = self.tasks.try_join_next() {
                        self.finished(done);
                    }
                }
                changed = wait_for_change(&self.store, &mut counter, wake) => {
                    if changed && !self.running.is_empty() {
                        self.cancel_requested().await;
                    }
                }
            }
        }
        self.shutdown(beat).await;
        Ok(self.report.clone())
    }

    /// When to look again without a change in the store: at the next
    /// heartbeat, or when the earliest queued run this worker could take
    /// falls due.
    async fn next_wake(&self, next_beat: tokio::time::Instant) -> tokio::time::Instant {
        if self.running.len() >= self.options.limit || self.options.once {
            return next_beat;
        }
        let now = Utc::now();
        let earliest = self.store.next_due(self.request(now, 1)).await.ok().flatten();
        match earliest.and_then(|t| (t - now).to_std().ok()) {
            Some(wait) => next_beat.min(tokio::time::Instant::now() + wait),
            None => next_beat,
        }
    }

    /// What this worker asks the store for: its queues, flows and labels.
    fn request(&self, now: DateTime<Utc>, limit: usize) -> ClaimRequest<'_> {
        ClaimRequest {
            queues: &self.options.queues,
            flows: &self.flows,
            labels: &self.options.labels,
            now,
            limit,
            lease: self.lease.id,
        }
    }

    /// Claims what is due up to the limit and starts it; returns how many.
    async fn claim(&mut self, due: DateTime<Utc>) -> usize {
        let room = self.options.limit.saturating_sub(self.running.len());
        if room == 0 {
            return 0;
        }
        let request = self.request(due, room);
        let claimed = match self.store.claim_flow_runs(request).await {
            Ok(claimed) => claimed,
            Err(error) => {
                tracing::warn!("worker {}: claiming runs failed: {error}", self.name);
                return 0;
            }
        };
        let count = claimed.len();
        for run in claimed {
            self.start_run(run).await;
        }
        count
    }

    async fn start_run(&mut self, run: QueuedRun) {
        self.report.started += 1;
        let call = match self.registry.call(&run.flow_name, run.parameters.clone()) {
            Ok(call) => call,
            Err(error) => {
                // Parameters that do not fit the flow: the body never runs.
                tracing::error!("flow run {} ({}) cannot start: {error}", run.name, run.deployment_name);
                let failed = StateMeta::new(StateType::Failed).with_message(error.to_string());
                let _ = self.store.set_flow_run_state(run.id, &failed, &[StateType::Pending]).await;
                self.report.failed += 1;
                return;
            }
        };
        tracing::info!(
            "worker {}: running {} ({}, due {})",
            self.name,
            run.name,
            run.deployment_name,
            run.scheduled.to_rfc3339()
        );
        let token = CancellationToken::new();
        let run_flow = run.flow_name.clone();
        let existing = ExistingRun {
            id: run.id,
            name: run.name,
            runs_before: run.run_count,
            cancel: Some(token.clone()),
        };
        let id = run.id;
        self.running.insert(id, token.clone());
        if self.options.isolation == Isolation::Process {
            // The parameters were checked above; the child reads them again.
            drop(call);
            let timeout = self.registry.get(&run_flow).and_then(|e| e.flow().options().timeout());
            let store = self.store.clone();
            let grace = self.options.kill_grace;
            self.tasks.spawn(async move { (id, run_in_child(store, id, timeout, grace, token).await) });
            return;
        }
        let future = call.existing_run(existing).return_state();
        self.tasks.spawn(async move { (id, future.await.state_type()) });
    }

    fn finished(&mut self, done: Result<(FlowRunId, StateType), tokio::task::JoinError>) {
        let Ok((id, state)) = done else {
            // A run's task panicked outside the engine's own catch: count it.
            self.report.failed += 1;
            return;
        };
        self.running.remove(&id);
        match state {
            StateType::Completed => self.report.completed += 1,
            StateType::Cancelled => self.report.cancelled += 1,
            _ => self.report.failed += 1,
        }
    }

    /// Cancels the runs someone asked to cancel.
    async fn cancel_requested(&mut self) {
        let Ok(ids) = self.store.cancelling_runs(self.lease.id).await else { return };
        for id in ids {
            if let Some(token) = self.running.get(&id) {
                tracing::info!("worker {}: cancelling flow run {id} as asked", self.name);
                token.cancel();
            }
        }
    }

    /// Renews the lease, reports the worker, checks cancellations, finds
    /// crashed runs of dead workers, and logs (once) runs no flow here takes.
    async fn heartbeat(&mut self, status: &str) {
        match self.store.renew_lease(&self.lease, self.options.lease_ttl()).await {
            Ok(true) => {}
            Ok(false) => tracing::warn!("worker {}: its lease had lapsed; taken again", self.name),
            Err(error) => tracing::warn!("worker {}: renewing its lease failed: {error}", self.name),
        }
        if let Err(error) = self.store.worker_heartbeat(&self.beat_of(status)).await {
            tracing::warn!("worker {}: heartbeat failed: {error}", self.name);
        }
        if !self.running.is_empty() {
            self.cancel_requested().await;
        }
        self.reschedule_crashed().await;
        self.log_unknown_flows().await;
    }

    /// Marks Crashed the runs of dead processes; a crashed run of a
    /// deployment whose flow has retries left goes back to the queue
    /// (whoever marked it Crashed: this worker, another, the CLI).
    async fn reschedule_crashed(&mut self) {
        let _ = self.store.mark_crashed_stale_runs().await;
        let since = Utc::now() - TimeDelta::days(1);
        let Ok(crashed) = self.store.crashed_runs(since).await else { return };
        for run in crashed {
            let Some(entry) = self.registry.get(&run.flow_name) else { continue };
            let options = entry.flow().options();
            let (runs, retries) = (run.run_count, options.retries());
            if runs > retries {
                continue;
            }
            let delay = options.retry_delay().delay_for(runs.saturating_sub(1));
            let due = Utc::now() + TimeDelta::from_std(delay).unwrap_or_default();
            let retry = StateMeta { scheduled_time: Some(due), ..StateMeta::new(StateType::Scheduled) }
                .named(prefect_model::state::names::AWAITING_RETRY)
                .with_message(format!("crashed with its worker; retry {runs} of {retries}"));
            if let Ok(Some(_)) = self.store.set_flow_run_state(run.id, &retry, &[StateType::Crashed]).await {
                tracing::info!(
                    "flow run {} crashed with its worker; retrying ({runs} of {retries})",
                    run.name
                );
                self.report.rescheduled += 1;
            }
        }
    }

    async fn log_unknown_flows(&mut self) {
        let Ok(due) = self.store.queued_runs(None, Some(Utc::now()), 256).await else { return };
        for run in due {
            let queue_ok = self.options.queues.is_empty() || self.options.queues.contains(&run.work_queue);
            if queue_ok
                && !self.flows.contains(&run.flow_name)
                && self.unknown_logged.insert(run.flow_name.clone())
            {
                tracing::warn!(
                    "worker {}: runs of deployment {} wait in queue {}, but this binary has no flow `{}`; \
                     they stay Scheduled for a worker that has it",
                    self.name,
                    run.deployment_name,
                    run.work_queue,
                    run.flow_name
                );
            }
        }
    }

    /// Stops claiming, lets running flows finish within the grace period,
    /// cancels the rest, and gives the lease up.
    async fn shutdown(&mut self, beat: &mut dyn Beat) {
        if !self.running.is_empty() {
            tracing::info!(
                "worker {}: stopping; waiting up to {:?} for {} running flow run(s)",
                self.name,
                self.options.grace,
                self.running.len()
            );
        }
        self.heartbeat_status("stopping").await;
        let deadline = tokio::time::Instant::now() + self.options.grace;
        while !self.tasks.is_empty() {
            match tokio::time::timeout_at(deadline, self.tasks.join_next()).await {
                Ok(Some(done)) => self.finished(done),
                Ok(None) => break,
                Err(_) => {
                    tracing::warn!(
                        "worker {}: grace period over; cancelling {} run(s)",
                        self.name,
                        self.running.len()
                    );
                    for token in self.running.values() {
                        token.cancel();
                    }
                    let hard = tokio::time::Instant::now() + Duration::from_secs(10);
                    while let Ok(Some(done)) = tokio::time::timeout_at(hard, self.tasks.join_next()).await {
                        self.finished(done);
                    }
                    break;
                }
            }
        }
        beat.stopping(&self.store).await;
        self.heartbeat_status("offline").await;
        if let Err(error) = self.store.release_lease(self.lease.id).await {
            tracing::warn!("worker {}: releasing its lease failed: {error}", self.name);
        }
    }

    async fn heartbeat_status(&self, status: &str) {
        let _ = self.store.worker_heartbeat(&self.beat_of(status)).await;
    }

    /// What the worker reports of itself now.
    fn beat_of(&self, status: &str) -> WorkerBeat {
        WorkerBeat {
            name: self.name.clone(),
            queues: self.options.queues.clone(),
            flows: self.flows.clone(),
            labels: self.options.labels.clone(),
            lease: self.lease.id,
            status: status.to_owned(),
            time: Utc::now(),
        }
    }
}

/// Waits until the run queue changes (true), or until `until` (false).
async fn wait_for_change(store: &AnyStore, counter: &mut Option<u64>, until: tokio::time::Instant) -> bool {
    loop {
        // Read before sleeping: a commit made while the worker was busy
        // (a run created as the last one ended) is seen at once.
        let known = match store.queue_change_counter().await {
            Ok(Some(value)) => {
                if counter.replace(value).is_some_and(|before| before != value) {
                    return true;
                }
                Some(value)
            }
            _ => None,
        };
        let now = tokio::time::Instant::now();
        if now >= until {
            return false;
        }
        if let Some(seen) = known {
            // A store that is told of changes (PostgreSQL's LISTEN/NOTIFY)
            // wakes the worker when one comes, with no polling delay.
            if let Ok(Some(value)) = store.wait_for_queue_change(seen, until - now).await {
                *counter = Some(value);
                return value != seen;
            }
        }
        tokio::time::sleep(POLL.min(until - now)).await;
        if known.is_none() {
            // A store that cannot tell: look at the queue every poll.
            return true;
        }
    }
}

/// Cancels `stop` at the first SIGINT or SIGTERM.
fn listen_for_signals(stop: CancellationToken) -> Result<(), Error> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = signal(SignalKind::terminate()).map_err(Error::Signals)?;
        let mut int = signal(SignalKind::interrupt()).map_err(Error::Signals)?;
        tokio::spawn(async move {
            tokio::select! {
                _ = term.recv() => {}
                _ = int.recv() => {}
                _ = stop.cancelled() => return,
            }
            tracing::info!("shutdown signal received");
            stop.cancel();
        });
    }
    #[cfg(not(unix))]
    {
        tokio::spawn(async move {
            tokio::select! {
                result = tokio::signal::ctrl_c() => if result.is_err() { return },
                _ = stop.cancelled() => return,
            }
            stop.cancel();
        });
    }
    Ok(())
}
