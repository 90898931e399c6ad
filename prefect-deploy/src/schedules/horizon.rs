//! How far ahead a served schedule's runs are created.

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};

use super::Schedule;

/// How far ahead runs are created, as Prefect's scheduler does it: at
/// least `min_runs` runs and at least `min_time` ahead, but never more than
/// `max_runs` runs nor further than `max_time`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Horizon {
    /// Create at least this many runs (default 3)...
    pub min_runs: usize,
    /// ...and cover at least this long (default 1 h)...
    pub min_time: Duration,
    /// ...but never more than this many runs (default 100)...
    pub max_runs: usize,
    /// ...nor further ahead than this (default 100 days).
    pub max_time: Duration,
}

impl Default for Horizon {
    fn default() -> Self {
        Horizon {
            min_runs: 3,
            min_time: Duration::from_secs(3600),
            max_runs: 100,
            max_time: Duration::from_secs(100 * 86_400),
        }
    }
}

impl Schedule {
    /// The instants after `now` for which runs should exist, within `horizon`.
    ///
    /// ```
    /// use chrono::{TimeZone, Utc};
    /// use prefect_deploy::schedules::{Horizon, Schedule};
    ///
    /// let now = Utc.with_ymd_and_hms(2026, 12, 2, 9, 0, 0).unwrap();
    /// // Daily: three runs, though they reach past the hour.
    /// assert_eq!(Schedule::cron("0 6 * * *", "UTC").unwrap().plan(now, Horizon::default()).len(), 3);
    /// // Every minute: the hour ahead, 60 runs.
    /// assert_eq!(Schedule::cron("* * * * *", "UTC").unwrap().plan(now, Horizon::default()).len(), 60);
    /// ```
    pub fn plan(&self, now: DateTime<Utc>, horizon: Horizon) -> Vec<DateTime<Utc>> {
        let far = |d: Duration| now.checked_add_signed(TimeDelta::from_std(d).unwrap_or(TimeDelta::MAX));
        let (min_end, max_end) = (far(horizon.min_time), far(horizon.max_time));
        let mut runs = Vec::new();
        let mut from = now;
        while runs.len() < horizon.max_runs {
            let Some(next) = self.next_after(from) else { break };
            let past = |end: Option<DateTime<Utc>>| end.is_some_and(|end| next > end);
            if past(max_end) || (runs.len() >= horizon.min_runs && past(min_end)) {
                break;
            }
            runs.push(next);
            from = next;
        }
        runs
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn the_horizon_bounds_both_ways() {
        let now = Utc.with_ymd_and_hms(2026, 12, 2, 9, 0, 0).unwrap();
        let h = Horizon::default();
        // Every 10 s: capped at 100 runs, short of the hour.
        let fast = Schedule::interval(Duration::from_secs(10), now, "UTC").unwrap();
        assert_eq!(fast.plan(now, h).len(), 100);
        // Yearly: the 100 days allow only what falls inside them.
        let yearly = Schedule::cron("0 0 1 1 *", "UTC").unwrap();
        assert_eq!(yearly.plan(now, h), [Utc.with_ymd_and_hms(2027, 1, 1, 0, 0, 0).unwrap()]);
        // Used-up dates: nothing.
        assert!(Schedule::dates([now]).plan(now, h).is_empty());
        // Every 20 min: an hour's worth is 3 runs.
        let third = Schedule::interval(Duration::from_secs(1200), now, "UTC").unwrap();
        assert_eq!(third.plan(now, h).len(), 3);
        let more = Horizon { min_runs: 5, ..h };
        assert_eq!(third.plan(now, more).len(), 5);
    }
}
