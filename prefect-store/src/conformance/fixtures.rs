//! Builds run events by hand, with a controllable clock.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use prefect_model::{
    DependencyEdge, DependencyKind, Event, FlowRunRecord, LogLevel, LogRecord, ResultReference, StateChange,
    TaskRunRecord,
};
use prefect_model::{FlowRunId, RunId, StateMeta, StateType, TaskRunId};

/// A script of events: every call appends one event, stamped with a clock
/// that moves forward one millisecond per event.
///
/// # Examples
/// ```
/// use prefect_model::StateType;
/// use prefect_store::conformance::Events;
///
/// let mut events = Events::starting_now();
/// let flow_run = events.flow_run("etl", "brave-otter");
/// events.state(flow_run, StateType::Running);
/// assert_eq!(events.take().len(), 2);
/// ```
#[derive(Debug)]
pub struct Events {
    events: Vec<Event>,
    clock: DateTime<Utc>,
    run_counts: HashMap<RunId, u32>,
}

impl Events {
    /// A script whose clock starts at `start`, truncated to microseconds
    /// (the precision stores keep).
    pub fn starting_at(start: DateTime<Utc>) -> Self {
        let clock = DateTime::from_timestamp_micros(start.timestamp_micros()).unwrap_or(start);
        Events { events: Vec::new(), clock, run_counts: HashMap::new() }
    }

    /// A script whose clock starts now.
    pub fn starting_now() -> Self {
        Self::starting_at(Utc::now())
    }

    /// A script whose clock started `ago` in the past (at the earliest
    /// time chrono represents when `ago` reaches before it).
    pub fn starting_ago(ago: Duration) -> Self {
        let start = TimeDelta::from_std(ago).ok().and_then(|ago| Utc::now().checked_sub_signed(ago));
        Self::starting_at(start.unwrap_or(DateTime::<Utc>::MIN_UTC))
    }

    /// The clock's current time.
    pub fn now(&self) -> DateTime<Utc> {
        self.clock
    }

    /// Moves the clock forward by `by`.
    pub fn advance(&mut self, by: Duration) {
        let later = TimeDelta::from_std(by).ok().and_then(|by| self.clock.checked_add_signed(by));
        self.clock = later.unwrap_or(DateTime::<Utc>::MAX_UTC);
    }

    fn tick(&mut self) -> DateTime<Utc> {
        self.clock += TimeDelta::milliseconds(1);
        self.clock
    }

    /// Takes the events appended so far.
    pub fn take(&mut self) -> Vec<Event> {
        std::mem::take(&mut self.events)
    }

    /// Appends any event.
    pub fn push(&mut self, event: Event) {
        self.events.push(event);
    }

    /// Appends a flow run of `flow` named `name`, with parameters
    /// `{"n": 1}` and no tags.
    pub fn flow_run(&mut self, flow: &str, name: &str) -> FlowRunId {
        self.flow_run_with(flow, name, serde_json::json!({ "n": 1 }), &[], None)
    }

    /// Appends a flow run with the given parameters, tags and parent.
    pub fn flow_run_with(
        &mut self,
        flow: &str,
        name: &str,
        parameters: serde_json::Value,
        tags: &[&str],
        parent: Option<(FlowRunId, TaskRunId)>,
    ) -> FlowRunId {
        let id = FlowRunId::new();
        let created = self.tick();
        self.events.push(Event::FlowRunCreated(Arc::new(FlowRunRecord {
            id,
            name: name.to_owned(),
            flow_name: flow.to_owned().into(),
            flow_version: Some("1.0".into()),
            parameters,
            tags: tags.iter().map(|t| (*t).to_owned()).collect(),
            parent_flow_run_id: parent.map(|p| p.0),
            parent_task_run_id: parent.map(|p| p.1),
            created,
        })));
        id
    }

    /// Appends a task run of `task`, inside `flow_run` if given.
    pub fn task_run(&mut self, flow_run: Option<FlowRunId>, task: &str) -> TaskRunId {
        self.task_run_with(flow_run, task, None, &[])
    }

