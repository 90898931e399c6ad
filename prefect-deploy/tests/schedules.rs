//! Schedules across DST: the rules of `prefect_deploy::schedules`, checked
//! on fixed cases and as properties over ten years of dates in zones with
//! and without daylight saving time.

use std::time::Duration;

use chrono::{DateTime, NaiveDate, NaiveTime, TimeDelta, TimeZone, Timelike, Utc};
use chrono_tz::Tz;
use prefect_deploy::Error;
use prefect_deploy::schedules::{Adjustment, CronSchedule, Filter, Schedule};
use proptest::prelude::*;

/// Zones with DST in either hemisphere, one that dropped it, and none.
const ZONES: [&str; 7] = [
    "America/New_York",
    "Europe/Berlin",
    "Europe/London",
    "Australia/Sydney",
    "Pacific/Auckland",
    "America/Sao_Paulo",
    "Asia/Kolkata",
];

fn utc(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, h, min, 0).unwrap()
}

fn local(t: DateTime<Utc>, zone: &str) -> chrono::NaiveDateTime {
    t.with_timezone(&zone.parse::<Tz>().unwrap()).naive_local()
}

#[test]
fn a_fixed_time_in_the_spring_gap_runs_once_when_the_gap_ends() {
    // New York, 2026-03-08: 02:00 EST jumps to 03:00 EDT.
    let s = Schedule::cron("30 2 * * *", "America/New_York").unwrap();
    let runs = s.upcoming(utc(2026, 3, 7, 12, 0), 3);
    assert_eq!(runs, [utc(2026, 3, 8, 7, 0), utc(2026, 3, 9, 6, 30), utc(2026, 3, 10, 6, 30)]);
    assert_eq!(local(runs[0], "America/New_York").time(), NaiveTime::from_hms_opt(3, 0, 0).unwrap());
}

#[test]
fn a_fixed_time_in_the_fall_overlap_runs_once_at_its_first_occurrence() {
    // New York, 2026-11-01: 01:00-02:00 happens twice (EDT, then EST).
    let s = Schedule::cron("30 1 * * *", "America/New_York").unwrap();
    let runs = s.upcoming(utc(2026, 10, 31, 12, 0), 2);
    assert_eq!(runs, [utc(2026, 11, 1, 5, 30), utc(2026, 11, 2, 6, 30)]);
}

#[test]
fn a_wildcard_hour_runs_every_real_hour() {
    let s = Schedule::cron("15 * * * *", "America/New_York").unwrap();
    // Through the repeated hour: 00:15, 01:15 EDT, 01:15 EST, 02:15 EST.
    let runs = s.upcoming(utc(2026, 11, 1, 4, 0), 4);
    assert_eq!(
        runs,
        [utc(2026, 11, 1, 4, 15), utc(2026, 11, 1, 5, 15), utc(2026, 11, 1, 6, 15), utc(2026, 11, 1, 7, 15)]
    );
    // Through the skipped hour: 01:15 EST, then 03:15 EDT, one real hour later.
    let runs = s.upcoming(utc(2026, 3, 8, 6, 0), 2);
    assert_eq!(runs, [utc(2026, 3, 8, 6, 15), utc(2026, 3, 8, 7, 15)]);
}

#[test]
fn day_or_decides_how_day_of_month_and_day_of_week_combine() {
    // 9:00 on the 1st or on Mondays (standard cron), or on Mondays that are the 1st-7th.
    let or = CronSchedule::new("0 9 1-7 * MON", "UTC").unwrap();
    let and = or.clone().day_or(false).unwrap();
    let after = utc(2026, 12, 1, 12, 0); // a Tuesday
    assert_eq!(or.next_after(after), Some(utc(2026, 12, 2, 9, 0)));
    assert_eq!(and.next_after(after), Some(utc(2026, 12, 7, 9, 0)));
}

#[test]
fn intervals_under_a_day_follow_real_time_and_longer_ones_the_wall_clock() {
    let anchor = utc(2026, 3, 7, 5, 0); // 00:00 in New York
    let six_hours = Schedule::interval(Duration::from_secs(6 * 3600), anchor, "America/New_York").unwrap();
    let runs = six_hours.upcoming(anchor, 6);
    assert!(runs.windows(2).all(|w| w[1] - w[0] == TimeDelta::hours(6)), "{runs:?}");
    let daily = Schedule::interval(Duration::from_secs(86_400), anchor, "America/New_York").unwrap();
    let runs = daily.upcoming(anchor, 3);
    // Midnight stays midnight: the 8th's day is 23 hours long.
    assert_eq!(runs, [utc(2026, 3, 8, 5, 0), utc(2026, 3, 9, 4, 0), utc(2026, 3, 10, 4, 0)]);
}

#[test]
fn explicit_dates_run_once_each_in_order() {
    let s = Schedule::dates([utc(2027, 1, 5, 9, 0), utc(2027, 1, 4, 9, 0), utc(2027, 1, 4, 9, 0)]);
    assert_eq!(s.upcoming(utc(2027, 1, 1, 0, 0), 5), [utc(2027, 1, 4, 9, 0), utc(2027, 1, 5, 9, 0)]);
}

