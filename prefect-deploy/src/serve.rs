//! [`serve`]: registers deployments, schedules their runs ahead, and runs
//! them when due, in this process.

use std::collections::HashSet;
use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use prefect_core::FlowRegistry;
use prefect_model::{StateMeta, StateType};
use prefect_store::{AnyStore, DeploymentId, NewFlowRun};
use tokio_util::sync::CancellationToken;

use crate::deployment::{Catchup, Deployment};
use crate::schedules::Horizon;
use crate::worker::{Beat, BeatFuture, Engine, LoopOptions, WorkReport, open_store};
use crate::{Error, scheduled_run_id};

/// At most this many missed runs per deployment are caught up (the latest).
const MAX_CATCHUP: usize = 100;

/// Serves `deployments` from this process: see [`Serve`].
pub fn serve(deployments: impl IntoIterator<Item = Deployment>) -> Serve {
    Serve {
        deployments: deployments.into_iter().collect(),
        options: LoopOptions::default(),
        late_after: Duration::from_secs(15),
        pause_on_shutdown: true,
        horizon: Horizon::default(),
        stop: CancellationToken::new(),
    }
}

/// What [`serve`] returns: configure it, then `.await` it.
///
/// Awaited, it:
/// 1. registers each deployment in the run database (the same `flow/name`
///    updates it; runs its old schedules made and nobody claimed are
///    dropped when its schedules change);
/// 2. catches up on runs missed while nothing served it, by each
///    deployment's [`Catchup`] policy;
/// 3. schedules runs ahead, as Prefect does (at least 3 runs and 1 h, at
///    most 100 runs or 100 days), each with an id derived from the
///    deployment and its time ([`scheduled_run_id`]), so two processes
///    serving the same deployment create each run once;
/// 4. runs due runs here, up to its limit at once, as a [`Worker`](crate::Worker)
///    of its deployments' flows and queues; marks Late the runs that have
///    not started 15 s after their time;
/// 5. on SIGINT/SIGTERM stops claiming, lets running flows finish within
///    the grace period, and pauses its deployments' schedules (unless
///    [`keep_schedules_on_shutdown`](Serve::keep_schedules_on_shutdown)).
///
/// With [`run_once`](Serve::run_once) it does 1 to 3, runs what is due
/// now, waits for it and returns: start the binary from cron or a systemd
/// timer instead of keeping it running.
#[must_use = "serve does nothing until awaited"]
#[derive(Debug)]
pub struct Serve {
    deployments: Vec<Deployment>,
    options: LoopOptions,
    late_after: Duration,
    pause_on_shutdown: bool,
    horizon: Horizon,
    stop: CancellationToken,
}

impl Serve {
    /// Runs at most `limit` flow runs at once in this process (default 16).
    pub fn limit(mut self, limit: usize) -> Serve {
        self.options.limit = limit.max(1);
        self
    }

    /// Runs what is due, waits for it, and returns.
    pub fn run_once(mut self) -> Serve {
        self.options.once = true;
        self
    }

    /// [`run_once`](Serve::run_once) when the program was started with a
    /// `--run-once` argument.
    pub fn run_once_from_args(self) -> Serve {
        if std::env::args().skip(1).any(|arg| arg == "--run-once") { self.run_once() } else { self }
    }

    /// How long after its time a run that has not started is marked Late
    /// (default 15 s); runs due longer ago than this when serving starts
    /// are the missed ones the catch-up policy decides on.
    pub fn late_after(mut self, after: Duration) -> Serve {
        self.late_after = after;
        self
    }

    /// Leaves the deployments' schedules active when serving stops (by
    /// default they are paused, as Prefect's `serve` does).
    pub fn keep_schedules_on_shutdown(mut self) -> Serve {
        self.pause_on_shutdown = false;
        self
    }

    /// How long running flows may take to finish after a stop (default 30 s).
    pub fn grace(mut self, grace: Duration) -> Serve {
        self.options.grace = grace;
        self
    }

    /// How often it schedules, marks late runs and renews its lease
    /// (default 5 s).
    pub fn heartbeat(mut self, every: Duration) -> Serve {
        self.options.set_heartbeat(every);
        self
    }

    /// How long its lease lasts without a heartbeat (see
    /// [`Worker::lease_ttl`](crate::Worker::lease_ttl)): when this process
    /// dies on another machine, its runs end Crashed once it lapses.
    pub fn lease_ttl(mut self, ttl: Duration) -> Serve {
        self.options.explicit_ttl = Some(ttl);
        self
    }

    /// How far ahead runs are scheduled.
    pub fn horizon(mut self, horizon: Horizon) -> Serve {
        self.horizon = horizon;
        self
    }

