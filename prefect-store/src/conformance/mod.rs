//! The conformance suite every store driver must pass.
//!
//! A driver's tests call [`run_all`] with a function that returns a fresh,
//! empty store as an [`AnyStore`]; each check gets its own and talks to it
//! through the capability traits only. Checks panic with a message on the
//! first mismatch, like any test.
//!
//! prefect-store-sqlite's `tests/conformance.rs` runs it on a SQLite store in
//! memory and on files: `conformance::run_all(|| AnyStore::new(open())).await`.

mod fixtures;
mod leases;
mod logs;
mod queue;
mod runs;
mod upkeep;

use crate::{AnyStore, Store};

pub use fixtures::Events;

/// Writes `events` to `store` with no lease, panicking on error.
pub async fn write(store: &dyn Store, events: &mut Events) {
    let batch = events.take();
    if let Err(e) = store.write_events(None, &batch).await {
        panic!("write_events failed: {e}");
    }
}

macro_rules! checks {
    ($fresh:ident: $($check:path),* $(,)?) => {
        $(
            eprintln!("conformance check: {}", stringify!($check));
            $check(&*$fresh()).await;
        )*
    };
}

/// Runs every check, each on a store from `fresh`.
pub async fn run_all<F: FnMut() -> AnyStore>(mut fresh: F) {
    run_recording_checks(&mut fresh).await;
    run_slot_checks(&mut fresh).await;
    run_retention_checks(&mut fresh).await;
    run_queue_checks(&mut fresh).await;
}

/// Runs the checks of the run queue (deployments, scheduled runs, claims,
/// work queues, workers, pause and resume) and of the listings that filter
/// by deployment, each on a store from `fresh`.
pub async fn run_queue_checks<F: FnMut() -> AnyStore>(mut fresh: F) {
    checks!(fresh:
        queue::deployments_are_registered_updated_paused_deleted,
        queue::scheduled_runs_are_created_once,
        queue::claims_take_each_run_once_in_priority_order,
        queue::queues_pause_and_limit_claims,
        queue::late_runs_and_state_changes,
        queue::workers_report_heartbeats,
        queue::paused_runs_resume_with_input,
        queue::labelled_runs_go_to_workers_with_every_label,
        queue::flow_runs_page_by_cursor_and_filter_by_name_tag_deployment_and_time,
        queue::task_runs_page_and_filter_across_flow_runs,
    );
}

/// Runs the checks of recording and reading runs (events, queries, logs,
/// leases and crash detection), each on a store from `fresh`: what a
/// driver that does not yet hold concurrency slots, retention or the run
/// queue must pass.
pub async fn run_recording_checks<F: FnMut() -> AnyStore>(mut fresh: F) {
    checks!(fresh:
        runs::empty_store,
        runs::lists_flows,
        runs::lists_flow_runs_newest_first,
        runs::filters_flow_runs,
        runs::tracks_current_state,
        runs::keeps_states_of_the_same_microsecond,
        runs::inspects_flow_run,
        runs::lists_task_runs,
        runs::inspects_task_run,
        runs::lists_dependency_edges_of_a_flow_run,
        runs::keeps_where_results_are,
        runs::resolves_id_prefixes,
        runs::resolves_short_ids_and_names,
        runs::ignores_duplicates_and_unknown_runs,
        runs::stores_each_batch_once,
        runs::change_counter_moves_on_its_own_writes,
        logs::reads_logs_by_run,
        logs::follows_logs_with_cursor,
        logs::filters_logs,
        leases::crashes_runs_of_dead_processes,
        leases::keeps_runs_of_live_processes,
        leases::release_crashes_unfinished_runs,
        leases::renewal_restores_a_lost_lease,
    );
}

/// Runs the checks of tag concurrency limits and their slots, each on a
/// store from `fresh`.
pub async fn run_slot_checks<F: FnMut() -> AnyStore>(mut fresh: F) {
    checks!(fresh:
        upkeep::concurrency_limits_crud,
        upkeep::slots_are_taken_released_and_reset,
    );
}

/// Runs the checks of retention and deleting a flow run, each on a store
/// from `fresh`.
pub async fn run_retention_checks<F: FnMut() -> AnyStore>(mut fresh: F) {
    checks!(fresh:
        upkeep::prunes_old_finished_runs,
        upkeep::prunes_with_progress,
        upkeep::prunes_only_when_due,
        upkeep::absurd_durations_prune_nothing,
        upkeep::deletes_one_flow_run_with_what_belongs_to_it,
    );
}
