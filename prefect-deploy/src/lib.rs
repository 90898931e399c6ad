//! Orchestration for prefect-rs. This first part holds [`schedules`]: when
//! a deployment's runs are due, computed without any clock or I/O, so it
//! is tested exhaustively and costs microseconds.
//!
//! ```
//! use chrono::{TimeZone, Utc};
//! use prefect_deploy::schedules::Schedule;
//!
//! // Every day at 06:00 in Berlin, whatever the season.
//! let daily = Schedule::cron("0 6 * * *", "Europe/Berlin").unwrap();
//! let after = Utc.with_ymd_and_hms(2026, 3, 28, 12, 0, 0).unwrap();
//! let next: Vec<String> = daily.upcoming(after, 2).iter().map(|t| t.to_rfc3339()).collect();
//! // Summer time starts on the 29th: 06:00 is 04:00 UTC from then on (05:00 before).
//! assert_eq!(next, ["2026-03-29T04:00:00+00:00", "2026-03-30T04:00:00+00:00"]);
//! ```

pub mod schedules;

mod error;
mod run_ids;

pub use error::Error;
pub use run_ids::scheduled_run_id;
