//! The one rule that moves a stored run into a new state. Every driver
//! applies it, to a row it reads or to a run it is about to insert, so a
//! run's columns mean the same in every store.
//!
//! Times are microseconds since the Unix epoch, the precision stores keep.
//!
//! - The stored time is the state's own, or one microsecond after the
//!   run's previous state if that would not be later (the engine stamps in
//!   nanoseconds; two states can share a microsecond), so a history is
//!   strictly ordered.
//! - The first Running state sets the start time; it never changes after.
//! - A final state sets the end time; any other state clears it (a run that
//!   runs again after ending is open again).
//! - The run count is the event's, when it carries one.

use prefect_model::{StateMeta, StateType};

/// The state-related columns of a stored run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RunTimes {
    /// When its current state was entered, once it has one.
    pub state_time: Option<i64>,
    /// When it first entered Running.
    pub start_time: Option<i64>,
    /// When it entered its final state, while it is in one.
    pub end_time: Option<i64>,
    /// How many times it entered Running.
    pub run_count: u32,
}

impl RunTimes {
    /// Moves the run into `state` and returns the time the state is stored
    /// at. `run_count` is the event's count, if it has one.
    ///
    /// ```
    /// use chrono::DateTime;
    /// use prefect_model::{StateMeta, StateType};
    /// use prefect_store::transition::RunTimes;
    ///
    /// let at = |us| StateMeta { timestamp: DateTime::from_timestamp_micros(us).unwrap(), ..StateMeta::new(StateType::Running) };
    /// let mut run = RunTimes::default();
    /// assert_eq!(run.enter(&at(10), Some(1)), 10);
    /// // Stamped in the same microsecond: stored one after.
    /// let done = StateMeta { state_type: StateType::Completed, ..at(10) };
    /// assert_eq!(run.enter(&done, Some(1)), 11);
    /// assert_eq!((run.start_time, run.end_time, run.run_count), (Some(10), Some(11), 1));
    /// ```
    pub fn enter(&mut self, state: &StateMeta, run_count: Option<u32>) -> i64 {
        let requested = state.timestamp.timestamp_micros();
        let time = match self.state_time {
            Some(previous) => requested.max(previous.saturating_add(1)),
            None => requested,
        };
        if self.start_time.is_none() && state.state_type == StateType::Running {
            self.start_time = Some(time);
        }
        self.end_time = state.is_final().then_some(time);
        if let Some(count) = run_count {
            self.run_count = count;
        }
        self.state_time = Some(time);
        time
    }

    /// Whether the run has ended (it is in a final state).
    pub fn has_ended(&self) -> bool {
        self.end_time.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::DateTime;

    fn state(state_type: StateType, us: i64) -> StateMeta {
        StateMeta { timestamp: DateTime::from_timestamp_micros(us).unwrap(), ..StateMeta::new(state_type) }
    }

    #[test]
    fn a_run_that_runs_again_after_ending_is_open_and_keeps_its_start() {
        let mut run = RunTimes::default();
        run.enter(&state(StateType::Pending, 1), None);
        assert_eq!(run.start_time, None);
        run.enter(&state(StateType::Running, 5), Some(1));
        run.enter(&state(StateType::Failed, 9), Some(1));
        assert!(run.has_ended());
        run.enter(&state(StateType::Running, 3), Some(2));
        assert_eq!(run, RunTimes { state_time: Some(10), start_time: Some(5), end_time: None, run_count: 2 });
    }
}
