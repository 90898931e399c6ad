//! Moving a run into a state: its row's current state, and its history.
//!
//! The rule is [`RunTimes::enter`], shared by every store. The history is
//! appended to the run row's `history` blob (read, then written back with
//! the row's new state, in one UPDATE). The row is updated by one of two
//! statements, to keep the hot path cheap: a state that is not final leaves
//! `end_time` (and so the index of open runs) alone; only a final state, or
//! a run that starts again after a final state, touches it.

use std::sync::LazyLock;

use prefect_model::{RunId, StateMeta, StateType};
use rusqlite::{Connection, OptionalExtension, params};

use prefect_store::transition::RunTimes;

use super::QueryResult;
use super::codec::{micros, state_code, stored_name, u32_at};
use super::history;

/// The statements for one table.
struct Statements {
    /// Reads the state columns and the history.
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
                 state_time = ?4, state_scheduled = ?5, run_count = ?6, start_time = ?7, \
                 history = ?8{end} WHERE id = ?9"
            )
        };
        Statements {
            read: format!(
                "SELECT state_time, start_time, end_time, run_count, history, state_type FROM {table} WHERE id = ?1"
            ),
            open: update(""),
            any: update(", end_time = ?10"),
        }
    }
}

static FLOW_RUNS: LazyLock<Statements> = LazyLock::new(|| Statements::new("flow_runs"));
static TASK_RUNS: LazyLock<Statements> = LazyLock::new(|| Statements::new("task_runs"));

/// Moves `run` into `state` by [`RunTimes::enter`]: appends to its history
/// and updates its row. Returns false (and stores nothing) when the run is
/// unknown.
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
            let times = RunTimes {
                state_time: row.get(0)?,
                start_time: row.get(1)?,
                end_time: row.get(2)?,
                run_count: u32_at(row, 3)?,
            };
            Ok((times, row.get::<_, Option<Vec<u8>>>(4)?, row.get::<_, Option<i64>>(5)?))
        })
        .optional()?;
    let Some((mut times, blob, current)) = row else { return Ok(false) };
    // A cancellation asked for from outside (a CLI, a server) and the
    // engine's own Cancelling when it acts on it are one state.
    let cancelling = state_code(StateType::Cancelling);
    if current == Some(cancelling) && state.state_type == StateType::Cancelling {
        return Ok(true);
    }
    let was_open = !times.has_ended();
    let time = times.enter(state, run_count);
    let mut blob = blob.unwrap_or_default();
    let last = history::last_time(&blob)?;
    history::push(&mut blob, last, state, time);
    let args = params![
        state_code(state.state_type),
        stored_name(state),
        state.message,
        time,
        state.scheduled_time.map(micros),
        times.run_count,
        times.start_time,
        blob,
        id,
        times.end_time,
    ];
    if was_open && !times.has_ended() {
        db.prepare_cached(&sql.open)?.execute(&args[..9])?;
    } else {
        db.prepare_cached(&sql.any)?.execute(args)?;
    }
    Ok(true)
}
