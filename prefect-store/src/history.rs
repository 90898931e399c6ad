//! A run's state history, encoded compactly to be stored on the run's own
//! row (the `history` column of SQLite's and PostgreSQL's `flow_runs` and
//! `task_runs`): one column read and written per state change, instead of a
//! row per state with an index of its own.
//!
//! The blob is a sequence of states, oldest first, each encoded as:
//!
//! - the stored time, as a zigzag varint delta from the previous state's
//!   (from 0 for the first);
//! - one byte: the state type code (low 4 bits), and flags for a name
//!   (0x10), a message (0x20) and a scheduled time (0x40);
//! - the name, then the message, each as a varint length and UTF-8 bytes;
//! - the scheduled time, as a zigzag varint delta from the stored time.
//!
//! The name is absent when it is the type's default name. The codes are
//! [`crate::codes`]'s: never renumber them.

use std::borrow::Cow;

use crate::codes::{state_code, state_type, stored_name};
use chrono::DateTime;
use prefect_model::StateMeta;

fn micros(time: DateTime<chrono::Utc>) -> i64 {
    time.timestamp_micros()
}

/// A history that does not decode: what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("state history: {0}")]
pub struct HistoryError(&'static str);

type Result<T> = std::result::Result<T, HistoryError>;

const NAME: u8 = 0x10;
const MESSAGE: u8 = 0x20;
const SCHEDULED: u8 = 0x40;
const TYPE_MASK: u8 = 0x0f;

fn put_varint(out: &mut Vec<u8>, mut n: u64) {
    while n >= 0x80 {
        out.push((n as u8) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

fn put_signed(out: &mut Vec<u8>, n: i64) {
    put_varint(out, ((n << 1) ^ (n >> 63)) as u64);
}

fn put_text(out: &mut Vec<u8>, text: &str) {
    put_varint(out, text.len() as u64);
    out.extend_from_slice(text.as_bytes());
}

/// Appends `state`, stored at `time`, to an encoded history whose last
/// state was stored at `previous` (None when the history is empty).
pub fn push(out: &mut Vec<u8>, previous: Option<i64>, state: &StateMeta, time: i64) {
    put_signed(out, time.wrapping_sub(previous.unwrap_or(0)));
    let name = stored_name(state);
    let scheduled = state.scheduled_time.map(micros);
    let mut head = state_code(state.state_type) as u8 & TYPE_MASK;
    if name.is_some() {
        head |= NAME;
    }
    if state.message.is_some() {
        head |= MESSAGE;
    }
    if scheduled.is_some() {
        head |= SCHEDULED;
    }
    out.push(head);
    if let Some(name) = name {
        put_text(out, name);
    }
    if let Some(message) = &state.message {
        put_text(out, message);
    }
    if let Some(scheduled) = scheduled {
        put_signed(out, scheduled.wrapping_sub(time));
    }
}

/// Encodes a whole history of states with their stored times.
pub fn encode<'a>(states: impl IntoIterator<Item = (&'a StateMeta, i64)>) -> Vec<u8> {
    // A plain state takes a few bytes: room for a run's usual three or four.
    let mut out = Vec::with_capacity(48);
    let mut previous = None;
    for (state, time) in states {
        push(&mut out, previous, state, time);
        previous = Some(time);
    }
    out
}

fn corrupt(detail: &'static str) -> HistoryError {
    HistoryError(detail)
}

struct Reader<'b> {
    bytes: &'b [u8],
}

impl Reader<'_> {
    fn byte(&mut self) -> Result<u8> {
        let (&b, rest) = self.bytes.split_first().ok_or_else(|| corrupt("truncated"))?;
        self.bytes = rest;
        Ok(b)
    }

    fn varint(&mut self) -> Result<u64> {
        let mut n = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.byte()?;
            n |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(n);
            }
        }
        Err(corrupt("varint too long"))
    }

    fn signed(&mut self) -> Result<i64> {
        let n = self.varint()?;
        Ok(((n >> 1) as i64) ^ -((n & 1) as i64))
    }

    fn text(&mut self) -> Result<String> {
        let len = usize::try_from(self.varint()?).map_err(|_| corrupt("bad length"))?;
        if len > self.bytes.len() {
            return Err(corrupt("truncated"));
        }
        let (text, rest) = self.bytes.split_at(len);
        self.bytes = rest;
        String::from_utf8(text.to_vec()).map_err(|_| corrupt("bad UTF-8"))
    }
}

fn time(us: i64) -> Result<chrono::DateTime<chrono::Utc>> {
    DateTime::from_timestamp_micros(us).ok_or_else(|| corrupt("timestamp out of range"))
}

/// Decodes a history into states with their stored times, oldest first.
pub fn decode(bytes: &[u8]) -> Result<Vec<(StateMeta, i64)>> {
    let mut reader = Reader { bytes };
    let mut states = Vec::new();
    let mut previous = 0i64;
    while !reader.bytes.is_empty() {
        let at = previous.wrapping_add(reader.signed()?);
        previous = at;
        let head = reader.byte()?;
        let state_type =
            state_type(i64::from(head & TYPE_MASK)).ok_or_else(|| corrupt("unknown state type"))?;
        let name = if head & NAME != 0 {
            Cow::Owned(reader.text()?)
        } else {
            Cow::Borrowed(state_type.default_name())
        };
        let message = if head & MESSAGE != 0 { Some(reader.text()?) } else { None };
        let scheduled_time =
            if head & SCHEDULED != 0 { Some(time(at.wrapping_add(reader.signed()?))?) } else { None };
        states.push((StateMeta { state_type, name, message, timestamp: time(at)?, scheduled_time }, at));
    }
    Ok(states)
}

/// The stored time of the last state of an encoded history.
pub fn last_time(bytes: &[u8]) -> Result<Option<i64>> {
    Ok(decode(bytes)?.last().map(|(_, at)| *at))
}

#[cfg(test)]
mod tests {
    use prefect_model::StateType;

    use super::*;

    #[test]
    fn round_trips() {
        let at = |us: i64| DateTime::from_timestamp_micros(us).unwrap();
        let states = [
            StateMeta { timestamp: at(1_700_000_000_000_000), ..StateMeta::new(StateType::Pending) },
            StateMeta {
                timestamp: at(1_700_000_000_000_001),
                scheduled_time: Some(at(1_600_000_000_000_000)),
                ..StateMeta::new(StateType::Scheduled).with_message("due é".to_owned())
            },
            StateMeta {
                name: Cow::Borrowed("Retrying"),
                timestamp: at(1_700_000_000_500_000),
                ..StateMeta::new(StateType::Running)
            },
        ];
        let bytes = encode(states.iter().map(|s| (s, micros(s.timestamp))));
        let decoded = decode(&bytes).unwrap();
        let back: Vec<StateMeta> = decoded.iter().map(|(s, _)| s.clone()).collect();
        assert_eq!(back, states);
        assert_eq!(last_time(&bytes).unwrap(), Some(1_700_000_000_500_000));
        assert!(decode(&[]).unwrap().is_empty());
        assert!(decode(&bytes[..bytes.len() - 1]).is_err());
    }
}
