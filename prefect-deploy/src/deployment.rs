//! [`Deployment`]: a flow of this binary, named, with the schedules,
//! parameters and work queue its runs get.

use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use prefect_core::FlowEntry;
use prefect_core::entry::{Deployable, FlowSignature};
use prefect_store::{DEFAULT_WORK_QUEUE, DeploymentSpec};
use serde::Serialize;
use serde_json::{Map, Value};

use crate::Error;
use crate::schedules::{Schedule, ScheduleEntry};

/// What happens to runs a deployment missed while nothing served it (the
/// serving process was down), found when it is served again.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Catchup {
    /// Run every missed run, oldest first (the default, as Prefect runs
    /// late runs when its worker comes back).
    #[default]
    All,
    /// Run only the latest missed run; the others end Cancelled with a
    /// message saying why.
    Latest,
    /// Run none of them: each is marked Late, then Cancelled with a message.
    Skip,
}

impl Catchup {
    /// The name stored with the deployment.
    pub fn as_str(self) -> &'static str {
        match self {
            Catchup::All => "all",
            Catchup::Latest => "latest",
            Catchup::Skip => "skip",
        }
    }

    /// The policy of a stored name; unknown names read as [`Catchup::All`].
    pub fn from_name(name: &str) -> Catchup {
        match name {
            "latest" => Catchup::Latest,
            "skip" => Catchup::Skip,
            _ => Catchup::All,
        }
    }
}

/// `my_flow::deployment("daily")`: every `#[flow]` can be deployed by name,
/// when its parameters are serde types (a flow with another parameter is a
/// compile error at the call, naming the trait its parameter lacks). In
/// `prefect::prelude`.
pub trait Deploy: FlowSignature {
    /// The deployment `name` of this flow: [`Deployment::new`] with the
    /// flow's entry.
    fn deployment(name: impl Into<String>) -> Deployment
    where
        Self: for<'a> Deployable<'a> + Sized,
    {
        Deployment::new(FlowEntry::of::<Self>(), name)
    }
}

impl<F: FlowSignature> Deploy for F {}

/// The anchor of intervals given without one: 2020-01-01 00:00 in the
/// schedule's zone. Fixed, not "now", so that every process serving the
/// deployment computes the same times (and so the same run ids), and an
/// hourly interval runs on the hour.
fn default_anchor(zone: &str) -> DateTime<Utc> {
    let naive = chrono::NaiveDate::from_ymd_opt(2020, 1, 1).and_then(|d| d.and_hms_opt(0, 0, 0));
    let utc = Utc.with_ymd_and_hms(2020, 1, 1, 0, 0, 0).single().unwrap_or(DateTime::UNIX_EPOCH);
    match (zone.parse::<chrono_tz::Tz>(), naive) {
        (Ok(tz), Some(naive)) => {
            tz.from_local_datetime(&naive).earliest().map_or(utc, |t| t.with_timezone(&Utc))
        }
        _ => utc,
    }
}

