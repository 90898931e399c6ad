//! Schedule computation: the next 100 runs of 1,000 deployments (cron
//! patterns in several zones, intervals, recurrence rules), as `serve`
//! computes them.
//!
//! `cargo bench -p prefect-deploy --bench schedules`. Target (issue 12):
//! under 50 ms in all.

use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};
use prefect_deploy::schedules::Schedule;

const ZONES: [&str; 5] = ["UTC", "Europe/Berlin", "America/New_York", "Australia/Sydney", "Asia/Kolkata"];
const PATTERNS: [&str; 5] = ["0 6 * * *", "*/15 * * * *", "30 2 * * MON-FRI", "0 */4 * * *", "45 23 L * *"];

fn deployments() -> Vec<Schedule> {
    let anchor = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
    (0..1_000)
        .map(|i| {
            let zone = ZONES[i % ZONES.len()];
            if i % 10 == 9 {
                let rule = "DTSTART;TZID=UTC:20261101T090000\nRRULE:FREQ=HOURLY;BYDAY=MO,TU,WE,TH,FR";
                Schedule::rrule(rule, zone).unwrap()
            } else if i % 4 == 3 {
                let every = Duration::from_secs(600 * (1 + i as u64 % 200));
                Schedule::interval(every, anchor, zone).unwrap()
            } else {
                Schedule::cron(PATTERNS[i % PATTERNS.len()], zone).unwrap()
            }
        })
        .collect()
}

fn main() {
    let schedules = deployments();
    let after = Utc.with_ymd_and_hms(2026, 12, 1, 12, 0, 0).unwrap();
    let mut times = Vec::new();
    for _ in 0..5 {
        let start = Instant::now();
        let runs: usize = schedules.iter().map(|s| s.upcoming(after, 100).len()).sum();
        times.push(start.elapsed());
        assert_eq!(runs, 100_000);
    }
    times.sort();
    println!(
        "schedules: next 100 runs of 1,000 deployments: {:.1} ms (median of 5; target < 50 ms)",
        times[2].as_secs_f64() * 1e3
    );
}
