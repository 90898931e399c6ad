//! One schedule of a deployment, with its parameters and active flag.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::{Horizon, Schedule};

/// One of a deployment's schedules: the parameters its runs get (merged
/// over the deployment's own) and whether it creates runs at all, as
/// Prefect's deployment schedules. A deployment may have several.
///
/// ```
/// use chrono::{TimeZone, Utc};
/// use prefect_deploy::schedules::{Horizon, Schedule, ScheduleEntry};
///
/// let nightly = ScheduleEntry::new(Schedule::cron("0 2 * * *", "UTC").unwrap())
///     .parameter("full", true)
///     .active(false);
/// let now = Utc.with_ymd_and_hms(2026, 12, 2, 9, 0, 0).unwrap();
/// assert!(nightly.plan(now, Horizon::default()).is_empty(), "paused: no runs");
/// assert_eq!(nightly.parameters()["full"], true);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScheduleEntry {
    schedule: Schedule,
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    parameters: Map<String, Value>,
    #[serde(default = "active_by_default")]
    active: bool,
}

fn active_by_default() -> bool {
    true
}

impl ScheduleEntry {
    /// `schedule`, active, with no parameters of its own.
    pub fn new(schedule: Schedule) -> ScheduleEntry {
        ScheduleEntry { schedule, parameters: Map::new(), active: true }
    }

    /// Runs of this schedule get `name = value` (over the deployment's).
    pub fn parameter(mut self, name: impl Into<String>, value: impl Into<Value>) -> ScheduleEntry {
        self.parameters.insert(name.into(), value.into());
        self
    }

    /// Whether the schedule creates runs (a paused one does not).
    pub fn active(mut self, active: bool) -> ScheduleEntry {
        self.active = active;
        self
    }

    /// The schedule.
    pub fn schedule(&self) -> &Schedule {
        &self.schedule
    }

    /// Its own parameters.
    pub fn parameters(&self) -> &Map<String, Value> {
        &self.parameters
    }

    /// Whether it creates runs.
    pub fn is_active(&self) -> bool {
        self.active
    }

    /// The runs it should have after `now` within `horizon`; none when paused.
    pub fn plan(&self, now: DateTime<Utc>, horizon: Horizon) -> Vec<DateTime<Utc>> {
        if self.active { self.schedule.plan(now, horizon) } else { Vec::new() }
    }

    /// The parameters of its runs: `base` (the deployment's), with its own
    /// on top.
    pub fn run_parameters(&self, base: &Map<String, Value>) -> Map<String, Value> {
        let mut merged = base.clone();
        merged.extend(self.parameters.iter().map(|(k, v)| (k.clone(), v.clone())));
        merged
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use serde_json::json;

    #[test]
    fn parameters_merge_over_the_deployments_and_survive_storage() {
        let entry = ScheduleEntry::new(Schedule::cron("0 6 * * *", "Europe/Berlin").unwrap())
            .parameter("months", json!([1, 2]));
        let base = json!({"months": [12], "dry_run": false}).as_object().cloned().unwrap();
        assert_eq!(Value::Object(entry.run_parameters(&base)), json!({"months": [1, 2], "dry_run": false}));
        let text = serde_json::to_string(&entry).unwrap();
        assert_eq!(serde_json::from_str::<ScheduleEntry>(&text).unwrap(), entry);
        // Stored without an active flag: active.
        let stored = json!({"schedule": serde_json::to_value(entry.schedule()).unwrap()});
        assert!(serde_json::from_value::<ScheduleEntry>(stored).unwrap().is_active());
        let now = Utc.with_ymd_and_hms(2026, 12, 2, 9, 0, 0).unwrap();
        assert_eq!(entry.plan(now, Horizon::default()).len(), 3);
    }
}