/// A flow of this binary, deployed: the name its runs are known by
/// (`flow/name`), when they run, with which parameters, in which work
/// queue. Built from code, registered in the run database by
/// [`serve`](crate::serve) (again at every start: the same name updates it).
///
/// Builder methods that parse text (cron patterns, zones, rules) never
/// panic: the first error is kept and returned, naming the deployment and
/// the field, by [`Deployment::spec`] (and so by `serve`).
///
/// ```
/// use prefect_core::entry::{FlowEntry, FlowSignature};
/// use prefect_deploy::{Catchup, Deployment};
/// # fn entry() -> FlowEntry { prefect_deploy::__doc_entry() }
///
/// let daily = Deployment::new(entry(), "daily")
///     .cron("0 6 * * *", "Europe/Berlin")
///     .parameter("months", [1, 2])
///     .tags(["etl"])
///     .work_queue("production")
///     .catchup(Catchup::Latest);
/// assert_eq!(daily.full_name(), "etl/daily");
/// let spec = daily.spec().unwrap();
/// assert_eq!(spec.work_queue, "production");
///
/// let bad = Deployment::new(entry(), "hourly").cron("0 * * *", "Europe/Berlin");
/// let error = bad.spec().unwrap_err().to_string();
/// assert!(error.contains("etl/hourly") && error.contains("cron"), "{error}");
/// ```
#[derive(Debug, Clone)]
pub struct Deployment {
    entry: FlowEntry,
    name: String,
    schedules: Vec<ScheduleEntry>,
    parameters: Map<String, Value>,
    tags: Vec<String>,
    work_queue: String,
    labels: Vec<String>,
    description: Option<String>,
    version: Option<String>,
    catchup: Catchup,
    error: Option<(&'static str, String)>,
}

impl Deployment {
    /// The deployment `name` of the flow `entry` (`my_flow::entry()`),
    /// with no schedule (it runs when asked to), in the `default` queue.
    pub fn new(entry: FlowEntry, name: impl Into<String>) -> Deployment {
        Deployment {
            entry,
            name: name.into(),
            schedules: Vec::new(),
            parameters: Map::new(),
            tags: Vec::new(),
            work_queue: DEFAULT_WORK_QUEUE.to_owned(),
            labels: Vec::new(),
            description: None,
            version: None,
            catchup: Catchup::default(),
            error: None,
        }
    }

    fn fail(mut self, field: &'static str, error: impl std::fmt::Display) -> Deployment {
        if self.error.is_none() {
            self.error = Some((field, error.to_string()));
        }
        self
    }

    fn with_schedule(self, field: &'static str, schedule: Result<Schedule, Error>) -> Deployment {
        match schedule {
            Ok(schedule) => self.schedule(ScheduleEntry::new(schedule)),
            Err(error) => self.fail(field, error),
        }
    }

    /// Adds a cron schedule in the IANA time zone `zone`.
    pub fn cron(self, pattern: &str, zone: &str) -> Deployment {
        self.with_schedule("cron", Schedule::cron(pattern, zone))
    }

    /// Adds an interval schedule in UTC, anchored at 2020-01-01 00:00 (so
    /// an hourly interval runs on the hour, in every process alike).
    pub fn interval(self, every: Duration) -> Deployment {
        self.interval_in(every, "UTC")
    }

    /// Adds an interval schedule in the zone `zone` (24 h or more keep the
    /// local time across DST), anchored at 2020-01-01 00:00 there.
    pub fn interval_in(self, every: Duration, zone: &str) -> Deployment {
        let schedule = Schedule::interval(every, default_anchor(zone), zone);
        self.with_schedule("interval", schedule)
    }

    /// Adds an RFC 5545 recurrence rule in the zone `zone`.
    pub fn rrule(self, rule: &str, zone: &str) -> Deployment {
        self.with_schedule("rrule", Schedule::rrule(rule, zone))
    }

    /// Adds a schedule with its own parameters and active flag.
    pub fn schedule(mut self, entry: impl Into<ScheduleEntry>) -> Deployment {
        self.schedules.push(entry.into());
        self
    }

    /// Sets the parameters of its runs from a value that serializes to a
    /// JSON object (a struct of the flow's parameters, a `json!` object);
    /// schedules and callers override single fields.
    pub fn parameters(mut self, parameters: impl Serialize) -> Deployment {
        match serde_json::to_value(parameters) {
            Ok(Value::Object(map)) => {
                self.parameters = map;
                self
            }
            Ok(other) => self.fail("parameters", format!("expected an object of parameters, got {other}")),
            Err(error) => self.fail("parameters", error),
        }
    }

    /// Sets one parameter of its runs.
    pub fn parameter(mut self, name: impl Into<String>, value: impl Serialize) -> Deployment {
        let name = name.into();
        match serde_json::to_value(value) {
            Ok(value) => {
                self.parameters.insert(name, value);
                self
            }
            Err(error) => self.fail("parameters", format!("`{name}`: {error}")),
        }
    }

    /// Sets the tags every run gets.
    pub fn tags<I, S>(mut self, tags: I) -> Deployment
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.tags = tags.into_iter().map(Into::into).collect();
        self
    }

    /// Sends its runs to the work queue `queue` (default `default`).
    pub fn work_queue(mut self, queue: impl Into<String>) -> Deployment {
        self.work_queue = queue.into();
        self
    }

