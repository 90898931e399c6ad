//! Schedules: when a deployment's runs are due.
//!
//! A [`Schedule`] answers one question, [`Schedule::next_after`]: the first
//! instant strictly after a given one at which a run is due. Three kinds,
//! as in Prefect:
//!
//! - [`CronSchedule`]: a cron pattern read in an IANA time zone;
//! - [`IntervalSchedule`]: every fixed duration from an anchor;
//! - [`RRuleSchedule`]: an RFC 5545 recurrence rule (`FREQ=WEEKLY;BYDAY=MO,WE`);
//! - [`DateSchedule`]: an explicit list of instants.
//!
//! Time zones and daylight saving time follow Prefect's rules:
//!
//! - a fixed time that falls in a spring-forward gap (02:30 on the night the
//!   clocks go from 02:00 to 03:00) runs once, at the first valid instant
//!   after it (03:00);
//! - a fixed time in a fall-back overlap (01:30 on the night 01:00-02:00
//!   happens twice) runs once, at its first occurrence;
//! - a schedule whose hour is a wildcard (`*/15 * * * *`, `0 * * * *`) runs
//!   every real hour: twice through the repeated hour, not at all in the
//!   skipped one;
//! - an interval under 24 hours follows absolute time (every 6 hours is
//!   every 6 real hours); an interval of 24 hours or more keeps the local
//!   wall-clock time of its anchor across DST (daily at 09:00 stays 09:00).
//!
//! A schedule is serializable (with its pattern, zone and anchor as text),
//! so it can be stored with its deployment; reading one back checks it
//! again.

mod cron;
mod dates;
mod interval;
mod local;
mod rrule;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

pub use cron::CronSchedule;
pub use dates::DateSchedule;
pub use interval::IntervalSchedule;
pub use rrule::RRuleSchedule;

use crate::Error;

/// When a deployment's runs are due.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Schedule {
    /// A cron pattern in a time zone (boxed: a parsed pattern is a few
    /// hundred bytes).
    Cron(Box<CronSchedule>),
    /// Every fixed duration from an anchor.
    Interval(IntervalSchedule),
    /// An RFC 5545 recurrence rule (boxed, as a cron pattern).
    #[serde(rename = "rrule")]
    RRule(Box<RRuleSchedule>),
    /// Explicit instants.
    Dates(DateSchedule),
}

impl Schedule {
    /// A cron schedule: `pattern` (five fields, minute to day of week) read
    /// in the IANA time zone `zone`, days matching the day of month OR the
    /// day of week as in standard cron (see [`CronSchedule::day_or`]).
    ///
    /// # Errors
    /// [`Error::InvalidCron`], [`Error::UnknownTimeZone`].
    pub fn cron(pattern: &str, zone: &str) -> Result<Schedule, Error> {
        CronSchedule::new(pattern, zone).map(|s| Schedule::Cron(Box::new(s)))
    }

    /// Every `every` from `anchor`, in the time zone `zone`.
    ///
    /// # Errors
    /// [`Error::InvalidInterval`], [`Error::UnknownTimeZone`].
    pub fn interval(
        every: std::time::Duration,
        anchor: DateTime<Utc>,
        zone: &str,
    ) -> Result<Schedule, Error> {
        IntervalSchedule::new(every, anchor, zone).map(Schedule::Interval)
    }

    /// An RFC 5545 recurrence rule read in the IANA zone `zone`; without a
    /// `DTSTART` it starts on 2020-01-01 at midnight in that zone.
    ///
    /// # Errors
    /// [`Error::InvalidRRule`], [`Error::UnknownTimeZone`].
    pub fn rrule(rule: &str, zone: &str) -> Result<Schedule, Error> {
        RRuleSchedule::new(rule, zone).map(|s| Schedule::RRule(Box::new(s)))
    }

    /// At each of `dates` (in any order; repeats count once).
    pub fn dates(dates: impl IntoIterator<Item = DateTime<Utc>>) -> Schedule {
        Schedule::Dates(DateSchedule::new(dates))
    }

    /// The first instant strictly after `after` at which a run is due;
    /// `None` when the schedule has no more (a list of dates used up, a
    /// cron pattern that never matches again).
    pub fn next_after(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        match self {
            Schedule::Cron(s) => s.next_after(after),
            Schedule::Interval(s) => s.next_after(after),
            Schedule::RRule(s) => s.next_after(after),
            Schedule::Dates(s) => s.next_after(after),
        }
    }

    /// The next `n` instants after `after`, in order.
    pub fn upcoming(&self, after: DateTime<Utc>, n: usize) -> Vec<DateTime<Utc>> {
        if let Schedule::RRule(rule) = self {
            // One walk from DTSTART, not one per occurrence.
            return rule.upcoming(after, n);
        }
        let mut out = Vec::with_capacity(n);
        let mut from = after;
        while out.len() < n {
            let Some(next) = self.next_after(from) else { break };
            out.push(next);
            from = next;
        }
        out
    }
}

/// Reads an IANA zone name.
fn zone(name: &str) -> Result<chrono_tz::Tz, Error> {
    name.trim().parse().map_err(|_| Error::UnknownTimeZone { zone: name.to_owned() })
}
