//! Cron patterns read in a time zone.

use std::sync::atomic::{AtomicU32, Ordering};

use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, Offset, TimeDelta, TimeZone, Timelike, Utc};
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
    masks: Masks,
    days: DayMemo,
    zone: Tz,
    rule: Rule,
}

/// Which days of a month the pattern matches, one bit per day, by the
/// month's shape: croner's day test (with `L`, `W`, `#`) costs far more
/// than the rest of a search, and what it answers for a month depends only
/// on the month's length and the weekday of its first day (a five-field
/// pattern names no year). So there are 28 masks to compute per schedule,
/// at most, ever. Bit 0 marks a computed entry.
struct DayMemo([AtomicU32; 28]);

impl DayMemo {
    /// Nothing computed.
    fn new() -> DayMemo {
        DayMemo(std::array::from_fn(|_| AtomicU32::new(0)))
    }

    /// Whether `date` matches.
    fn matches(&self, cron: &Cron, date: NaiveDate) -> bool {
        let (year, month) = (date.year(), date.month());
        let length = days_in_month(year, month);
        let first = date.with_day(1).map_or(0, |d| d.weekday().num_days_from_monday());
        let slot = &self.0[(length as usize - 28) * 7 + first as usize];
        let mut mask = slot.load(Ordering::Relaxed);
        if mask == 0 {
            mask = 1;
            for day in 1..=length {
                if cron.pattern.day_match(year, month, day).unwrap_or(false) {
                    mask |= 1 << day;
                }
            }
            slot.store(mask, Ordering::Relaxed);
        }
        mask & (1 << date.day()) != 0
    }
}

/// The number of days of `month` (1-12) in `year`.
fn days_in_month(year: i32, month: u32) -> u32 {
    match month {
        4 | 6 | 9 | 11 => 30,
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        _ => 31,
    }
}

impl Clone for DayMemo {
    fn clone(&self) -> DayMemo {
        DayMemo::new()
    }
}

impl std::fmt::Debug for DayMemo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DayMemo")
    }
}

/// The pattern's minutes, hours and months as bit masks, read from croner
/// once, so finding the next wall-clock match is bit arithmetic; whether a
/// day matches is croner's to say (`L`, `W`, `#` and `day_or` live there).
#[derive(Debug, Clone, Copy)]
struct Masks {
    minutes: u64,
    hours: u32,
    months: u16,
}

impl Masks {
    fn of(cron: &Cron) -> Masks {
        let p = &cron.pattern;
        let bits =
            |n: u32, on: &dyn Fn(u32) -> bool| (0..n).filter(|i| on(*i)).fold(0u64, |m, i| m | (1 << i));
        Masks {
            minutes: bits(60, &|m| p.minute_match(m).unwrap_or(false)),
            hours: bits(24, &|h| p.hour_match(h).unwrap_or(false)) as u32,
            // Bit m for month m (1-12).
            months: bits(13, &|m| m > 0 && p.month_match(m).unwrap_or(false)) as u16,
        }
    }
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
        let masks = Masks::of(&cron);
        Ok(CronSchedule { spec, cron, masks, days: DayMemo::new(), zone, rule })
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
    /// matches (whole minutes), on a clock without DST.
    fn next_wall(&self, wall: NaiveDateTime) -> Option<NaiveDateTime> {
        let Masks { minutes, hours, months } = self.masks;
        let start = wall.with_second(0)?.with_nanosecond(0)?.checked_add_signed(TimeDelta::minutes(1))?;
        let (mut date, mut from_hour, mut from_minute) = (start.date(), start.hour(), start.minute());
        // Thirty years of days: a pattern that matches at all matches sooner.
        for _ in 0..(366 * 30) {
            if months & (1 << date.month()) == 0 {
                // Not this month: its first day next.
                date = NaiveDate::from_ymd_opt(
                    date.year() + i32::from(date.month() == 12),
                    date.month() % 12 + 1,
                    1,
                )?;
                (from_hour, from_minute) = (0, 0);
                continue;
            }
            if self.days.matches(&self.cron, date) {
                for hour in from_hour..24 {
                    if hours & (1 << hour) == 0 {
                        continue;
                    }
                    let from = if hour == from_hour { from_minute } else { 0 };
                    let left = minutes & (u64::MAX << from);
                    if left != 0 {
                        return date.and_hms_opt(hour, left.trailing_zeros(), 0);
                    }
                }
            }
            date = date.succ_opt()?;
            (from_hour, from_minute) = (0, 0);
        }
        None
    }

    /// croner's own search on a clock without DST, for tests.
    #[cfg(test)]
    fn croner_next_wall(&self, wall: NaiveDateTime) -> Option<NaiveDateTime> {
        let on_plain_clock = Utc.from_utc_datetime(&wall);
        self.cron.find_next_occurrence(&on_plain_clock, false).ok().map(|t| t.naive_utc())
    }
}

/// Whether the zone's offset changes within [`MAX_SHIFT`] of `at`.
pub(crate) fn transition_near(zone: Tz, at: DateTime<Utc>) -> bool {
    let offset = |t: DateTime<Utc>| zone.offset_from_utc_datetime(&t.naive_utc()).fix();
    offset(at - MAX_SHIFT) != offset(at + MAX_SHIFT)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const PATTERNS: [&str; 12] = [
        "* * * * *",
        "*/15 * * * *",
        "0 6 * * *",
        "30 2 * * MON-FRI",
        "0 */4 * * *",
        "45 23 L * *",
        "0 9 1-7 * MON",
        "5 4 * * SUN",
        "0 0 29 2 *",
        "0 12 15W * *",
        "0 8 * * 5#3",
        "10,20 1-3 * JAN,JUL *",
    ];

    proptest! {
        /// The mask search finds what croner's own search finds.
        #[test]
        fn next_wall_agrees_with_croner(pattern in prop::sample::select(&PATTERNS[..]), day_or in any::<bool>(), minutes in 0i64..(20 * 365 * 24 * 60), seconds in 0u32..60) {
            let schedule = CronSchedule::new(pattern, "UTC").unwrap().day_or(day_or).unwrap();
            let wall = NaiveDate::from_ymd_opt(2020, 1, 1).unwrap().and_hms_opt(0, 0, seconds).unwrap()
                + TimeDelta::minutes(minutes);
            prop_assert_eq!(schedule.next_wall(wall), schedule.croner_next_wall(wall), "{} day_or={}", pattern, day_or);
        }
    }
}
