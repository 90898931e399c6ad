//! The crate's error type.
//!
//! Errors about the database file itself (not a database, corrupt, written
//! by a newer program) name the file and say that nothing was changed, so a
//! user can act on them without reading code.

use std::path::PathBuf;

use prefect_model::RunId;

use crate::model::RunMatch;
use crate::reference::ShortId;

/// A boxed error from a backend driver.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong when opening, querying or writing a store,
/// whatever its driver.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The file exists but is not a SQLite database.
    #[error(
        "`{}` is not a run database (it is not a SQLite file); it was left untouched: \
         point prefect at another path or move the file away",
        path.display()
    )]
    NotADatabase {
        /// The file.
        path: PathBuf,
    },
    /// The file is a SQLite database whose content is damaged.
    #[error(
        "the run database `{}` is corrupt ({source}); it was left untouched: \
         restore it from a backup or move it away to start a new one",
        path.display()
    )]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What the driver reported.
        #[source]
        source: BoxError,
    },
    /// The database was written by a newer version of prefect-rs.
    #[error(
        "the run database `{}` has schema version {found}, newer than the {supported} this \
         program knows; it was left untouched: upgrade prefect-rs or use another file",
        path.display()
    )]
    SchemaTooNew {
        /// The file.
        path: PathBuf,
        /// The schema version found in the file.
        found: i64,
        /// The newest schema version this build knows.
        supported: i64,
    },
    /// The database file could not be opened or read.
    #[error("cannot open the run database `{}`: {source}", path.display())]
    Open {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: BoxError,
    },
    /// A query or write failed.
    #[error("run database `{location}`: {source}")]
    Database {
        /// The file, or `:memory:`.
        location: String,
        /// What the driver reported.
        #[source]
        source: BoxError,
        /// Whether another writer held the lock for longer than the busy
        /// timeout (worth retrying).
        busy: bool,
    },
    /// No run (or other object) matches the given id or prefix.
    #[error("no {what} matches `{id}`")]
    NotFound {
        /// What was looked up, e.g. `"flow run"`.
        what: &'static str,
        /// The id or prefix given.
        id: String,
    },
    /// An id prefix (or a short id) matches more than one run.
    #[error(
        "`{prefix}` matches several runs ({}); type more of the id, or all of it",
        matches.join(", ")
    )]
    AmbiguousPrefix {
        /// The prefix given.
        prefix: String,
        /// Some of the matching ids.
        matches: Vec<String>,
    },
    /// Several runs have the name given.
    #[error("ambiguous: {count} runs are named `{name}`; use an id: {}", candidates_text(*count, candidates))]
    AmbiguousName {
        /// The name given.
        name: String,
        /// How many runs have it.
        count: u64,
        /// The newest of them, newest first.
        candidates: Vec<RunMatch>,
    },
    /// An argument had a value the store cannot use.
    #[error("invalid {what}: {reason}")]
    InvalidArgument {
        /// The argument, e.g. `"run id prefix"`.
        what: &'static str,
        /// Why it was rejected.
        reason: String,
    },
    /// No registered driver opens stores of this URL's scheme.
    #[error("no store driver for `{scheme}` (in `{url}`); registered drivers open: {known}")]
    NoDriver {
        /// The URL, without its password.
        url: String,
        /// Its scheme.
        scheme: String,
        /// The schemes the registered drivers open.
        known: String,
    },
    /// A flow run is not in a state the action asked for applies to.
    #[error("flow run {run} is {state}: {reason}")]
    WrongState {
        /// The run's name.
        run: String,
        /// What it is: its state's name, or e.g. "not a run of a deployment".
        state: String,
        /// Why the action does not apply.
        reason: String,
    },
    /// A paused flow refused the input it was resumed with; it is still
    /// paused.
    #[error("the flow refused the input ({reason}); it is still paused")]
    InputRefused {
        /// What the flow said of it (which field is wrong).
        reason: String,
    },
    /// A deployment run was given a parameter its flow does not take.
    #[error(
        "flow `{flow}` has no parameter `{name}` (its parameters: {})",
        if known.is_empty() { "none".to_owned() } else { known.join(", ") }
    )]
    UnknownParameter {
        /// The flow.
        flow: String,
        /// The name given.
        name: String,
        /// The names it takes.
        known: Vec<String>,
    },
    /// A store reached over the network could not be reached, or answered
    /// with an error.
    #[error("the server at `{url}` {reason}")]
    Remote {
        /// The server's API URL.
        url: String,
        /// What went wrong, as a clause: "could not be reached (..)",
        /// "answered 400: ..".
        reason: String,
        /// True when the server could not be reached or answered 5xx: worth
        /// trying again later.
        unreachable: bool,
    },
    /// The store cannot do this (a store reached over HTTP offers part of
    /// the capabilities).
    #[error("{operation} is not available on {store}")]
    Unsupported {
        /// What was asked, e.g. "pruning".
        operation: &'static str,
        /// Which store, e.g. "the server at `http://127.0.0.1:4200/api`".
        store: String,
    },
    /// The recorder's writer thread could not be started.
    #[error("cannot start the run database writer thread: {0}")]
    Thread(#[source] std::io::Error),
}

/// `9600997dad45 (flow run, created 2024-06-01 12:00:00.123 UTC), ... and 3 more`.
fn candidates_text(count: u64, candidates: &[RunMatch]) -> String {
    let mut text: Vec<String> = candidates
        .iter()
        .map(|c| {
            let kind = match c.id {
                RunId::Flow(_) => "flow run",
                RunId::Task(_) => "task run",
            };
            let created = c.created.format("%Y-%m-%d %H:%M:%S%.3f UTC");
            format!("{} ({kind}, created {created})", ShortId::of(c.id))
        })
        .collect();
    let more = count.saturating_sub(candidates.len() as u64);
    if more > 0 {
        text.push(format!("... and {more} more"));
    }
    text.join(", ")
}

impl Error {
    /// True for [`Error::NotFound`].
    pub fn is_not_found(&self) -> bool {
        matches!(self, Error::NotFound { .. })
    }

    /// True when the database was locked by another writer for longer than
    /// the busy timeout; the operation may succeed if retried.
    pub fn is_busy(&self) -> bool {
        matches!(self, Error::Database { busy: true, .. })
    }

    /// True when the error is about the file being unusable (not a
    /// database, corrupt, or from a newer version).
    pub fn is_unusable_file(&self) -> bool {
        matches!(self, Error::NotADatabase { .. } | Error::Corrupt { .. } | Error::SchemaTooNew { .. })
    }
}
