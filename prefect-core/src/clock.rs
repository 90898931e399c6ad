//! The wall clock, read the cheap way.
//!
//! `chrono::Utc::now()` turns the seconds since the epoch into a calendar
//! date on every call, and a task run reads the clock four times or more
//! (created, and each state): that conversion was several percent of a
//! trivial task. The date changes once a day, so each thread keeps the last
//! one it computed.

use std::cell::Cell;
use std::time::{SystemTime, UNIX_EPOCH};

use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, Utc};

thread_local! {
    /// The last day (days since the epoch) this thread converted, and its date.
    static DAY: Cell<Option<(i64, NaiveDate)>> = const { Cell::new(None) };
}

/// Days from 0001-01-01 (chrono's day 1) to 1970-01-01.
const EPOCH_FROM_CE: i64 = 719_163;

/// The current time, as `Utc::now()` gives it.
pub(crate) fn now() -> DateTime<Utc> {
    let Ok(since) = SystemTime::now().duration_since(UNIX_EPOCH) else { return Utc::now() };
    let Ok(secs) = i64::try_from(since.as_secs()) else { return Utc::now() };
    let (day, second) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let date = match DAY.with(Cell::get) {
        Some((cached, date)) if cached == day => date,
        _ => {
            let Some(date) =
                i32::try_from(day + EPOCH_FROM_CE).ok().and_then(NaiveDate::from_num_days_from_ce_opt)
            else {
                return Utc::now();
            };
            DAY.with(|cell| cell.set(Some((day, date))));
            date
        }
    };
    let Some(time) = NaiveTime::from_num_seconds_from_midnight_opt(second as u32, since.subsec_nanos())
    else {
        return Utc::now();
    };
    DateTime::from_naive_utc_and_offset(NaiveDateTime::new(date, time), Utc)
}

#[cfg(test)]
mod tests {
    #[test]
    fn reads_what_chrono_reads() {
        for _ in 0..3 {
            let before = chrono::Utc::now();
            let ours = super::now();
            let after = chrono::Utc::now();
            assert!(before <= ours && ours <= after, "{before} {ours} {after}");
        }
    }
}
