//! RFC 5545 recurrence rules.

use std::str::FromStr;

use chrono::{DateTime, Utc};
use rrule::RRuleSet;
use serde::{Deserialize, Serialize};

use crate::Error;

/// An RFC 5545 recurrence rule (`RRULE`, with `RDATE`/`EXDATE` lines if
/// wanted), read in an IANA time zone, as Prefect's `RRuleSchedule`.
/// `UNTIL` and `COUNT` end it; without a `DTSTART` it starts on 2020-01-01
/// at midnight in its zone. Occurrences are computed in the zone's local
/// time by the `rrule` crate (a weekly 09:00 stays at 09:00 across DST).
///
/// ```
/// use chrono::{TimeZone, Utc};
/// use prefect_deploy::schedules::RRuleSchedule;
///
/// let rule = "DTSTART;TZID=Europe/Berlin:20261201T090000\nRRULE:FREQ=WEEKLY;BYDAY=MO,WE;COUNT=3";
/// let schedule = RRuleSchedule::new(rule, "Europe/Berlin").unwrap();
/// let after = Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0).unwrap();
/// let first = schedule.next_after(after).unwrap();
/// assert_eq!(first, Utc.with_ymd_and_hms(2026, 12, 2, 8, 0, 0).unwrap()); // Wednesday 09:00 CET
/// ```
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(try_from = "RRuleSpec", into = "RRuleSpec")]
pub struct RRuleSchedule {
    spec: RRuleSpec,
    set: RRuleSet,
    zone: chrono_tz::Tz,
}

/// A recurrence rule as stored: its text and zone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct RRuleSpec {
    rrule: String,
    timezone: String,
}

impl PartialEq for RRuleSchedule {
    fn eq(&self, other: &Self) -> bool {
        self.spec == other.spec
    }
}

impl TryFrom<RRuleSpec> for RRuleSchedule {
    type Error = Error;

    fn try_from(spec: RRuleSpec) -> Result<Self, Error> {
        let zone = super::zone(&spec.timezone)?;
        let text = prefect_model::text::rrule_with_start(&spec.rrule, zone.name());
        let set = RRuleSet::from_str(&text)
            .map_err(|e| Error::InvalidRRule { rrule: spec.rrule.clone(), reason: e.to_string() })?
            // The crate's iteration limits: a rule that never matches again
            // (the 31st of February) ends instead of searching forever.
            .limit();
        Ok(RRuleSchedule { spec, set, zone })
    }
}

impl From<RRuleSchedule> for RRuleSpec {
    fn from(schedule: RRuleSchedule) -> RRuleSpec {
        schedule.spec
    }
}

impl RRuleSchedule {
    /// `rule` read in the IANA zone `zone`.
    ///
    /// # Errors
    /// [`Error::InvalidRRule`] naming the rule and what is wrong;
    /// [`Error::UnknownTimeZone`].
    pub fn new(rule: &str, zone: &str) -> Result<RRuleSchedule, Error> {
        RRuleSchedule::try_from(RRuleSpec { rrule: rule.to_owned(), timezone: zone.trim().to_owned() })
    }

    pub(crate) fn zone(&self) -> chrono_tz::Tz {
        self.zone
    }

    /// The rule as given.
    pub fn rule(&self) -> &str {
        &self.spec.rrule
    }

    /// The first occurrence strictly after `after`; `None` once `UNTIL` or
    /// `COUNT` has ended the rule. Occurrences are walked from `DTSTART`,
    /// as RFC 5545 defines them.
    pub fn next_after(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.upcoming(after, 1).pop()
    }

    /// The next `n` occurrences after `after`, in one walk from `DTSTART`.
    pub fn upcoming(&self, after: DateTime<Utc>, n: usize) -> Vec<DateTime<Utc>> {
        (&self.set).into_iter().map(|t| t.with_timezone(&Utc)).filter(|t| *t > after).take(n).collect()
    }
}
