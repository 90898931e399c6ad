//! Every fixed duration from an anchor.

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use super::local::{Rule, instants};
use crate::Error;

/// Every `every` from an anchor, in a time zone.
///
/// Under 24 hours the runs follow absolute time: every 6 hours is every 6
/// real hours, across DST. From 24 hours on they keep the anchor's local
/// wall-clock time: a daily run at 09:00 stays at 09:00 when the clocks
/// change (a day with a DST change is 23 or 25 hours long).
///
/// ```
/// use chrono::{TimeZone, Utc};
/// use prefect_deploy::schedules::IntervalSchedule;
///
/// let anchor = Utc.with_ymd_and_hms(2026, 10, 24, 7, 0, 0).unwrap(); // 09:00 in Berlin (summer time)
/// let daily = IntervalSchedule::new(std::time::Duration::from_secs(86_400), anchor, "Europe/Berlin").unwrap();
/// // The clocks go back on the 25th: 09:00 is then 08:00 UTC, 25 hours on.
/// let next = daily.next_after(anchor).unwrap();
/// assert_eq!(next, Utc.with_ymd_and_hms(2026, 10, 25, 8, 0, 0).unwrap());
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "IntervalSpec", into = "IntervalSpec")]
pub struct IntervalSchedule {
    spec: IntervalSpec,
    every: TimeDelta,
    zone: Tz,
}

/// An interval schedule as stored: its text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct IntervalSpec {
    /// A humantime duration, e.g. "1h 30m".
    every: String,
    anchor: DateTime<Utc>,
    timezone: String,
}

impl TryFrom<IntervalSpec> for IntervalSchedule {
    type Error = Error;

    fn try_from(spec: IntervalSpec) -> Result<Self, Error> {
        let every = humantime_duration(&spec.every)?;
        let zone = super::zone(&spec.timezone)?;
        Ok(IntervalSchedule { spec, every, zone })
    }
}

impl From<IntervalSchedule> for IntervalSpec {
    fn from(schedule: IntervalSchedule) -> IntervalSpec {
        schedule.spec
    }
}

fn humantime_duration(text: &str) -> Result<TimeDelta, Error> {
    let invalid = |reason: String| Error::InvalidInterval { reason };
    let std = parse_duration(text).map_err(|e| invalid(format!("`{text}` is not a duration: {e}")))?;
    to_delta(std)
}

fn parse_duration(text: &str) -> Result<Duration, String> {
    humantime::parse_duration(text.trim()).map_err(|e| e.to_string())
}

/// The humantime text of `every`, for storage ("1h 30m").
fn format_duration(every: Duration) -> String {
    humantime::format_duration(every).to_string()
}

fn to_delta(every: Duration) -> Result<TimeDelta, Error> {
    let invalid = |reason: &str| Error::InvalidInterval { reason: reason.to_owned() };
    if every < Duration::from_millis(1) {
        return Err(invalid("an interval must be at least 1 ms"));
    }
    TimeDelta::from_std(every).map_err(|_| invalid("an interval must be shorter than 290 million years"))
}

impl IntervalSchedule {
    /// Every `every` from `anchor` (runs at the anchor itself and every
    /// `every` before and after it), in the IANA zone `zone`.
    ///
    /// # Errors
    /// [`Error::InvalidInterval`] for an interval under 1 ms or too long;
    /// [`Error::UnknownTimeZone`].
    pub fn new(every: Duration, anchor: DateTime<Utc>, zone: &str) -> Result<IntervalSchedule, Error> {
        let spec = IntervalSpec { every: format_duration(every), anchor, timezone: zone.trim().to_owned() };
        let schedule = IntervalSchedule::try_from(spec)?;
        // Sub-millisecond parts are not kept in the text: keep them here.
        Ok(IntervalSchedule { every: to_delta(every)?, ..schedule })
    }

    pub(crate) fn zone(&self) -> Tz {
        self.zone
    }

    /// The interval.
    pub fn every(&self) -> Duration {
        self.every.to_std().unwrap_or_default()
    }

    /// The first instant strictly after `after` at which a run is due.
    pub fn next_after(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let anchor = self.spec.anchor;
        let every = self.every.num_nanoseconds().map(i128::from).unwrap_or(i128::from(i64::MAX));
        let since = (after - anchor).num_nanoseconds().map(i128::from)?;
        // Runs counted from the anchor: the first after `after` is near k.
        let k = since.div_euclid(every) + 1;
        if self.every < TimeDelta::hours(24) {
            let offset = i64::try_from(k * every).ok()?;
            return anchor.checked_add_signed(TimeDelta::nanoseconds(offset));
        }
        // Wall-clock steps from the anchor's local time; DST moves an
        // instant by at most a few hours, so one step back is enough.
        let anchor_wall = anchor.with_timezone(&self.zone).naive_local();
        let mut step = k - 1;
        loop {
            let offset = TimeDelta::nanoseconds(i64::try_from(step * every).ok()?);
            let wall = anchor_wall.checked_add_signed(offset)?;
            if let Some(at) = instants(self.zone, wall, Rule::Fixed).into_iter().find(|t| *t > after) {
                return Some(at);
            }
            step += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_round_trip_as_text() {
        for (secs, text) in [(90, "1m 30s"), (86_400, "1day"), (3_600 * 25, "1day 1h"), (1, "1s")] {
            assert_eq!(format_duration(Duration::from_secs(secs)), text);
            assert_eq!(parse_duration(text).unwrap(), Duration::from_secs(secs));
        }
        assert_eq!(parse_duration("250ms").unwrap(), Duration::from_millis(250));
        assert!(parse_duration("5 lightyears").is_err());
        assert!(parse_duration("").is_err());
    }
}