#[test]
fn bad_input_names_what_is_wrong() {
    let err = Schedule::cron("0 6 * *", "UTC").unwrap_err();
    assert!(matches!(&err, Error::InvalidCron { pattern, .. } if pattern == "0 6 * *"), "{err:?}");
    assert!(err.to_string().contains("expected 5 fields"), "{err}");
    let err = Schedule::cron("0 25 * * *", "UTC").unwrap_err();
    assert!(err.to_string().starts_with("invalid cron pattern `0 25 * * *`"), "{err}");
    let err = Schedule::cron("0 6 * * *", "Europe/Berln").unwrap_err();
    assert!(matches!(&err, Error::UnknownTimeZone { zone } if zone == "Europe/Berln"), "{err}");
    let err = Schedule::interval(Duration::ZERO, utc(2026, 1, 1, 0, 0), "UTC").unwrap_err();
    assert!(matches!(err, Error::InvalidInterval { .. }), "{err:?}");
}

#[test]
fn schedules_round_trip_through_json_and_are_checked_when_read() {
    let schedules = [
        Schedule::cron("0 6 * * 1-5", "Europe/Berlin").unwrap(),
        Schedule::interval(Duration::from_secs(5400), utc(2026, 1, 1, 0, 0), "UTC").unwrap(),
        Schedule::dates([utc(2027, 1, 4, 9, 0)]),
    ];
    for schedule in schedules {
        let json = serde_json::to_string(&schedule).unwrap();
        let back: Schedule = serde_json::from_str(&json).unwrap();
        assert_eq!(back, schedule, "{json}");
    }
    let stored = serde_json::json!({
        "clock": {"cron": {"cron": "0 6 * * *", "timezone": "Mars/Olympus", "day_or": true}}
    });
    let err = serde_json::from_value::<Schedule>(stored).unwrap_err();
    assert!(err.to_string().contains("unknown time zone `Mars/Olympus`"), "{err}");
}

#[test]
fn recurrence_rules_end_with_count_or_until_and_keep_local_time() {
    let weekly =
        Schedule::rrule("FREQ=WEEKLY;BYDAY=MO;BYHOUR=9;BYMINUTE=0;BYSECOND=0;COUNT=200", "Europe/Berlin")
            .unwrap();
    let runs = weekly.upcoming(utc(2019, 12, 1, 0, 0), 300);
    assert_eq!(runs.len(), 200, "COUNT ends the rule");
    assert!(
        runs.iter().all(|t| local(*t, "Europe/Berlin").time() == NaiveTime::from_hms_opt(9, 0, 0).unwrap())
    );
    // 09:00 in Berlin is 08:00 UTC in winter and 07:00 UTC in summer.
    assert!(runs.iter().any(|t| t.hour() == 8) && runs.iter().any(|t| t.hour() == 7));
    let until =
        Schedule::rrule("DTSTART;TZID=UTC:20261201T120000\nRRULE:FREQ=DAILY;UNTIL=20261203T120000Z", "UTC")
            .unwrap();
    assert_eq!(
        until.upcoming(utc(2026, 11, 30, 0, 0), 10),
        [utc(2026, 12, 1, 12, 0), utc(2026, 12, 2, 12, 0), utc(2026, 12, 3, 12, 0)]
    );
    let never = Schedule::rrule("FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=31", "UTC").unwrap();
    assert_eq!(never.next_after(utc(2026, 1, 1, 0, 0)), None, "a rule that never matches ends");
    let err = Schedule::rrule("FREQ=SOMETIMES", "UTC").unwrap_err();
    assert!(matches!(&err, Error::InvalidRRule { rrule, .. } if rrule == "FREQ=SOMETIMES"), "{err:?}");
    let json = serde_json::to_string(&weekly).unwrap();
    assert_eq!(serde_json::from_str::<Schedule>(&json).unwrap(), weekly, "{json}");
}

#[test]
fn prefect_1_filters_and_adjustments() {
    // Hourly, but not at lunch, and only on the first of the month or on Fridays.
    let s = Schedule::cron("0 * * * *", "Europe/London")
        .unwrap()
        .filter(Filter::between_times("09:00", "17:00").unwrap())
        .not_filter(Filter::between_times("12:00", "13:59").unwrap())
        .or_filter(Filter::MonthStart)
        .or_filter(Filter::DayOfWeek(chrono::Weekday::Fri));
    let runs = s.upcoming(utc(2026, 12, 1, 0, 0), 8);
    let hours: Vec<u32> = runs.iter().map(|t| t.hour()).collect();
    assert_eq!(hours, [9, 10, 11, 14, 15, 16, 17, 9], "{runs:?}");
    assert_eq!(runs[7].date_naive(), NaiveDate::from_ymd_opt(2026, 12, 4).unwrap(), "then Friday");

    // A weekend run moves to Monday at the same wall-clock time, across a DST change.
    let weekly = Schedule::cron("0 9 * * SAT", "Europe/Berlin").unwrap().adjust(Adjustment::NextWeekday);
    let monday = weekly.next_after(utc(2026, 3, 27, 0, 0)).unwrap();
    assert_eq!(monday, utc(2026, 3, 30, 7, 0), "09:00 CEST on Monday");

    // A filter nothing passes ends the schedule rather than searching forever.
    let never = Schedule::cron("0 9 * * MON", "UTC").unwrap().filter(Filter::Weekend);
    assert_eq!(never.next_after(utc(2026, 1, 1, 0, 0)), None);

    let json = serde_json::to_string(&s.clone().adjust(Adjustment::Add(Duration::from_secs(300)))).unwrap();
    let back: Schedule = serde_json::from_str(&json).unwrap();
    assert_eq!(back, s.adjust(Adjustment::Add(Duration::from_secs(300))), "{json}");
    assert!(json.contains("\"add\":\"5m\""), "{json}");
}