    /// Whether SIGINT and SIGTERM stop it (default true).
    pub fn handle_signals(mut self, handle: bool) -> Serve {
        self.options.signals = handle;
        self
    }

    /// Its worker's name in `prefect worker ls`.
    pub fn name(mut self, name: impl Into<String>) -> Serve {
        self.options.name = Some(name.into());
        self
    }

    /// Where due runs execute: in this process (the default), or each in a
    /// child process of this binary (see [`Isolation`](crate::Isolation)).
    pub fn isolation(mut self, isolation: crate::Isolation) -> Serve {
        self.options.isolation = isolation;
        self
    }

    /// A token that stops serving when cancelled, as a signal would.
    pub fn stop_token(&self) -> CancellationToken {
        self.stop.clone()
    }

    async fn run(self) -> Result<WorkReport, Error> {
        let mut registry = FlowRegistry::new();
        let mut names = HashSet::new();
        let (mut queues, mut labels) = (Vec::new(), Vec::new());
        for deployment in &self.deployments {
            if !names.insert(deployment.full_name()) {
                return Err(Error::DuplicateDeployment(deployment.full_name()));
            }
            registry.register(*deployment.entry());
        }
        let specs = self.deployments.iter().map(Deployment::spec).collect::<Result<Vec<_>, _>>()?;
        let store = open_store(&registry)?;
        if let Some(run) = crate::isolation::assigned_run() {
            return crate::worker::run_one(&store, &registry, &run).await;
        }
        let now = Utc::now();
        let mut scheduler = Scheduler {
            served: Vec::new(),
            late_after: self.late_after,
            horizon: self.horizon,
            pause_on_shutdown: self.pause_on_shutdown && !self.options.once,
        };
        for (deployment, spec) in self.deployments.into_iter().zip(specs) {
            let stored = store.upsert_deployment(&spec).await?;
            if !queues.contains(&stored.spec.work_queue) {
                queues.push(stored.spec.work_queue.clone());
            }
            for label in &stored.spec.labels {
                if !labels.contains(label) {
                    labels.push(label.clone());
                }
            }
            tracing::info!("serving deployment {} (queue {})", stored.full_name(), stored.spec.work_queue);
            let served = Served {
                full_name: stored.full_name(),
                id: stored.id,
                planned: vec![None; deployment.schedules().len()],
                updated: stored.updated,
                deployment,
            };
            scheduler.catch_up(&store, &served, now).await?;
            scheduler.served.push(served);
        }
        let mut options = self.options;
        options.queues = queues;
        // Its own deployments' runs are its to take, whatever their labels.
        options.labels = labels;
        let mut engine = Engine::start(store, registry, options, self.stop).await?;
        // The first beat schedules before anything is claimed.
        scheduler.beat(engine.store(), Utc::now()).await;
        engine.run(&mut scheduler).await
    }
}

impl IntoFuture for Serve {
    type Output = Result<WorkReport, Error>;
    type IntoFuture = Pin<Box<dyn Future<Output = Result<WorkReport, Error>> + Send>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.run())
    }
}

/// A deployment being served.
#[derive(Debug)]
struct Served {
    deployment: Deployment,
    full_name: String,
    id: DeploymentId,
    /// Per schedule: how far runs were created, and when to plan again.
    planned: Vec<Option<Plan>>,
    /// When the stored deployment last changed: a change made elsewhere (a
    /// pause and resume from the CLI deletes scheduled runs) plans again.
    updated: DateTime<Utc>,
}

impl Served {
    fn new_run(&self, schedule: usize, scheduled: DateTime<Utc>, now: DateTime<Utc>) -> NewFlowRun {
        let entry = self.deployment.schedules().get(schedule);
        NewFlowRun {
            id: scheduled_run_id(&self.full_name, scheduled),
            deployment: self.id,
            name: prefect_model::run_names::flow_run_name(),
            parameters: self.deployment.run_parameters(entry),
            scheduled,
            auto_scheduled: true,
            parent_flow_run_id: None,
            created: now,
        }
    }
}

/// How far a schedule's runs were created.
#[derive(Debug, Clone, Copy)]
struct Plan {
    /// The latest time a run was created for.
    until: DateTime<Utc>,
    /// When fewer than the horizon's minimum (runs or time) would remain
    /// ahead: the next beat after it plans again. An idle server with
    /// hourly schedules computes nothing in between.
    replan_at: DateTime<Utc>,
}

