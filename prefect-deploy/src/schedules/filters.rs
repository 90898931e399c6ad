//! Prefect 1's filters and adjustments, as optional parts of a schedule.

use std::time::Duration;

use chrono::{DateTime, Datelike, NaiveDateTime, NaiveTime, TimeDelta, TimeZone, Utc, Weekday};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use crate::Error;

/// A test on an instant of a schedule's clock, read as wall-clock time in
/// the schedule's zone (Prefect 1's `prefect.schedules.filters`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Filter {
    /// Monday to Friday.
    Weekday,
    /// Saturday and Sunday.
    Weekend,
    /// On this day of the week.
    DayOfWeek(Weekday),
    /// The first day of a month.
    MonthStart,
    /// The last day of a month.
    MonthEnd,
    /// At exactly this time of day.
    AtTime(NaiveTime),
    /// From `start` to `end` inclusive; a range that wraps midnight
    /// (`22:00`-`02:00`) is allowed.
    BetweenTimes {
        /// The first time of day that passes.
        start: NaiveTime,
        /// The last time of day that passes.
        end: NaiveTime,
    },
    /// From (month, day) to (month, day) inclusive, in any year; a range
    /// that wraps the new year (December 15 to January 15) is allowed.
    BetweenDates {
        /// The first (month, day) that passes.
        start: (u32, u32),
        /// The last (month, day) that passes.
        end: (u32, u32),
    },
    /// From `start` to `end` inclusive (wall-clock date and time).
    BetweenDatetimes {
        /// The first moment that passes.
        start: NaiveDateTime,
        /// The last moment that passes.
        end: NaiveDateTime,
    },
}

impl Filter {
    /// [`Filter::BetweenTimes`] from `"HH:MM"` or `"HH:MM:SS"` texts.
    ///
    /// # Errors
    /// [`Error::InvalidFilter`] naming the text that is not a time.
    pub fn between_times(start: &str, end: &str) -> Result<Filter, Error> {
        Ok(Filter::BetweenTimes { start: time(start)?, end: time(end)? })
    }

    /// [`Filter::AtTime`] from `"HH:MM"` or `"HH:MM:SS"`.
    ///
    /// # Errors
    /// [`Error::InvalidFilter`] naming the text that is not a time.
    pub fn at_time(at: &str) -> Result<Filter, Error> {
        time(at).map(Filter::AtTime)
    }

    /// [`Filter::BetweenDates`], checking the months and days.
    ///
    /// # Errors
    /// [`Error::InvalidFilter`] for a month outside 1-12 or a day outside
    /// the month (February 29 is allowed).
    pub fn between_dates(start: (u32, u32), end: (u32, u32)) -> Result<Filter, Error> {
        for (month, day) in [start, end] {
            if chrono::NaiveDate::from_ymd_opt(2024, month, day).is_none() {
                return Err(Error::InvalidFilter { reason: format!("{month}/{day} is not a month and day") });
            }
        }
        Ok(Filter::BetweenDates { start, end })
    }

    /// Whether the wall-clock time `at` passes.
    pub fn passes(&self, at: NaiveDateTime) -> bool {
        let date = at.date();
        match self {
            Filter::Weekday => date.weekday().number_from_monday() <= 5,
            Filter::Weekend => date.weekday().number_from_monday() > 5,
            Filter::DayOfWeek(day) => date.weekday() == *day,
            Filter::MonthStart => date.day() == 1,
            Filter::MonthEnd => date.succ_opt().is_none_or(|next| next.month() != date.month()),
            Filter::AtTime(time) => at.time() == *time,
            Filter::BetweenTimes { start, end } => within(at.time(), *start, *end),
            Filter::BetweenDates { start, end } => within((date.month(), date.day()), *start, *end),
            Filter::BetweenDatetimes { start, end } => (*start..=*end).contains(&at),
        }
    }
}

