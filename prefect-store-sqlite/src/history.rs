//! A run's state history on its own row (schema v2): the `history` BLOB
//! column of `flow_runs` and `task_runs`, in the encoding of
//! [`prefect_store::history`]. Runs of version-1 files keep their history
//! in the `states` table; a reader merges both.

use prefect_model::StateMeta;
use rusqlite::types::Type;

pub(crate) use prefect_store::history::{encode, push};

fn corrupt(error: prefect_store::history::HistoryError) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(0, Type::Blob, Box::new(error))
}

/// Decodes a history into states with their stored times, oldest first.
pub(crate) fn decode(bytes: &[u8]) -> rusqlite::Result<Vec<(StateMeta, i64)>> {
    prefect_store::history::decode(bytes).map_err(corrupt)
}

/// The stored time of the last state of an encoded history.
pub(crate) fn last_time(bytes: &[u8]) -> rusqlite::Result<Option<i64>> {
    prefect_store::history::last_time(bytes).map_err(corrupt)
}
