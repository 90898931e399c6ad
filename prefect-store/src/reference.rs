//! How people name a run on a command line: its id, a prefix of it, its
//! short id, or its name (see [`crate::RunQuery::resolve_run`]).

use std::fmt;

use prefect_model::RunId;
use uuid::Uuid;

/// The part of a run id a person copies: its last 12 hex digits, the last
/// group of the id as printed (`0193ab4f-…-9600997dad45` has the short id
/// `9600997dad45`).
///
/// Run ids are version 7 UUIDs: their first digits are the creation time,
/// shared by runs created in the same minute, while these 48 bits are
/// random (the low bits of a per-millisecond counter that starts at a
/// random value, and 32 random bits). Two runs among a million share one
/// with a chance of about 1 in 500; lookups report such a tie.
///
/// # Examples
/// ```
/// use prefect_model::FlowRunId;
/// use prefect_store::ShortId;
///
/// let id = FlowRunId("0193ab4f-1c2d-7e3f-8a4b-9600997dad45".parse().unwrap());
/// let short = ShortId::of(id);
/// assert_eq!(short.to_string(), "9600997dad45");
/// assert_eq!(ShortId::parse("9600997DAD45"), Some(short));
/// assert!(short.matches(id.0));
/// assert_eq!(ShortId::parse("9600997dad4"), None, "exactly 12 hex digits");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ShortId([u8; 6]);

impl ShortId {
    /// How many hex digits a short id has.
    pub const LEN: usize = 12;

    /// The short id of a run.
    pub fn of(id: impl Into<RunId>) -> ShortId {
        ShortId::of_uuid(id.into().uuid())
    }

    /// The short id of a raw id.
    pub fn of_uuid(id: Uuid) -> ShortId {
        let bytes = id.into_bytes();
        let mut short = [0; 6];
        short.copy_from_slice(&bytes[10..]);
        ShortId(short)
    }

    /// Exactly [`ShortId::LEN`] hex digits, in either case; `None` for
    /// anything else.
    pub fn parse(text: &str) -> Option<ShortId> {
        let text = text.as_bytes();
        if text.len() != Self::LEN {
            return None;
        }
        let mut short = [0; 6];
        for (byte, pair) in short.iter_mut().zip(text.chunks_exact(2)) {
            *byte = hex_digit(pair[0])? << 4 | hex_digit(pair[1])?;
        }
        Some(ShortId(short))
    }

    /// The 6 bytes: the last 6 of the id.
    pub fn bytes(&self) -> [u8; 6] {
        self.0
    }

    /// Whether `id` ends with this short id.
    pub fn matches(&self, id: Uuid) -> bool {
        ShortId::of_uuid(id) == *self
    }
}

fn hex_digit(c: u8) -> Option<u8> {
    (c as char).to_digit(16).map(|d| d as u8)
}

impl fmt::Display for ShortId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.iter().try_for_each(|b| write!(f, "{b:02x}"))
    }
}

/// Which runs a lookup considers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum RunScope {
    /// Flow runs and task runs.
    #[default]
    Any,
    /// Flow runs only.
    FlowRuns,
    /// Task runs only.
    TaskRuns,
}

impl RunScope {
    /// Whether flow runs are considered.
    pub fn includes_flow_runs(self) -> bool {
        matches!(self, RunScope::Any | RunScope::FlowRuns)
    }

    /// Whether task runs are considered.
    pub fn includes_task_runs(self) -> bool {
        matches!(self, RunScope::Any | RunScope::TaskRuns)
    }

    /// What the scope holds, for messages: `"run"`, `"flow run"` or
    /// `"task run"`.
    pub fn noun(self) -> &'static str {
        match self {
            RunScope::Any => "run",
            RunScope::FlowRuns => "flow run",
            RunScope::TaskRuns => "task run",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_id_is_the_last_group_of_the_printed_id() {
        let id = Uuid::now_v7();
        let printed = id.to_string();
        let short = ShortId::of_uuid(id);
        assert_eq!(short.to_string(), printed.rsplit('-').next().unwrap());
        assert_eq!(ShortId::parse(&short.to_string()), Some(short));
        assert_eq!(ShortId::parse(&short.to_string().to_uppercase()), Some(short));
    }

    #[test]
    fn parse_takes_exactly_twelve_hex_digits() {
        assert_eq!(ShortId::parse(""), None);
        assert_eq!(ShortId::parse("9600997dad4g"), None);
        assert_eq!(ShortId::parse("9600-997dad4"), None);
        assert_eq!(ShortId::parse("9600997dad455"), None);
        assert_eq!(ShortId::parse("+600997dad45"), None);
        assert_eq!(ShortId::parse("ünï00997dad"), None);
    }
}
