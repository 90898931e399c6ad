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
//! Prefect 1's [filters](Filter) and [adjustments](Adjustment) are
//! optional parts of any schedule, read in its zone: keep weekdays only,
//! between 09:00 and 17:00, then move each run to the next weekday or by a
//! fixed duration.
//!
//! ```
//! use chrono::{TimeZone, Utc};
//! use prefect_deploy::schedules::{Adjustment, Filter, Schedule};
//!
//! // Every 2 hours, on weekdays between 08:00 and 12:00 Berlin time, 5 minutes late.
//! let anchor = Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0).unwrap();
//! let s = Schedule::interval(std::time::Duration::from_secs(7200), anchor, "Europe/Berlin")
//!     .unwrap()
//!     .filter(Filter::Weekday)
//!     .filter(Filter::between_times("08:00", "12:00").unwrap())
//!     .adjust(Adjustment::Add(std::time::Duration::from_secs(300)));
//! let friday_night = Utc.with_ymd_and_hms(2026, 12, 4, 22, 0, 0).unwrap();
//! // Monday 09:05 and 11:05 in Berlin (08:05 and 10:05 UTC).
//! assert_eq!(
//!     s.upcoming(friday_night, 2),
//!     [Utc.with_ymd_and_hms(2026, 12, 7, 8, 5, 0).unwrap(), Utc.with_ymd_and_hms(2026, 12, 7, 10, 5, 0).unwrap()]
//! );
//! ```
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
mod entry;
mod filters;
mod horizon;
mod interval;
mod local;
mod rrule;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

pub use cron::CronSchedule;
pub use dates::DateSchedule;
pub use entry::ScheduleEntry;
pub use filters::{Adjustment, Filter};
pub use horizon::Horizon;
pub use interval::IntervalSchedule;
pub use rrule::RRuleSchedule;

use crate::Error;

/// When a deployment's runs are due: a [`Clock`] that produces instants,
/// then Prefect 1's filters and adjustments, if any.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Schedule {
    clock: Clock,
    /// Every one must pass.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    filters: Vec<Filter>,
    /// At least one must pass, when there are any.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    or_filters: Vec<Filter>,
    /// None may pass.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    not_filters: Vec<Filter>,
    /// Applied in order to each instant that passes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    adjustments: Vec<Adjustment>,
}

/// What produces a schedule's instants.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Clock {
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

impl Clock {
    fn next_after(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        match self {
            Clock::Cron(s) => s.next_after(after),
            Clock::Interval(s) => s.next_after(after),
            Clock::RRule(s) => s.next_after(after),
            Clock::Dates(s) => s.next_after(after),
        }
    }

    /// The zone filters read the clock's instants in (UTC for dates).
    fn zone(&self) -> chrono_tz::Tz {
        match self {
            Clock::Cron(s) => s.zone(),
            Clock::Interval(s) => s.zone(),
            Clock::RRule(s) => s.zone(),
            Clock::Dates(_) => chrono_tz::UTC,
        }
    }
}

impl From<Clock> for Schedule {
    fn from(clock: Clock) -> Schedule {
        Schedule {
            clock,
            filters: Vec::new(),
            or_filters: Vec::new(),
            not_filters: Vec::new(),
            adjustments: Vec::new(),
        }
    }
}

impl Schedule {
    /// A cron schedule: `pattern` (five fields, minute to day of week) read
    /// in the IANA time zone `zone`, days matching the day of month OR the
    /// day of week as in standard cron (see [`CronSchedule::day_or`]).
    ///
    /// # Errors
    /// [`Error::InvalidCron`], [`Error::UnknownTimeZone`].
    pub fn cron(pattern: &str, zone: &str) -> Result<Schedule, Error> {
        CronSchedule::new(pattern, zone).map(|s| Clock::Cron(Box::new(s)).into())
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
        IntervalSchedule::new(every, anchor, zone).map(|s| Clock::Interval(s).into())
    }

    /// An RFC 5545 recurrence rule read in the IANA zone `zone`; without a
    /// `DTSTART` it starts on 2020-01-01 at midnight in that zone.
    ///
    /// # Errors
    /// [`Error::InvalidRRule`], [`Error::UnknownTimeZone`].
    pub fn rrule(rule: &str, zone: &str) -> Result<Schedule, Error> {
        RRuleSchedule::new(rule, zone).map(|s| Clock::RRule(Box::new(s)).into())
    }

    /// At each of `dates` (in any order; repeats count once).
    pub fn dates(dates: impl IntoIterator<Item = DateTime<Utc>>) -> Schedule {
        Clock::Dates(DateSchedule::new(dates)).into()
    }

    /// The clock.
    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    /// Keeps only instants that pass `filter` (with every other `filter`).
    pub fn filter(mut self, filter: Filter) -> Schedule {
        self.filters.push(filter);
        self
    }

    /// Keeps instants that pass at least one of the `or_filter`s.
    pub fn or_filter(mut self, filter: Filter) -> Schedule {
        self.or_filters.push(filter);
        self
    }

    /// Drops instants that pass `filter`.
    pub fn not_filter(mut self, filter: Filter) -> Schedule {
        self.not_filters.push(filter);
        self
    }

    /// Moves each instant that passes the filters (adjustments apply in order).
    pub fn adjust(mut self, adjustment: Adjustment) -> Schedule {
        self.adjustments.push(adjustment);
        self
    }

    /// The first instant strictly after `after` at which a run is due;
    /// `None` when the schedule has no more (a list of dates used up, a
    /// cron pattern that never matches again).
    pub fn next_after(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        if self.is_plain() {
            return self.clock.next_after(after);
        }
        let zone = self.clock.zone();
        // Adjustments only move instants later, by at most `reach`: an
        // instant of the clock before `after - reach` cannot land after it.
        let reach =
            self.adjustments.iter().map(Adjustment::reach).fold(chrono::TimeDelta::zero(), |a, b| a + b);
        let mut from = after - reach;
        // A filter that nothing passes would search forever: give up after
        // a bounded number of the clock's instants.
        for _ in 0..MAX_FILTERED {
            let at = self.clock.next_after(from)?;
            from = at;
            if !self.passes(at, zone) {
                continue;
            }
            let moved = self.adjustments.iter().fold(at, |t, a| a.apply(t, zone));
            if moved > after {
                return Some(moved);
            }
        }
        None
    }

    /// No filters and no adjustments: the clock's instants as they are.
    fn is_plain(&self) -> bool {
        self.filters.is_empty()
            && self.or_filters.is_empty()
            && self.not_filters.is_empty()
            && self.adjustments.is_empty()
    }

    fn passes(&self, at: DateTime<Utc>, zone: chrono_tz::Tz) -> bool {
        let local = at.with_timezone(&zone).naive_local();
        self.filters.iter().all(|f| f.passes(local))
            && (self.or_filters.is_empty() || self.or_filters.iter().any(|f| f.passes(local)))
            && !self.not_filters.iter().any(|f| f.passes(local))
    }

    /// The next `n` instants after `after`, in order.
    pub fn upcoming(&self, after: DateTime<Utc>, n: usize) -> Vec<DateTime<Utc>> {
        if let (Clock::RRule(rule), true) = (&self.clock, self.is_plain()) {
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

/// How many of a clock's instants a filtered schedule looks at for one
/// answer before it says there is none.
const MAX_FILTERED: usize = 100_000;

/// Reads an IANA zone name.
fn zone(name: &str) -> Result<chrono_tz::Tz, Error> {
    name.trim().parse().map_err(|_| Error::UnknownTimeZone { zone: name.to_owned() })
}
