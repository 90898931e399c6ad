//! Ids of scheduled runs, the same in every process.

use chrono::{DateTime, Utc};
use prefect_model::FlowRunId;
use uuid::Uuid;

/// The id of the run `deployment` has at `scheduled`: the same wherever it
/// is computed, so two processes serving one deployment create its run for
/// a time once (the store ignores a run created twice), and time-ordered
/// like every run id (a UUIDv7 whose time is the scheduled time and whose
/// random bits are a blake3 hash of the deployment and the time).
///
/// ```
/// use chrono::{TimeZone, Utc};
/// use prefect_deploy::scheduled_run_id;
///
/// let at = Utc.with_ymd_and_hms(2026, 12, 3, 6, 0, 0).unwrap();
/// assert_eq!(scheduled_run_id("etl/daily", at), scheduled_run_id("etl/daily", at));
/// assert_ne!(scheduled_run_id("etl/daily", at), scheduled_run_id("etl/hourly", at));
/// ```
pub fn scheduled_run_id(deployment: &str, scheduled: DateTime<Utc>) -> FlowRunId {
    let micros = scheduled.timestamp_micros();
    let mut hasher = blake3::Hasher::new();
    hasher.update(b"prefect-rs scheduled run v1\0");
    hasher.update(deployment.as_bytes());
    hasher.update(b"\0");
    hasher.update(&micros.to_le_bytes());
    let hash = hasher.finalize();
    let mut random = [0u8; 10];
    random.copy_from_slice(&hash.as_bytes()[..10]);
    // A v7 layout: 48 bits of milliseconds, version 7, variant, then the hash.
    let millis = u64::try_from(scheduled.timestamp_millis()).unwrap_or(0);
    let ts = uuid::Timestamp::from_unix(uuid::NoContext, millis / 1000, ((millis % 1000) * 1_000_000) as u32);
    let base = Uuid::new_v7(ts).into_bytes();
    let mut bytes = [0u8; 16];
    bytes[..6].copy_from_slice(&base[..6]);
    bytes[6..].copy_from_slice(&random);
    bytes[6] = (bytes[6] & 0x0f) | 0x70;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    FlowRunId(Uuid::from_bytes(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeDelta, TimeZone};

    #[test]
    fn stable_distinct_and_ordered_by_time() {
        let at = Utc.with_ymd_and_hms(2026, 12, 3, 6, 0, 0).unwrap();
        let id = scheduled_run_id("etl/daily", at);
        assert_eq!(id.0.get_version_num(), 7);
        assert_eq!(id.0.get_variant(), uuid::Variant::RFC4122);
        // Pinned: the id must not change between builds, or a new binary
        // would create a second run for a time an old one already created.
        assert_eq!(id.0.to_string(), "01a23a7c-ff00-7751-be06-277a12dc5e41");
        let later = scheduled_run_id("etl/daily", at + TimeDelta::hours(1));
        assert!(later > id, "ordered by time");
        assert_ne!(scheduled_run_id("etl/daily", at + TimeDelta::microseconds(1)), id);
        let (secs, _) = id.0.get_timestamp().unwrap().to_unix();
        assert_eq!(secs, at.timestamp() as u64);
    }
}
