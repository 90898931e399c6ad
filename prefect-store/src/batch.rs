//! [`BatchId`]: the name of one batch of events a remote recorder sends,
//! so that a batch sent twice (the answer to the first send was lost) is
//! stored once.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The id of a batch of run events, chosen by the recorder that sends it
/// ([`EventWriter::write_events_once`](crate::EventWriter::write_events_once)).
///
/// ```
/// use prefect_store::BatchId;
///
/// let a = BatchId::new();
/// assert_ne!(a, BatchId::new());
/// let text = serde_json::to_string(&a).unwrap();
/// assert_eq!(serde_json::from_str::<BatchId>(&text).unwrap(), a);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct BatchId(pub Uuid);

impl BatchId {
    /// A new id (a UUIDv7: ids of later batches sort after earlier ones).
    pub fn new() -> BatchId {
        BatchId(Uuid::now_v7())
    }
}

impl Default for BatchId {
    fn default() -> Self {
        BatchId::new()
    }
}

impl std::fmt::Display for BatchId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}
