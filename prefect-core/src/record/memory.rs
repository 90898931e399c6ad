//! An in-memory recorder with queries, for tests and small programs.

use std::collections::HashMap;
use std::ops::Deref;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use super::{DependencyEdge, Event, FlowRunRecord, LogRecord, Recorder, TaskRunRecord};
use crate::ids::{FlowRunId, RunId, TaskRunId};
use crate::state::StateMeta;

/// Keeps every event in memory, in the order recorded.
///
/// # Examples
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use std::sync::Arc;
/// use prefect_core::{record::MemoryRecorder, testing, Task};
///
/// let recorder = Arc::new(MemoryRecorder::new());
/// testing::with_recorder(recorder.clone(), async {
///     prefect_core::run_task(&Task::new("add"), || async { Ok::<_, std::io::Error>(1 + 1) })
///         .await
///         .unwrap();
/// })
/// .await;
/// let runs = recorder.task_runs();
/// assert_eq!(runs[0].task_name, "add");
/// assert_eq!(runs[0].state_names(), ["Pending", "Running", "Completed"]);
/// # }
/// ```
#[derive(Debug, Default)]
pub struct MemoryRecorder {
    /// Events by recording thread, so concurrent runs do not queue on one
    /// lock; each carries a global sequence number that restores the order.
    shards: [Mutex<Vec<(u64, Event)>>; SHARDS],
    sequence: AtomicU64,
}

const SHARDS: usize = 8;

/// The shard of the calling thread, assigned round-robin on first use.
fn shard_index() -> usize {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    thread_local! {
        static SHARD: usize = NEXT.fetch_add(1, Ordering::Relaxed) % SHARDS;
    }
    SHARD.with(|s| *s)
}

/// Every event in recording order.
struct Ordered(Vec<Event>);

impl Ordered {
    fn iter(&self) -> std::slice::Iter<'_, Event> {
        self.0.iter()
    }
}

/// A flow run with its state history.
#[derive(Debug, Clone)]
pub struct FlowRunView {
    /// The run as created.
    pub record: Arc<FlowRunRecord>,
    /// Every state it entered, oldest first.
    pub states: Vec<StateMeta>,
    /// How many times it entered Running.
    pub run_count: u32,
}

/// A task run with its state history and upstream edges.
#[derive(Debug, Clone)]
pub struct TaskRunView {
    /// The run as created.
    pub record: Arc<TaskRunRecord>,
    /// Every state it entered, oldest first.
    pub states: Vec<StateMeta>,
    /// How many times it entered Running.
    pub run_count: u32,
    /// The runs it depends on.
    pub upstream: Vec<DependencyEdge>,
}

macro_rules! view_helpers {
    ($view:ty, $record:ty) => {
        impl $view {
            /// The latest state.
            pub fn state(&self) -> Option<&StateMeta> {
                self.states.last()
            }

            /// The names of every state, oldest first.
            pub fn state_names(&self) -> Vec<&str> {
                self.states.iter().map(|s| &*s.name).collect()
            }
        }

        impl Deref for $view {
            type Target = $record;

            fn deref(&self) -> &$record {
                &self.record
            }
        }
    };
}

view_helpers!(FlowRunView, FlowRunRecord);
view_helpers!(TaskRunView, TaskRunRecord);

impl MemoryRecorder {
    /// An empty recorder.
    pub fn new() -> Self {
        Self::default()
    }

    fn shard(&self, index: usize) -> MutexGuard<'_, Vec<(u64, Event)>> {
        // A panic while holding the lock cannot leave a Vec half-pushed.
        self.shards[index].lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// A snapshot of every event, in recording order.
    fn lock(&self) -> Ordered {
        let mut all: Vec<(u64, Event)> = Vec::new();
        for index in 0..SHARDS {
            all.extend(self.shard(index).iter().cloned());
        }
        all.sort_unstable_by_key(|(seq, _)| *seq);
        Ordered(all.into_iter().map(|(_, event)| event).collect())
    }

    /// Every event, in the order recorded.
    pub fn events(&self) -> Vec<Event> {
        self.lock().0
    }

    /// How many events have been recorded.
    pub fn len(&self) -> usize {
        (0..SHARDS).map(|i| self.shard(i).len()).sum()
    }

