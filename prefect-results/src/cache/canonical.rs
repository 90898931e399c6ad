//! A canonical, self-delimiting encoding of any `Serialize` value, for hashing.
//!
//! It follows the JSON data model, so a typed value and its
//! `serde_json::Value` encode alike: structs and maps are both maps, entries
//! sorted by their encoded bytes (insertion order never matters); `Option`
//! and newtypes are transparent; unit variants are strings; data variants are
//! one-entry maps. All integer types share one form (so `5u8` and `5i64` are
//! equal); floats are 8 big-endian bytes of the `f64` with `-0.0` folded into
//! `0.0` and one NaN. Unlike JSON, byte strings stay byte strings, NaN and the
//! infinities stay distinct from `null`, and map keys keep their type.
//!
//! Layout: one tag byte per value, then
//! `n` null | `F` false | `T` true | `i` LEB128(n) for n >= 0 |
//! `j` LEB128(-(n+1)) for n < 0 | `f` f64 bits | `s` LEB128(len) utf-8 |
//! `b` LEB128(len) bytes | `l` values.. `e` | `m` (key value).. `e`.
//! Every encoding is prefix-free, so concatenations are unambiguous.

use std::fmt;

use serde::ser::{self, Serialize};

pub(crate) const NULL: u8 = b'n';
const FALSE: u8 = b'F';
const TRUE: u8 = b'T';
const NON_NEGATIVE: u8 = b'i';
const NEGATIVE: u8 = b'j';
const FLOAT: u8 = b'f';
pub(crate) const STR: u8 = b's';
const BYTES: u8 = b'b';
pub(crate) const LIST: u8 = b'l';
pub(crate) const MAP: u8 = b'm';
pub(crate) const END: u8 = b'e';

/// Appends the canonical encoding of `value` to `out`.
pub(crate) fn encode<T: Serialize + ?Sized>(value: &T, out: &mut Vec<u8>) -> Result<(), EncodeError> {
    value.serialize(Encoder { out })
}

/// Appends a string's encoding.
pub(crate) fn write_str(out: &mut Vec<u8>, s: &str) {
    out.push(STR);
    write_bytes(out, s.as_bytes());
}

fn write_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    write_varint(out, bytes.len() as u128);
    out.extend_from_slice(bytes);
}

fn write_varint(out: &mut Vec<u8>, mut n: u128) {
    while n >= 0x80 {
        out.push((n as u8) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

fn write_int(out: &mut Vec<u8>, n: i128) {
    if n >= 0 {
        out.push(NON_NEGATIVE);
        write_varint(out, n as u128);
    } else {
        out.push(NEGATIVE);
        write_varint(out, (-(n + 1)) as u128);
    }
}

thread_local! {
    /// Set when a non-finite float is encoded (see [`has_non_finite`]).
    static SAW_NON_FINITE: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Whether `value` holds a NaN or an infinity anywhere: JSON has no way to
/// write them (serde_json writes `null`), so a record of it must use a
/// format that does. A value that cannot be serialized says `false`.
pub(crate) fn has_non_finite<T: Serialize + ?Sized>(value: &T) -> bool {
    SAW_NON_FINITE.with(|saw| saw.set(false));
    let mut scratch = Vec::new();
    let _ = encode(value, &mut scratch);
    SAW_NON_FINITE.with(std::cell::Cell::get)
}

fn write_float(out: &mut Vec<u8>, f: f64) {
    if !f.is_finite() {
        SAW_NON_FINITE.with(|saw| saw.set(true));
    }
    let f = if f == 0.0 {
        0.0
    } else if f.is_nan() {
        f64::NAN
    } else {
        f
    };
    out.push(FLOAT);
    out.extend_from_slice(&f.to_bits().to_be_bytes());
}

/// Sorts the entries written since `start` (given as ranges relative to
/// `start`) by their bytes, then closes the map.
fn sort_entries(out: &mut Vec<u8>, start: usize, entries: &mut [(usize, usize)]) {
    let tail = out.split_off(start);
    entries.sort_unstable_by(|a, b| tail[a.0..a.1].cmp(&tail[b.0..b.1]));
    for &(from, to) in entries.iter() {
        out.extend_from_slice(&tail[from..to]);
    }
    out.push(END);
}

/// A value's `Serialize` impl failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct EncodeError(pub(crate) String);

impl fmt::Display for EncodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for EncodeError {}

impl ser::Error for EncodeError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        Self(msg.to_string())
    }
}

struct Encoder<'a> {
    out: &'a mut Vec<u8>,
}

/// Writes a sequence inline; `variant` adds the closing of a one-entry map.
struct Seq<'a> {
    out: &'a mut Vec<u8>,
    variant: bool,
}

/// Collects map or struct entries, sorted on `end`.
struct Map<'a> {
    out: &'a mut Vec<u8>,
    start: usize,
    entry_start: usize,
    entries: Vec<(usize, usize)>,
    variant: bool,
}

impl<'a> Encoder<'a> {
    fn open_variant(self, variant: &str) -> &'a mut Vec<u8> {
        self.out.push(MAP);
        write_str(self.out, variant);
        self.out
    }

    fn seq(self, variant: bool) -> Seq<'a> {
        self.out.push(LIST);
        Seq { out: self.out, variant }
    }

    fn map(self, variant: bool) -> Map<'a> {
        self.out.push(MAP);
        let start = self.out.len();
        Map { out: self.out, start, entry_start: start, entries: Vec::new(), variant }
    }
}

mod impls;
