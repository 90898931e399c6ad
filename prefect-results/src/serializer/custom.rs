//! A registered user encoding, and the rules its name must follow.

use std::fmt;
use std::sync::Arc;

use super::registry;
use super::value::ValueSerializer;

/// Longest accepted custom name, in bytes: names are stored in every record
/// header and printed in errors.
pub(super) const MAX_NAME_LEN: usize = 64;

/// Names a custom encoding may not take, compared case-insensitively: the
/// built-in formats and their aliases, and the compression prefixes (a custom
/// `zstd` would read confusingly in `zstd+zstd`).
const RESERVED: [&str; 5] = ["json", "postcard", "binary", "zstd", "compressed"];

/// A user [`ValueSerializer`] registered by
/// [`Serializer::custom`](super::Serializer::custom): the payload of
/// [`Format::Custom`](super::Format::Custom).
///
/// It is a handle to the registry entry of its name, so it is `Copy` and
/// [`Serializer`](super::Serializer) stays `Copy`. Two `CustomFormat`s are
/// equal (and hash alike) exactly when their names are equal. Registering the
/// name again with a value of the same type replaces the implementation every
/// handle to that name uses.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct CustomFormat {
    // Both identify the entry; the name is kept to print it without a lock.
    id: usize,
    name: &'static str,
}

impl CustomFormat {
    /// The handle of registry entry `id`, named `name`.
    pub(super) const fn new(id: usize, name: &'static str) -> Self {
        Self { id, name }
    }

    /// The name records carry.
    pub const fn name(&self) -> &str {
        self.name
    }

    /// The implementation currently registered under the name.
    pub fn value_serializer(&self) -> Arc<dyn ValueSerializer> {
        registry::get(self.id)
    }
}

impl fmt::Debug for CustomFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CustomFormat")
            .field("name", &self.name)
            .field("inner", &self.value_serializer())
            .finish()
    }
}

/// Why `name` cannot name a custom encoding, if it cannot.
pub(super) fn check_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("the name is empty".into());
    }
    if name.len() > MAX_NAME_LEN {
        return Err(format!("the name is longer than {MAX_NAME_LEN} bytes"));
    }
    // `+` and `/` separate the compression prefix from the format in record
    // headers (`zstd+json`, `compressed/json`): allowing them would make names
    // ambiguous. The rest keeps names printable in errors and file listings.
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.');
    if let Some(bad) = name.chars().find(|&c| !allowed(c)) {
        let bad = bad.escape_debug();
        return Err(format!("`{bad}` is not allowed; use ASCII letters, digits, `-`, `_` and `.`"));
    }
    if let Some(reserved) = RESERVED.iter().find(|r| r.eq_ignore_ascii_case(name)) {
        return Err(format!("`{reserved}` is a built-in serializer name"));
    }
    Ok(())
}