fn any_zone() -> impl Strategy<Value = &'static str> {
    prop::sample::select(&ZONES[..])
}

/// A start instant between 2020 and 2035.
fn any_start() -> impl Strategy<Value = DateTime<Utc>> {
    (0i64..(15 * 365 * 24 * 60)).prop_map(|minutes| utc(2020, 1, 1, 0, 0) + TimeDelta::minutes(minutes))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    /// A daily fixed time runs exactly once on each local date, at that
    /// time when it exists, else at the end of the gap that swallowed it.
    #[test]
    fn a_daily_time_runs_once_per_local_date(zone in any_zone(), start in any_start(), hour in 0u32..24, minute in 0u32..60) {
        let s = Schedule::cron(&format!("{minute} {hour} * * *"), zone).unwrap();
        let runs = s.upcoming(start, 400);
        prop_assert_eq!(runs.len(), 400);
        let dates: Vec<NaiveDate> = runs.iter().map(|t| local(*t, zone).date()).collect();
        for pair in dates.windows(2) {
            prop_assert_eq!(pair[1], pair[0].succ_opt().unwrap(), "a date skipped or repeated in {}", zone);
        }
        let wanted = NaiveTime::from_hms_opt(hour, minute, 0).unwrap();
        for run in &runs {
            let at = local(*run, zone).time();
            // At the time, or moved forward by a gap (at most the gap's length).
            prop_assert!(at == wanted || (at > wanted && at - wanted <= TimeDelta::hours(1)), "{} ran at {} in {}", wanted, at, zone);
        }
    }

    /// An every-hour pattern runs once per real hour.
    #[test]
    fn an_hourly_pattern_runs_every_real_hour(zone in any_zone(), start in any_start(), minute in 0u32..60) {
        let s = Schedule::cron(&format!("{minute} * * * *"), zone).unwrap();
        let runs = s.upcoming(start, 24 * 10);
        prop_assert!(runs[0] > start && runs[0] - start <= TimeDelta::hours(1));
        for pair in runs.windows(2) {
            prop_assert_eq!(pair[1] - pair[0], TimeDelta::hours(1), "in {}", zone);
        }
        prop_assert!(runs.iter().all(|t| t.minute() == minute || zone == "Asia/Kolkata"));
    }

    /// `next_after` of any instant between two runs is the later run.
    #[test]
    fn next_after_never_skips_a_run(zone in any_zone(), start in any_start(), pattern in prop::sample::select(&["*/20 * * * *", "30 2 * * *", "0 1,13 * * MON-FRI", "45 23 L * *"][..]), probe in 0.0f64..1.0) {
        let s = Schedule::cron(pattern, zone).unwrap();
        let runs = s.upcoming(start, 30);
        for pair in runs.windows(2) {
            prop_assert!(pair[0] < pair[1]);
            let gap = (pair[1] - pair[0]).num_seconds();
            let between = pair[0] + TimeDelta::seconds((gap as f64 * probe) as i64);
            let expected = if between < pair[1] { pair[1] } else { s.next_after(pair[1]).unwrap() };
            prop_assert_eq!(s.next_after(between), Some(expected));
        }
    }

    /// Intervals under a day are exact in real time; a daily interval keeps
    /// its wall-clock time on every local date.
    #[test]
    fn intervals_keep_their_rule(zone in any_zone(), anchor in any_start(), hours in 1u64..24) {
        let short = Schedule::interval(Duration::from_secs(hours * 3600), anchor, zone).unwrap();
        let runs = short.upcoming(anchor - TimeDelta::days(3), 50);
        for pair in runs.windows(2) {
            prop_assert_eq!(pair[1] - pair[0], TimeDelta::hours(hours as i64));
        }
        let daily = Schedule::interval(Duration::from_secs(86_400), anchor, zone).unwrap();
        let runs = daily.upcoming(anchor, 60);
        let wanted = local(anchor, zone).time();
        for pair in runs.windows(2) {
            prop_assert_eq!(local(pair[1], zone).date(), local(pair[0], zone).date().succ_opt().unwrap());
        }
        for run in &runs {
            let at = local(*run, zone).time();
            prop_assert!(at == wanted || (at > wanted && at - wanted <= TimeDelta::hours(1)), "{} ran at {}", wanted, at);
        }
    }
}