    /// Routes its runs to workers that have every one of these labels
    /// (Prefect 1's agent labels: `["staging"]`, `["production", "gpu"]`).
    pub fn labels<I, S>(mut self, labels: I) -> Deployment
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.labels = labels.into_iter().map(Into::into).collect();
        self
    }

    /// Its labels.
    pub fn label_set(&self) -> &[String] {
        &self.labels
    }

    /// Sets a description for people.
    pub fn description(mut self, description: impl Into<String>) -> Deployment {
        self.description = Some(description.into());
        self
    }

    /// Sets the version of the code (the flow's version when not set).
    pub fn version(mut self, version: impl Into<String>) -> Deployment {
        self.version = Some(version.into());
        self
    }

    /// What happens to runs missed while nothing served the deployment.
    pub fn catchup(mut self, catchup: Catchup) -> Deployment {
        self.catchup = catchup;
        self
    }

    /// `flow/name`.
    pub fn full_name(&self) -> String {
        format!("{}/{}", self.entry.name(), self.name)
    }

    /// The flow it runs.
    pub fn entry(&self) -> &FlowEntry {
        &self.entry
    }

    /// Its schedules.
    pub fn schedules(&self) -> &[ScheduleEntry] {
        &self.schedules
    }

    /// Its catch-up policy.
    pub fn catchup_policy(&self) -> Catchup {
        self.catchup
    }

    /// The parameters of a run due by `schedule` (or asked for by hand,
    /// `None`): the deployment's, with the schedule's over them.
    pub fn run_parameters(&self, schedule: Option<&ScheduleEntry>) -> Value {
        Value::Object(match schedule {
            Some(entry) => entry.run_parameters(&self.parameters),
            None => self.parameters.clone(),
        })
    }

    /// What is stored: checked first. Each active schedule's parameters
    /// must make a valid call of the flow (a field missing or of the wrong
    /// type is an error naming it), as those runs start with nobody there
    /// to fix them.
    ///
    /// # Errors
    /// [`Error::InvalidDeployment`] naming the deployment and the field.
    pub fn spec(&self) -> Result<DeploymentSpec, Error> {
        let invalid = |field: &'static str, reason: String| Error::InvalidDeployment {
            deployment: self.full_name(),
            field,
            reason,
        };
        if let Some((field, reason)) = &self.error {
            return Err(invalid(field, reason.clone()));
        }
        if self.name.is_empty() || self.name.contains('/') {
            return Err(invalid("name", "a deployment name is not empty and holds no `/`".into()));
        }
        for entry in self.schedules.iter().filter(|e| e.is_active()) {
            let parameters = self.run_parameters(Some(entry));
            if let Err(error) = self.entry.call(parameters) {
                return Err(invalid("parameters", error.to_string()));
            }
        }
        let flow = self.entry.flow().options();
        Ok(DeploymentSpec {
            flow_name: self.entry.name().to_owned(),
            name: self.name.clone(),
            description: self.description.clone().or_else(|| flow.description().map(str::to_owned)),
            version: self.version.clone().or_else(|| flow.version().map(str::to_owned)),
            tags: self.tags.clone(),
            work_queue: self.work_queue.clone(),
            labels: self.labels.clone(),
            parameters: Value::Object(self.parameters.clone()),
            parameter_schema: Some(match self.entry.parameter_schema() {
                serde_json::Value::Null => parameter_schema(self.entry.parameters()),
                schema => schema,
            }),
            schedules: serde_json::to_value(&self.schedules).unwrap_or(Value::Array(Vec::new())),
            catchup: self.catchup.as_str().to_owned(),
            paused: false,
        })
    }
}

/// The parameters' JSON Schema for an entry without one (made by hand):
/// their names, each required, of any type. A run's parameters are checked
/// against the typed flow anyway.
fn parameter_schema(names: &[&str]) -> Value {
    let properties: Map<String, Value> =
        names.iter().map(|name| ((*name).to_owned(), Value::Object(Map::new()))).collect();
    serde_json::json!({ "type": "object", "properties": properties, "required": names })
}