impl Plan {
    fn of(times: &[DateTime<Utc>], horizon: Horizon) -> Option<Plan> {
        let until = *times.last()?;
        let by_runs = times[times.len().saturating_sub(horizon.min_runs)];
        let by_time = until - TimeDelta::from_std(horizon.min_time).unwrap_or_default();
        Some(Plan { until, replan_at: by_runs.min(by_time) })
    }
}

struct Scheduler {
    served: Vec<Served>,
    late_after: Duration,
    horizon: Horizon,
    pause_on_shutdown: bool,
}

impl Scheduler {
    /// Creates the runs missed since the deployment's latest run (the
    /// latest [`MAX_CATCHUP`]), then applies its policy to every run
    /// still queued that was due more than `late_after` ago.
    async fn catch_up(&self, store: &AnyStore, served: &Served, now: DateTime<Utc>) -> Result<(), Error> {
        let cutoff = now - TimeDelta::from_std(self.late_after).unwrap_or_default();
        if let Some(last) = store.latest_expected_start(served.id).await? {
            let mut missed = Vec::new();
            for (i, entry) in served.deployment.schedules().iter().enumerate().filter(|(_, e)| e.is_active())
            {
                let mut after = last;
                while let Some(time) = entry.schedule().next_after(after).filter(|t| *t <= cutoff) {
                    missed.push((time, i));
                    after = time;
                    if missed.len() > 100 * MAX_CATCHUP {
                        break;
                    }
                }
            }
            missed.sort();
            let skipped = missed.len().saturating_sub(MAX_CATCHUP);
            if skipped > 0 {
                tracing::warn!(
                    "deployment {}: {} runs were missed; only the latest {MAX_CATCHUP} are caught up",
                    served.full_name,
                    missed.len()
                );
            }
            let runs: Vec<NewFlowRun> =
                missed[skipped..].iter().map(|(time, i)| served.new_run(*i, *time, now)).collect();
            store.create_flow_runs(&runs).await?;
        }
        let missed = store.queued_runs(Some(served.id), Some(cutoff), usize::MAX >> 1).await?;
        let policy = served.deployment.catchup_policy();
        let (skip, message): (&[_], &str) = match policy {
            Catchup::All => (&[], ""),
            Catchup::Latest => (
                &missed[..missed.len().saturating_sub(1)],
                "missed while nothing served this deployment; catch-up `latest` runs only its latest missed run",
            ),
            Catchup::Skip => {
                (&missed[..], "missed while nothing served this deployment; catch-up `skip` runs none")
            }
        };
        if policy == Catchup::Skip {
            store.mark_late_runs(cutoff).await?;
        }
        for run in skip {
            let cancelled = StateMeta::new(StateType::Cancelled).with_message(message);
            store.set_flow_run_state(run.id, &cancelled, &[StateType::Scheduled]).await?;
        }
        if !missed.is_empty() {
            tracing::info!(
                "deployment {}: {} missed run(s); catch-up `{}`: {} cancelled",
                served.full_name,
                missed.len(),
                policy.as_str(),
                skip.len()
            );
        }
        Ok(())
    }

    async fn schedule(&mut self, store: &AnyStore, now: DateTime<Utc>) {
        let stored = match store.list_deployments().await {
            Ok(stored) => stored,
            Err(error) => {
                tracing::warn!("scheduling failed: {error}");
                return;
            }
        };
        for served in &mut self.served {
            let Some(current) = stored.iter().find(|d| d.id == served.id) else { continue };
            if current.updated != served.updated || current.spec.paused {
                served.updated = current.updated;
                served.planned.iter_mut().for_each(|plan| *plan = None);
            }
            if current.spec.paused {
                continue;
            }
            let mut runs = Vec::new();
            let mut planned = served.planned.clone();
            for (i, entry) in served.deployment.schedules().iter().enumerate() {
                // Planned far enough ahead still: nothing to compute.
                if planned[i].is_some_and(|p| now < p.replan_at) {
                    continue;
                }
                let times = entry.plan(now, self.horizon);
                let until = planned[i].map(|p| p.until);
                for time in &times {
                    if until.is_none_or(|until| *time > until) {
                        runs.push(served.new_run(i, *time, now));
                    }
                }
                planned[i] = Plan::of(&times, self.horizon).or(planned[i]);
            }
            if runs.is_empty() {
                served.planned = planned;
                continue;
            }
            match store.create_flow_runs(&runs).await {
                Ok(created) => {
                    served.planned = planned;
                    if !created.is_empty() {
                        tracing::debug!(
                            "deployment {}: {} run(s) scheduled",
                            served.full_name,
                            created.len()
                        );
                    }
                }
                Err(error) => tracing::warn!("deployment {}: scheduling failed: {error}", served.full_name),
            }
        }
    }
}

