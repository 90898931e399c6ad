//! The process-wide table of custom encodings, by name.
//!
//! A record names its serializer; to read one that names a custom encoding,
//! the name must lead back to an implementation. [`Serializer::custom`]
//! registers it here and [`Serializer`]'s `FromStr` (and so its
//! `Deserialize`, which record headers go through) looks it up.
//!
//! Entries are never removed, so a [`CustomFormat`] can be a plain index and
//! `Serializer` stays `Copy`. Each distinct name is stored once for the life
//! of the process (a few dozen bytes); re-registering a name replaces its
//! implementation in place and frees the old one.
//!
//! [`Serializer`]: super::Serializer
//! [`Serializer::custom`]: super::Serializer::custom

use std::any::{TypeId, type_name};
use std::collections::HashMap;
use std::sync::{Arc, LazyLock, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

use super::custom::{CustomFormat, check_name};
use super::value::ValueSerializer;
use crate::error::{Error, Result};

/// One registered name and what implements it now.
struct Entry {
    name: &'static str,
    inner: Arc<dyn ValueSerializer>,
    type_id: TypeId,
    type_name: &'static str,
}

#[derive(Default)]
struct Table {
    entries: Vec<Entry>,
    by_name: HashMap<&'static str, usize>,
}

static REGISTRY: LazyLock<RwLock<Table>> = LazyLock::new(Default::default);

// No user code runs while the lock is held (names are read and old values
// dropped outside it), so it cannot be poisoned mid-update; recovering the
// guard keeps an unrelated panic from spreading to every reader.
fn read() -> RwLockReadGuard<'static, Table> {
    REGISTRY.read().unwrap_or_else(PoisonError::into_inner)
}

fn write() -> RwLockWriteGuard<'static, Table> {
    REGISTRY.write().unwrap_or_else(PoisonError::into_inner)
}

/// Checks `serializer`'s name and registers it under that name.
///
/// Registering a name again with a value of the same type replaces the
/// implementation (last one wins): building the same serializer in several
/// places is normal, and one name then means one encoding for writers and
/// readers alike. A name already held by another type is an error: two
/// libraries picking the same name for different formats would otherwise
/// decode each other's records.
pub(super) fn register<S: ValueSerializer>(serializer: S) -> Result<CustomFormat> {
    let name = serializer.name().to_owned();
    if let Err(reason) = check_name(&name) {
        return Err(Error::InvalidSerializerName { name, reason });
    }
    let inner: Arc<dyn ValueSerializer> = Arc::new(serializer);
    let mut table = write();
    if let Some(&id) = table.by_name.get(name.as_str()) {
        let entry = &mut table.entries[id];
        if entry.type_id != TypeId::of::<S>() {
            let reason = format!("the name is already registered by `{}`", entry.type_name);
            return Err(Error::InvalidSerializerName { name, reason });
        }
        let format = CustomFormat::new(id, entry.name);
        let replaced = std::mem::replace(&mut entry.inner, inner);
        // The old value's `Drop` is user code: run it after unlocking.
        drop(table);
        drop(replaced);
        return Ok(format);
    }
    // Kept for the life of the process, like the entry that names it.
    let name: &'static str = Box::leak(name.into_boxed_str());
    let id = table.entries.len();
    table.entries.push(Entry { name, inner, type_id: TypeId::of::<S>(), type_name: type_name::<S>() });
    table.by_name.insert(name, id);
    Ok(CustomFormat::new(id, name))
}

/// The encoding registered under `name`, if any.
pub(super) fn lookup(name: &str) -> Option<CustomFormat> {
    let table = read();
    table.by_name.get(name).map(|&id| CustomFormat::new(id, table.entries[id].name))
}

/// The implementation of entry `id`.
pub(super) fn get(id: usize) -> Arc<dyn ValueSerializer> {
    // `id` comes from a `CustomFormat`, which only this module creates, and
    // entries are never removed: the index is always in bounds.
    read().entries[id].inner.clone()
}
