//! Moving a run into a state: its row's current state, and its history.
//!
//! The history is appended to the run row's `history` blob (read, then
//! written back with the row's new state, in one UPDATE). The row is
//! updated by one of two statements, to keep the hot path cheap: a state
//! that is not final leaves `end_time` (and so the index of open runs)
//! alone; only a final state, or a run that starts again after a final
//! state, touches it.

use std::sync::LazyLock;

use prefect_core::{RunId, StateMeta};
use rusqlite::{Connection, OptionalExtension, params};

use super::QueryResult;
use super::codec::{RUNNING, micros, state_code, stored_name};
use super::history;

/// The statements for one table. The time stored (`?4`) is one
/// microsecond after the run's previous state if the state's own time
/// would not be later (timestamps are stored in microseconds; the engine
/// stamps them in nanoseconds).
struct Statements {
    /// Reads the previous state's time, whether the run is open, and the
    /// history.
    read: String,
    /// Updates a run that is open and stays open.
    open: String,
    /// Updates a run that ends, or starts again after it ended.
    any: String,
}

impl Statements {
    fn new(table: &str) -> Statements {
        let update = |end: &str| {
            format!(
                "UPDATE {table} SET state_type = ?1, state_name = ?2, state_message = ?3, \
                 state_time = ?4, state_scheduled = ?5, run_count = coalesce(?6, run_count), \
                 start_time = CASE WHEN start_time IS NULL AND ?1 = ?7 THEN ?4 ELSE start_time END, \
                 history = ?9{end} WHERE id = ?8"
            )
        };
        Statements {
            read: format!("SELECT state_time, end_time IS NULL, history FROM {table} WHERE id = ?1"),
            open: update(""),
            any: update(", end_time = CASE WHEN ?10 THEN ?4 END"),
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
    let id = run.uuid().into_bytes();
    let row = db
        .prepare_cached(&sql.read)?
        .query_row([id], |row| {
            Ok((row.get::<_, Option<i64>>(0)?, row.get::<_, bool>(1)?, row.get::<_, Option<Vec<u8>>>(2)?))
        })
        .optional()?;
    let Some((previous, open, blob)) = row else { return Ok(false) };
    let requested = micros(state.timestamp);
    let time = match previous {
        Some(previous) => requested.max(previous + 1),
        None => requested,
    };
    let mut blob = blob.unwrap_or_default();
    let last = history::last_time(&blob)?;
    history::push(&mut blob, last, state, time);
    let args = params![
        state_code(state.state_type),
        stored_name(state),
        state.message,
        time,
        state.scheduled_time.map(micros),
        run_count,
        RUNNING,
        id,
        blob,
        state.is_final(),
    ];
    if open && !state.is_final() {
        db.prepare_cached(&sql.open)?.execute(&args[..9])?;
    } else {
        db.prepare_cached(&sql.any)?.execute(args)?;
    }
    Ok(true)
}
