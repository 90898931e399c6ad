//! Orchestration for prefect-rs: flows that run without anyone calling them.
//!
//! - [`schedules`]: when a deployment's runs are due, computed without any
//!   clock or I/O, so it is tested exhaustively and costs microseconds;
//! - [`Deployment`]: a flow of this binary, named, with its schedules,
//!   parameters and work queue;
//! - [`serve`]: registers deployments in the run database, schedules their
//!   runs ahead and runs them when due (or, `run_once`, what is due now);
//! - [`Worker`]: claims scheduled runs of the flows it is given from work
//!   queues, with a lease, and runs them;
//! - [`run_deployment`]: starts a run of a deployment from code (a subflow
//!   when called in a flow) and waits for it;
//! - [`pause_flow_run`] and [`pause_flow_run_with_input`]: a flow waits
//!   until someone resumes it (`prefect flow-run resume`), with a typed
//!   input for approvals.
//!
//! Everything goes through the store traits of `prefect-store`, on the run
//! database the settings name.
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

mod deployment;
mod error;
mod isolation;
mod pause;
mod run_deployment;
mod run_ids;
mod serve;
mod wake;
mod worker;

pub use deployment::{Catchup, Deploy, Deployment};
pub use error::Error;
pub use isolation::Isolation;
pub use pause::{pause_flow_run, pause_flow_run_with_input};
pub use run_deployment::{DeploymentRun, RunDeployment, run_deployment};
pub use run_ids::scheduled_run_id;
pub use serve::{Serve, serve};
pub use worker::{WorkReport, Worker};

/// A flow entry for this crate's doc examples: `etl(months: Vec<u32>)`.
#[doc(hidden)]
pub fn __doc_entry() -> prefect_core::FlowEntry {
    struct Etl;
    impl prefect_core::entry::FlowSignature for Etl {
        type Args = (Vec<u32>,);
        type Output = ();
        const PARAMETERS: &'static [&'static str] = &["months"];
        fn descriptor() -> &'static prefect_core::Flow {
            static FLOW: std::sync::LazyLock<prefect_core::Flow> =
                std::sync::LazyLock::new(|| prefect_core::Flow::new("etl"));
            &FLOW
        }
        fn call((_months,): (Vec<u32>,)) -> prefect_core::FlowCall<()> {
            prefect_core::flow_call(Self::descriptor().clone(), serde_json::Value::Null, || async {
                Ok::<_, std::io::Error>(())
            })
        }
        fn output_json(_: &()) -> serde_json::Value {
            serde_json::Value::Null
        }
    }
    prefect_core::FlowEntry::of::<Etl>()
}
