//! From wall-clock times in a zone to instants, with the DST rules of the
//! module docs.

use chrono::{DateTime, LocalResult, NaiveDateTime, TimeDelta, TimeZone, Timelike, Utc};
use chrono_tz::Tz;

/// What a wall-clock time in a DST transition becomes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Rule {
    /// A fixed time: in a gap, the first valid instant after it; in an
    /// overlap, the first occurrence only.
    Fixed,
    /// An every-hour time: in a gap, nothing (the hour does not exist); in
    /// an overlap, both occurrences.
    EveryRealHour,
}

/// The instants of the wall-clock time `local` in `zone` under `rule`, in
/// order (none, one or two).
pub(crate) fn instants(zone: Tz, local: NaiveDateTime, rule: Rule) -> Vec<DateTime<Utc>> {
    match (zone.from_local_datetime(&local), rule) {
        (LocalResult::Single(t), _) => vec![t.with_timezone(&Utc)],
        (LocalResult::Ambiguous(first, _), Rule::Fixed) => vec![first.with_timezone(&Utc)],
        (LocalResult::Ambiguous(first, second), Rule::EveryRealHour) => {
            vec![first.with_timezone(&Utc), second.with_timezone(&Utc)]
        }
        (LocalResult::None, Rule::EveryRealHour) => Vec::new(),
        (LocalResult::None, Rule::Fixed) => gap_end(zone, local).into_iter().collect(),
    }
}

/// The first valid instant after a wall-clock time that does not exist:
/// the end of the gap, which is the transition itself. Transitions fall on
/// whole minutes in every zone of the database since 1970, so the first
/// whole minute after `local` that exists is it.
fn gap_end(zone: Tz, local: NaiveDateTime) -> Option<DateTime<Utc>> {
    let whole_minute = local.with_second(0)?.with_nanosecond(0)?;
    let mut probe = whole_minute;
    // No gap in the database is longer than a day.
    for _ in 0..(24 * 60) {
        probe = probe.checked_add_signed(TimeDelta::minutes(1))?;
        if let Some(t) = zone.from_local_datetime(&probe).earliest() {
            return Some(t.with_timezone(&Utc));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn at(y: i32, m: u32, d: u32, h: u32, min: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(y, m, d).unwrap().and_hms_opt(h, min, 0).unwrap()
    }

    #[test]
    fn gaps_and_overlaps() {
        let ny = chrono_tz::America::New_York;
        // 2026-03-08 02:30 does not exist in New York: 03:00 EDT (07:00 UTC).
        let gap = instants(ny, at(2026, 3, 8, 2, 30), Rule::Fixed);
        assert_eq!(gap, [Utc.with_ymd_and_hms(2026, 3, 8, 7, 0, 0).unwrap()]);
        assert!(instants(ny, at(2026, 3, 8, 2, 30), Rule::EveryRealHour).is_empty());
        // 2026-11-01 01:30 happens twice: 05:30 and 06:30 UTC.
        let first = Utc.with_ymd_and_hms(2026, 11, 1, 5, 30, 0).unwrap();
        assert_eq!(instants(ny, at(2026, 11, 1, 1, 30), Rule::Fixed), [first]);
        assert_eq!(
            instants(ny, at(2026, 11, 1, 1, 30), Rule::EveryRealHour),
            [first, first + TimeDelta::hours(1)]
        );
    }
}
