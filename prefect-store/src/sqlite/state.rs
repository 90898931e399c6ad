//! Moving a run into a state: its row's current state, and its history.
//!
//! The run row is updated by one of two statements, to keep the hot path
//! cheap: a state that is not final leaves `end_time` (and so the index of
//! open runs) alone; only a final state, or a run that starts again after a
//! final state, touches it.

use std::sync::LazyLock;

use prefect_core::{RunId, StateMeta};
use rusqlite::{Connection, params};

use super::QueryResult;
use super::codec::{RUNNING, micros, state_code, stored_name};

/// The statements for one table. `?4` is the state's time; the time
/// stored is one microsecond after the run's previous state if it would not
/// be later (timestamps are stored in microseconds; the engine stamps them
/// in nanoseconds). Both statements compute it from the row as it was.
struct Statements {
    /// Appends to the history; inserts nothing for an unknown run.
    history: String,
    /// Updates a run that is open and stays open.
    open: String,
    /// Updates a run that ends, or starts again after it ended.
    any: String,
}

const TIME: &str = "max(?4, coalesce(state_time + 1, ?4))";

impl Statements {
    fn new(table: &str) -> Statements {
        let update = |end: &str, filter: &str| {
            format!(
                "UPDATE {table} SET state_type = ?1, state_name = ?2, state_message = ?3, \
                 state_time = {TIME}, state_scheduled = ?5, run_count = coalesce(?6, run_count), \
                 start_time = CASE WHEN start_time IS NULL AND ?1 = ?7 THEN {TIME} ELSE start_time END\
                 {end} WHERE id = ?8{filter}"
            )
        };
        Statements {
            history: format!(
                "INSERT OR REPLACE INTO states (run_id, timestamp, type, name, message, scheduled) \
                 SELECT id, {TIME}, ?1, ?2, ?3, ?5 FROM {table} WHERE id = ?8"
            ),
            open: update("", " AND end_time IS NULL"),
            any: update(&format!(", end_time = CASE WHEN ?9 THEN {TIME} END"), ""),
        }
    }
}

static FLOW_RUNS: LazyLock<Statements> = LazyLock::new(|| Statements::new("flow_runs"));
static TASK_RUNS: LazyLock<Statements> = LazyLock::new(|| Statements::new("task_runs"));

/// Moves `run` into `state`: appends to its history and updates its row.
/// Returns false (and stores nothing) when the run is unknown.
pub(crate) fn apply_state(
    db: &Connection,
    run: RunId,
    state: &StateMeta,
    run_count: Option<u32>,
) -> QueryResult<bool> {
    let sql: &Statements = match run {
        RunId::Flow(_) => &FLOW_RUNS,
        RunId::Task(_) => &TASK_RUNS,
    };
    let args = params![
        state_code(state.state_type),
        stored_name(state),
        state.message,
        micros(state.timestamp),
        state.scheduled_time.map(micros),
        run_count,
        RUNNING,
        run.uuid().into_bytes(),
        state.is_final(),
    ];
    if db.prepare_cached(&sql.history)?.execute(&args[..8])? == 0 {
        return Ok(false);
    }
    let updated = !state.is_final() && db.prepare_cached(&sql.open)?.execute(&args[..8])? == 1;
    if !updated {
        db.prepare_cached(&sql.any)?.execute(args)?;
    }
    Ok(true)
}