/// `value` in `start..=end`, where a range with `start > end` wraps around.
fn within<T: PartialOrd>(value: T, start: T, end: T) -> bool {
    if start <= end { start <= value && value <= end } else { value >= start || value <= end }
}

fn time(text: &str) -> Result<NaiveTime, Error> {
    let text = text.trim();
    NaiveTime::parse_from_str(text, "%H:%M:%S").or_else(|_| NaiveTime::parse_from_str(text, "%H:%M")).map_err(
        |_| Error::InvalidFilter { reason: format!("`{text}` is not a time of day (HH:MM or HH:MM:SS)") },
    )
}

/// A change to each instant that passes a schedule's filters (Prefect 1's
/// `prefect.schedules.adjustments`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Adjustment {
    /// Later by a fixed duration.
    Add(#[serde(with = "humantime_serde_text")] Duration),
    /// A Saturday or Sunday moves to the next Monday, same wall-clock time.
    NextWeekday,
}

impl Adjustment {
    /// How far it can move an instant.
    pub(crate) fn reach(&self) -> TimeDelta {
        match self {
            Adjustment::Add(d) => TimeDelta::from_std(*d).unwrap_or(TimeDelta::MAX),
            // Two days, plus a DST change on the way.
            Adjustment::NextWeekday => TimeDelta::hours(51),
        }
    }

    pub(crate) fn apply(&self, at: DateTime<Utc>, zone: Tz) -> DateTime<Utc> {
        match self {
            Adjustment::Add(d) => at + TimeDelta::from_std(*d).unwrap_or(TimeDelta::zero()),
            Adjustment::NextWeekday => {
                let local = at.with_timezone(&zone).naive_local();
                let days = match local.date().weekday() {
                    Weekday::Sat => 2,
                    Weekday::Sun => 1,
                    _ => return at,
                };
                let moved = local + TimeDelta::days(days);
                // The same wall-clock time on Monday (its first occurrence,
                // or the end of a gap it falls in).
                zone.from_local_datetime(&moved)
                    .earliest()
                    .map(|t| t.with_timezone(&Utc))
                    .unwrap_or(at + TimeDelta::days(days))
            }
        }
    }
}

/// Durations as humantime text in stored schedules ("5m").
mod humantime_serde_text {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&humantime::format_duration(*d))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let text = String::deserialize(d)?;
        humantime::parse_duration(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn at(y: i32, m: u32, d: u32, h: u32, min: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(y, m, d).unwrap().and_hms_opt(h, min, 0).unwrap()
    }

    #[test]
    fn filters_read_wall_clock_time() {
        let saturday = at(2026, 12, 5, 10, 0);
        assert!(Filter::Weekend.passes(saturday) && !Filter::Weekday.passes(saturday));
        assert!(Filter::DayOfWeek(Weekday::Sat).passes(saturday));
        assert!(
            Filter::MonthEnd.passes(at(2028, 2, 29, 0, 0)) && !Filter::MonthEnd.passes(at(2028, 2, 28, 0, 0))
        );
        assert!(Filter::MonthStart.passes(at(2026, 12, 1, 23, 59)));
        let night = Filter::between_times("22:00", "02:00").unwrap();
        assert!(night.passes(at(2026, 1, 1, 23, 0)) && night.passes(at(2026, 1, 1, 1, 0)));
        assert!(!night.passes(at(2026, 1, 1, 12, 0)));
        let holidays = Filter::between_dates((12, 20), (1, 6)).unwrap();
        assert!(holidays.passes(at(2026, 12, 31, 9, 0)) && holidays.passes(at(2027, 1, 2, 9, 0)));
        assert!(!holidays.passes(at(2027, 1, 7, 9, 0)));
        assert!(Filter::at_time("09:30").unwrap().passes(at(2026, 5, 5, 9, 30)));
        assert!(Filter::at_time("9h30").is_err());
        assert!(Filter::between_dates((2, 30), (3, 1)).is_err());
    }
}