impl Beat for Scheduler {
    fn beat<'a>(&'a mut self, store: &'a AnyStore, now: DateTime<Utc>) -> BeatFuture<'a> {
        Box::pin(async move {
            self.schedule(store, now).await;
            let cutoff = now - TimeDelta::from_std(self.late_after).unwrap_or_default();
            match store.mark_late_runs(cutoff).await {
                Ok(late) if !late.is_empty() => tracing::warn!("{} flow run(s) are late", late.len()),
                Ok(_) => {}
                Err(error) => tracing::warn!("marking late runs failed: {error}"),
            }
        })
    }

    fn stopping<'a>(&'a mut self, store: &'a AnyStore) -> BeatFuture<'a> {
        Box::pin(async move {
            if !self.pause_on_shutdown {
                return;
            }
            for served in &self.served {
                match store.set_deployment_paused(&served.full_name, true).await {
                    Ok(_) => tracing::info!("deployment {}: schedules paused", served.full_name),
                    Err(error) => tracing::warn!("deployment {}: pausing failed: {error}", served.full_name),
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> AnyStore {
        AnyStore::new(prefect_store_sqlite::SqliteStore::open_in_memory().unwrap())
    }

    async fn served(store: &AnyStore, deployment: Deployment) -> Served {
        let stored = store.upsert_deployment(&deployment.spec().unwrap()).await.unwrap();
        Served {
            full_name: stored.full_name(),
            id: stored.id,
            planned: vec![None; deployment.schedules().len()],
            updated: stored.updated,
            deployment,
        }
    }

    fn scheduler_of(served: Served) -> Scheduler {
        Scheduler {
            served: vec![served],
            late_after: Duration::from_secs(15),
            horizon: Horizon::default(),
            pause_on_shutdown: true,
        }
    }

    #[tokio::test]
    async fn a_clock_set_back_creates_no_second_run_for_a_time() {
        let store = store();
        let hourly = Deployment::new(crate::__doc_entry(), "hourly")
            .cron("0 * * * *", "Europe/Berlin")
            .parameter("months", [1]);
        let mut scheduler = scheduler_of(served(&store, hourly).await);
        let now = Utc::now();
        scheduler.schedule(&store, now).await;
        let first = store.queued_runs(None, None, 1000).await.unwrap();
        assert_eq!(first.len(), 3, "Prefect's horizon: at least 3 runs and 1 h ahead");
        // The system clock jumps back two hours, then forward again; a fresh
        // process (nothing planned in memory) schedules too.
        scheduler.schedule(&store, now - TimeDelta::hours(2)).await;
        scheduler.schedule(&store, now + TimeDelta::minutes(1)).await;
        let mut fresh = scheduler_of(
            served(
                &store,
                Deployment::new(crate::__doc_entry(), "hourly")
                    .cron("0 * * * *", "Europe/Berlin")
                    .parameter("months", [1]),
            )
            .await,
        );
        fresh.schedule(&store, now - TimeDelta::hours(2)).await;
        let all = store.queued_runs(None, None, 1000).await.unwrap();
        let mut times: Vec<_> = all.iter().map(|r| r.scheduled).collect();
        let count = times.len();
        times.dedup();
        assert_eq!(times.len(), count, "one run per scheduled time");
        assert!((3..=6).contains(&count), "the hours of the jump at most: {count}");
    }

    #[tokio::test]
    async fn an_idle_scheduler_plans_again_only_when_its_horizon_runs_short() {
        let store = store();
        let daily =
            Deployment::new(crate::__doc_entry(), "daily").cron("0 6 * * *", "UTC").parameter("months", [1]);
        let mut scheduler = scheduler_of(served(&store, daily).await);
        let now = Utc::now();
        scheduler.schedule(&store, now).await;
        let plan = scheduler.served[0].planned[0].unwrap();
        let queued = store.queued_runs(None, None, 1000).await.unwrap();
        assert_eq!(queued.len(), 3);
        // Three runs ahead until the first is due: beats before then compute nothing.
        assert_eq!(plan.replan_at, queued[0].scheduled, "{plan:?}");
        scheduler.schedule(&store, plan.replan_at - TimeDelta::seconds(1)).await;
        assert_eq!(scheduler.served[0].planned[0].unwrap().until, plan.until);
        // Once it is due, the next day is planned.
        scheduler.schedule(&store, plan.replan_at + TimeDelta::seconds(1)).await;
        assert_eq!(scheduler.served[0].planned[0].unwrap().until, plan.until + TimeDelta::days(1));
        assert_eq!(store.queued_runs(None, None, 1000).await.unwrap().len(), 4);
    }
}
