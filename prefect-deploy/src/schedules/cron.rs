//! Cron patterns read in a time zone.

use chrono::{DateTime, NaiveDateTime, Offset, TimeDelta, TimeZone, Utc};
use chrono_tz::Tz;
use croner::Cron;
use croner::parser::{CronParser, Seconds, Year};
use serde::{Deserialize, Serialize};

use super::local::{Rule, instants};
use crate::Error;

/// A cron pattern (five fields: minute, hour, day of month, month, day of
/// week) read in an IANA time zone.
///
/// ```
/// use chrono::{TimeZone, Utc};
/// use prefect_deploy::schedules::CronSchedule;
///
/// let weekdays = CronSchedule::new("30 8 * * MON-FRI", "America/New_York").unwrap();
/// let friday_evening = Utc.with_ymd_and_hms(2026, 12, 4, 22, 0, 0).unwrap();
/// // Monday 08:30 in New York is 13:30 UTC in December.
/// let next = weekdays.next_after(friday_evening).unwrap();
/// assert_eq!(next, Utc.with_ymd_and_hms(2026, 12, 7, 13, 30, 0).unwrap());
/// ```
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(try_from = "CronSpec", into = "CronSpec")]
pub struct CronSchedule {
    spec: CronSpec,
    cron: Cron,
    zone: Tz,
    rule: Rule,
}

/// A cron schedule as stored: its text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct CronSpec {
    cron: String,
    timezone: String,
    day_or: bool,
}

impl PartialEq for CronSchedule {
    fn eq(&self, other: &Self) -> bool {
        self.spec == other.spec
    }
}

impl TryFrom<CronSpec> for CronSchedule {
    type Error = Error;

    fn try_from(spec: CronSpec) -> Result<Self, Error> {
        let zone = super::zone(&spec.timezone)?;
        let invalid = |reason: String| Error::InvalidCron { pattern: spec.cron.clone(), reason };
        let fields: Vec<&str> = spec.cron.split_whitespace().collect();
        if fields.len() != 5 {
            return Err(invalid(format!(
                "expected 5 fields (minute hour day-of-month month day-of-week), found {}",
                fields.len()
            )));
        }
        let parser = CronParser::builder()
            .seconds(Seconds::Disallowed)
            .year(Year::Disallowed)
            .dom_and_dow(!spec.day_or)
            .build();
        let cron = parser.parse(&spec.cron).map_err(|e| invalid(e.to_string()))?;
        // `*`, `*/2`: the hour is a wildcard, so the schedule runs every real hour.
        let rule = if fields[1].starts_with('*') { Rule::EveryRealHour } else { Rule::Fixed };
        Ok(CronSchedule { spec, cron, zone, rule })
    }
}

impl From<CronSchedule> for CronSpec {
    fn from(schedule: CronSchedule) -> CronSpec {
        schedule.spec
    }
}

/// The most a zone's offset changes at one transition, with room to spare.
const MAX_SHIFT: TimeDelta = TimeDelta::hours(3);

impl CronSchedule {
    /// `pattern` read in the IANA zone `zone`, a day matching when its day
    /// of month OR its day of week matches (standard cron, Prefect's
    /// default `day_or = true`).
    ///
    /// # Errors
    /// [`Error::InvalidCron`] naming the pattern and what is wrong (not five
    /// fields, a value out of range); [`Error::UnknownTimeZone`].
    pub fn new(pattern: &str, zone: &str) -> Result<CronSchedule, Error> {
        CronSchedule::try_from(CronSpec {
            cron: pattern.trim().to_owned(),
            timezone: zone.trim().to_owned(),
            day_or: true,
        })
    }

    /// With `day_or = false`, a day must match both its day of month and its
    /// day of week (`0 9 1-7 * MON`: the first Monday of the month).
    ///
    /// # Errors
    /// None in practice: the pattern was already checked.
    pub fn day_or(self, day_or: bool) -> Result<CronSchedule, Error> {
        CronSchedule::try_from(CronSpec { day_or, ..self.spec })
    }

    /// The pattern.
    pub fn pattern(&self) -> &str {
        &self.spec.cron
    }

    pub(crate) fn zone(&self) -> Tz {
        self.zone
    }

    /// The zone's IANA name.
    pub fn timezone(&self) -> &str {
        &self.spec.timezone
    }

    /// The first instant strictly after `after` at which the pattern
    /// matches the zone's wall clock, with the DST rules of the module docs.
    pub fn next_after(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let zone = self.zone;
        // Near a transition, wall-clock times before `after`'s own can still
        // be ahead of it (the second pass through a repeated hour): start
        // the search before them.
        let local_after = after.with_timezone(&zone).naive_local();
        let mut wall = if transition_near(zone, after) { local_after - MAX_SHIFT } else { local_after };
        let mut best: Option<DateTime<Utc>> = None;
        loop {
            let Some(next) = self.next_wall(wall) else { return best };
            wall = next;
            if let Some(best) = best {
                // Later wall-clock times cannot map before `best` once they are
                // past it by more than any offset change.
                if wall > best.with_timezone(&zone).naive_local() + MAX_SHIFT {
                    return Some(best);
                }
            }
            for instant in instants(zone, wall, self.rule) {
                if instant > after && best.is_none_or(|b| instant < b) {
                    best = Some(instant);
                }
            }
            if let Some(found) = best
                && !transition_near(zone, found)
            {
                return Some(found);
            }
        }
    }

    /// The first wall-clock time strictly after `wall` that the pattern
    /// matches, found on a clock without DST (UTC stands in for the wall).
    fn next_wall(&self, wall: NaiveDateTime) -> Option<NaiveDateTime> {
        let on_plain_clock = Utc.from_utc_datetime(&wall);
        self.cron.find_next_occurrence(&on_plain_clock, false).ok().map(|t| t.naive_utc())
    }
}

/// Whether the zone's offset changes within [`MAX_SHIFT`] of `at`.
pub(crate) fn transition_near(zone: Tz, at: DateTime<Utc>) -> bool {
    let offset = |t: DateTime<Utc>| zone.offset_from_utc_datetime(&t.naive_utc()).fix();
    offset(at - MAX_SHIFT) != offset(at + MAX_SHIFT)
}