    /// True when nothing has been recorded.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Forgets every event.
    pub fn clear(&self) {
        for index in 0..SHARDS {
            self.shard(index).clear();
        }
    }

    /// Every flow run, in creation order.
    pub fn flow_runs(&self) -> Vec<FlowRunView> {
        let events = self.lock();
        let mut views: Vec<FlowRunView> = Vec::new();
        let mut index: HashMap<FlowRunId, usize> = HashMap::new();
        for event in events.iter() {
            match event {
                Event::FlowRunCreated(record) => {
                    index.insert(record.id, views.len());
                    views.push(FlowRunView { record: record.clone(), states: Vec::new(), run_count: 0 });
                }
                Event::StateChanged(change) => {
                    if let RunId::Flow(id) = change.run
                        && let Some(&i) = index.get(&id)
                    {
                        views[i].states.push(change.state.clone());
                        views[i].run_count = change.run_count;
                    }
                }
                _ => {}
            }
        }
        views
    }

    /// Every task run, in creation order.
    pub fn task_runs(&self) -> Vec<TaskRunView> {
        let events = self.lock();
        let mut views: Vec<TaskRunView> = Vec::new();
        let mut index: HashMap<TaskRunId, usize> = HashMap::new();
        for event in events.iter() {
            match event {
                Event::TaskRunCreated(record) => {
                    index.insert(record.id, views.len());
                    views.push(TaskRunView {
                        record: record.clone(),
                        states: Vec::new(),
                        run_count: 0,
                        upstream: Vec::new(),
                    });
                }
                Event::StateChanged(change) => {
                    if let RunId::Task(id) = change.run
                        && let Some(&i) = index.get(&id)
                    {
                        views[i].states.push(change.state.clone());
                        views[i].run_count = change.run_count;
                    }
                }
                Event::Dependency(edge) => {
                    if let Some(&i) = index.get(&edge.downstream) {
                        views[i].upstream.push(edge.clone());
                    }
                }
                _ => {}
            }
        }
        views
    }

    /// The flow runs of the flow named `flow_name`.
    pub fn flow_runs_of(&self, flow_name: &str) -> Vec<FlowRunView> {
        self.flow_runs().into_iter().filter(|r| r.flow_name == flow_name).collect()
    }

    /// The task runs of the task named `task_name`.
    pub fn task_runs_of(&self, task_name: &str) -> Vec<TaskRunView> {
        self.task_runs().into_iter().filter(|r| r.task_name == task_name).collect()
    }

    /// The state history of one run, oldest first.
    pub fn states(&self, run: impl Into<RunId>) -> Vec<StateMeta> {
        let run = run.into();
        self.lock()
            .iter()
            .filter_map(|e| match e {
                Event::StateChanged(c) if c.run == run => Some(c.state.clone()),
                _ => None,
            })
            .collect()
    }

    /// The log lines of one run. For a flow run these are the lines emitted
    /// in the flow's own body and hooks, not those of its task runs.
    pub fn logs(&self, run: impl Into<RunId>) -> Vec<LogRecord> {
        let run = run.into();
        self.lock()
            .iter()
            .filter_map(|e| match e {
                Event::Log(log) if log_belongs_to(log, run) => Some((**log).clone()),
                _ => None,
            })
            .collect()
    }

    /// Every log line recorded inside any run.
    pub fn all_logs(&self) -> Vec<LogRecord> {
        self.lock()
            .iter()
            .filter_map(|e| match e {
                Event::Log(log) => Some((**log).clone()),
                _ => None,
            })
            .collect()
    }

    /// Every dependency edge.
    pub fn dependencies(&self) -> Vec<DependencyEdge> {
        self.lock()
            .iter()
            .filter_map(|e| match e {
                Event::Dependency(edge) => Some(edge.clone()),
                _ => None,
            })
            .collect()
    }
}

fn log_belongs_to(log: &LogRecord, run: RunId) -> bool {
    match run {
        RunId::Task(id) => log.task_run_id == Some(id),
        RunId::Flow(id) => log.flow_run_id == Some(id) && log.task_run_id.is_none(),
    }
}

impl Recorder for MemoryRecorder {
    fn record(&self, event: Event) {
        let sequence = self.sequence.fetch_add(1, Ordering::Relaxed);
        self.shard(shard_index()).push((sequence, event));
    }
}