    /// Appends a task run with a map index and tags.
    pub fn task_run_with(
        &mut self,
        flow_run: Option<FlowRunId>,
        task: &str,
        map_index: Option<u32>,
        tags: &[&str],
    ) -> TaskRunId {
        let id = TaskRunId::new();
        let created = self.tick();
        let suffix = &id.0.simple().to_string()[29..];
        self.events.push(Event::TaskRunCreated(Arc::new(TaskRunRecord {
            id,
            name: format!("{task}-{suffix}"),
            task_name: task.to_owned().into(),
            flow_run_id: flow_run,
            parent_task_run_id: None,
            tags: tags.iter().map(|t| (*t).to_owned()).collect(),
            map_index,
            subflow_run_id: None,
            created,
        })));
        id
    }

    /// Appends the task run that stands for subflow run `subflow` in
    /// `flow_run` (the engine makes one per subflow call).
    pub fn subflow_task_run(&mut self, flow_run: FlowRunId, subflow: FlowRunId, flow: &str) -> TaskRunId {
        let id = self.task_run(Some(flow_run), flow);
        if let Some(Event::TaskRunCreated(record)) = self.events.last_mut() {
            Arc::make_mut(record).subflow_run_id = Some(subflow);
        }
        id
    }

    /// Appends a state of `state_type` with its default name.
    pub fn state(&mut self, run: impl Into<RunId>, state_type: StateType) {
        let state = StateMeta::new(state_type);
        self.state_meta(run, state);
    }

    /// Appends `state` (its timestamp is set from the clock).
    pub fn state_meta(&mut self, run: impl Into<RunId>, mut state: StateMeta) {
        let run = run.into();
        state.timestamp = self.tick();
        let count = self.run_counts.entry(run).or_insert(0);
        if state.state_type == StateType::Running {
            *count += 1;
        }
        let run_count = *count;
        self.events.push(Event::StateChanged(StateChange { run, state, run_count }));
    }

    /// Appends Pending, Running and then `last`: a whole run.
    pub fn lifecycle(&mut self, run: impl Into<RunId>, last: StateType) {
        let run = run.into();
        self.state(run, StateType::Pending);
        self.state(run, StateType::Running);
        self.state(run, last);
    }

    /// Appends a dependency edge.
    pub fn dependency(&mut self, downstream: TaskRunId, upstream: impl Into<RunId>, kind: DependencyKind) {
        let upstream = upstream.into();
        self.events.push(Event::Dependency(DependencyEdge { downstream, upstream, kind }));
    }

    /// Appends a log line of a flow run or task run.
    pub fn log(
        &mut self,
        flow_run: Option<FlowRunId>,
        task_run: Option<TaskRunId>,
        level: LogLevel,
        message: &str,
    ) {
        let mut fields = serde_json::Map::new();
        fields.insert("line".into(), serde_json::json!(self.events.len()));
        let timestamp = self.tick();
        self.events.push(Event::Log(Arc::new(LogRecord {
            timestamp,
            level,
            message: message.to_owned(),
            fields,
            target: "conformance".to_owned(),
            flow_run_id: flow_run,
            task_run_id: task_run,
        })));
    }

    /// Appends where a run's value is kept: `location`, under `cache_key`,
    /// written by the run or read from a cache (`from_cache`). Returns the
    /// reference as stores give it back.
    pub fn result(
        &mut self,
        run: impl Into<RunId>,
        flow_run: Option<FlowRunId>,
        location: &str,
        cache_key: Option<&str>,
        from_cache: bool,
    ) -> ResultReference {
        let reference = ResultReference {
            run: run.into(),
            flow_run_id: flow_run,
            location: location.to_owned(),
            cache_key: cache_key.map(str::to_owned),
            from_cache,
            timestamp: self.tick(),
        };
        self.events.push(Event::ResultStored(Arc::new(reference.clone())));
        reference
    }
}
