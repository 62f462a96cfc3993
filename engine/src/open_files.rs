//! The database files open in this process: one engine per file.
//!
//! A second engine on the same file would have its own writer and live layer, so a
//! subscription on one would silently miss what the other commits. [`claim`] refuses that
//! with [`Error::AlreadyOpen`]; the claim is let go when the engine closes.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::{LazyLock, Mutex, PoisonError};

use crate::error::{Error, Result};

static OPEN: LazyLock<Mutex<HashSet<PathBuf>>> = LazyLock::new(|| Mutex::new(HashSet::new()));

/// A database file held by an open engine; dropping it lets the file be opened again.
#[derive(Debug)]
pub(crate) struct Claim {
    path: PathBuf,
}

impl Drop for Claim {
    fn drop(&mut self) {
        open_files().remove(&self.path);
    }
}

fn open_files() -> std::sync::MutexGuard<'static, HashSet<PathBuf>> {
    // The set stays consistent whatever panicked while holding it.
    OPEN.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Claims `path` for one engine, or fails with [`Error::AlreadyOpen`] when an engine of
/// this process has it open (under this or any other name that resolves to the same file
/// through symbolic links, `..` or a relative path; a hard link is another name).
pub(crate) fn claim(path: &Path) -> Result<Claim> {
    let canonical = canonical(path);
    if !open_files().insert(canonical.clone()) {
        return Err(Error::AlreadyOpen {
            path: path.display().to_string(),
        });
    }
    Ok(Claim { path: canonical })
}

/// The file's canonical path; for a file not created yet, its canonical directory joined
/// with its name. A path that cannot be resolved is taken as given (the open will fail).
fn canonical(path: &Path) -> PathBuf {
    if let Ok(p) = std::fs::canonicalize(path) {
        return p;
    }
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    match (std::fs::canonicalize(dir), path.file_name()) {
        (Ok(dir), Some(name)) => dir.join(name),
        _ => path.to_path_buf(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_claim_per_file_under_any_name_until_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.db");
        let first = claim(&path).unwrap();
        let other_name = dir.path().join(".").join("a.db");
        assert!(matches!(claim(&other_name), Err(Error::AlreadyOpen { .. })));
        assert!(claim(&dir.path().join("b.db")).is_ok());
        drop(first);
        assert!(claim(&other_name).is_ok());
    }
}
