//! Explicit instants.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Runs at explicit instants (Prefect's `RDate`s, or a one-off list).
///
/// ```
/// use chrono::{TimeZone, Utc};
/// use prefect_deploy::schedules::DateSchedule;
///
/// let launch = Utc.with_ymd_and_hms(2027, 1, 4, 9, 0, 0).unwrap();
/// let dates = DateSchedule::new([launch, launch]);
/// assert_eq!(dates.next_after(launch - chrono::TimeDelta::days(1)), Some(launch));
/// assert_eq!(dates.next_after(launch), None);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "Vec<DateTime<Utc>>", into = "Vec<DateTime<Utc>>")]
pub struct DateSchedule {
    /// Sorted, without repeats.
    dates: Vec<DateTime<Utc>>,
}

impl From<Vec<DateTime<Utc>>> for DateSchedule {
    fn from(dates: Vec<DateTime<Utc>>) -> Self {
        DateSchedule::new(dates)
    }
}

impl From<DateSchedule> for Vec<DateTime<Utc>> {
    fn from(schedule: DateSchedule) -> Self {
        schedule.dates
    }
}

impl DateSchedule {
    /// At each of `dates`, in any order; repeats count once.
    pub fn new(dates: impl IntoIterator<Item = DateTime<Utc>>) -> DateSchedule {
        let mut dates: Vec<_> = dates.into_iter().collect();
        dates.sort_unstable();
        dates.dedup();
        DateSchedule { dates }
    }

    /// The instants, in order.
    pub fn dates(&self) -> &[DateTime<Utc>] {
        &self.dates
    }

    /// The first instant strictly after `after`.
    pub fn next_after(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let at = self.dates.partition_point(|d| *d <= after);
        self.dates.get(at).copied()
    }
}
