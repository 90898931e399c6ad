//! The default storage root: `$PREFECT_HOME/storage`.

use std::ffi::OsString;
use std::path::PathBuf;

use crate::error::{Error, Result};

/// The default directory for [`LocalStorage`](crate::LocalStorage):
/// `$PREFECT_HOME/storage`, where `PREFECT_HOME` defaults to `~/.prefect`
/// (as in Prefect). A leading `~` in `PREFECT_HOME` is expanded.
///
/// # Errors
///
/// [`Error::NoStorageRoot`] if `PREFECT_HOME` is unset and no home directory
/// (`HOME`, or `USERPROFILE` on Windows) is set either.
///
/// # Examples
///
/// ```
/// let root = prefect_results::default_storage_root();
/// if let Ok(root) = root {
///     assert!(root.ends_with("storage"));
/// }
/// ```
pub fn default_storage_root() -> Result<PathBuf> {
    storage_root(std::env::var_os("PREFECT_HOME"), home_dir())
}

fn home_dir() -> Option<OsString> {
    let var = if cfg!(windows) { "USERPROFILE" } else { "HOME" };
    std::env::var_os(var).filter(|h| !h.is_empty())
}

fn storage_root(prefect_home: Option<OsString>, home: Option<OsString>) -> Result<PathBuf> {
    let prefect_home = match prefect_home.filter(|p| !p.is_empty()) {
        Some(p) => expand_tilde(PathBuf::from(p), home)?,
        None => PathBuf::from(home.ok_or(Error::NoStorageRoot)?).join(".prefect"),
    };
    Ok(prefect_home.join("storage"))
}

fn expand_tilde(path: PathBuf, home: Option<OsString>) -> Result<PathBuf> {
    match path.strip_prefix("~") {
        Ok(rest) => Ok(PathBuf::from(home.ok_or(Error::NoStorageRoot)?).join(rest)),
        Err(_) => Ok(path),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn os(s: &str) -> Option<OsString> {
        Some(OsString::from(s))
    }

    #[test]
    fn prefect_home_wins() {
        let root = storage_root(os("/srv/prefect"), os("/home/u")).unwrap();
        assert_eq!(root, PathBuf::from("/srv/prefect/storage"));
    }

    #[test]
    fn defaults_to_dot_prefect_in_home() {
        let root = storage_root(None, os("/home/u")).unwrap();
        assert_eq!(root, PathBuf::from("/home/u/.prefect/storage"));
        let root = storage_root(os(""), os("/home/u")).unwrap();
        assert_eq!(root, PathBuf::from("/home/u/.prefect/storage"));
    }

    #[test]
    fn expands_tilde() {
        let root = storage_root(os("~/p"), os("/home/u")).unwrap();
        assert_eq!(root, PathBuf::from("/home/u/p/storage"));
    }

    #[test]
    fn no_home_is_an_error() {
        assert!(matches!(storage_root(None, None), Err(Error::NoStorageRoot)));
    }
}
