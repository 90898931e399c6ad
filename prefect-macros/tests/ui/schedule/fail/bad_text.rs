//! Schedule text that does not read is a compile error pointing at it.
use prefect::prelude::*;
use prefect::{cron, rrule, timezone};

#[flow]
async fn etl(months: Vec<u32>) -> usize {
    months.len()
}

fn main() {
    let _ = etl::deployment("daily").cron(cron!("0 6 * *"), timezone!("Europe/Berlin"));
    let _ = etl::deployment("hourly").cron(cron!("61 * * * *"), timezone!("UTC"));
    let _ = etl::deployment("nightly").cron(cron!("0 2 * * *"), timezone!("Europe/Berln"));
    let _ = etl::deployment("weekly").rrule(rrule!("FREQ=SOMETIMES"), timezone!("UTC"));
    // Good text compiles.
    let _ = etl::deployment("ok").cron(cron!("0 6 * * MON-FRI"), timezone!("Asia/Kolkata"));
}
