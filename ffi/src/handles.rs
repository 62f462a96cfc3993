//! The engine handles that are open right now, so that a stale one (used after
//! `ember_engine_close`, closed twice, or never made by libember) is `EMBER_ERR_MISUSE`
//! instead of undefined behaviour: SQLite's `SQLITE_MISUSE` idea. A handle's address is
//! looked up here before the handle is touched; libember never reads through a stale one.
//!
//! What this cannot catch: a stale handle whose address a newer engine happens to reuse
//! (it then reaches that engine), and a close racing another call on the same handle
//! (the docs forbid it).

use std::collections::HashSet;
use std::sync::{LazyLock, PoisonError, RwLock};

use crate::boundary::{Failure, arg_ref};
use crate::engine::ember_engine;
use crate::status::ember_status;

static OPEN: LazyLock<RwLock<HashSet<usize>>> = LazyLock::new(|| RwLock::new(HashSet::new()));

fn misuse() -> Failure {
    Failure::new(
        ember_status::EMBER_ERR_MISUSE,
        "engine is not an open ember_engine (already closed, or never returned by \
         ember_engine_open)",
    )
}

/// Records a handle `ember_engine_open` hands out.
pub(crate) fn register(engine: *const ember_engine) {
    OPEN.write()
        .unwrap_or_else(PoisonError::into_inner)
        .insert(engine as usize);
}

/// Forgets a handle that is being closed; `EMBER_ERR_MISUSE` when it was not open.
pub(crate) fn unregister(engine: *const ember_engine) -> Result<(), Failure> {
    arg_ref(engine, "engine")?;
    let removed = OPEN
        .write()
        .unwrap_or_else(PoisonError::into_inner)
        .remove(&(engine as usize));
    if removed { Ok(()) } else { Err(misuse()) }
}

/// An engine handle passed in by C: `EMBER_ERR_NULL` for NULL, `EMBER_ERR_MISUSE` for a
/// pointer that is not an open engine.
pub(crate) fn arg_engine<'a>(engine: *const ember_engine) -> Result<&'a ember_engine, Failure> {
    if engine.is_null() {
        return arg_ref(engine, "engine");
    }
    let open = OPEN
        .read()
        .unwrap_or_else(PoisonError::into_inner)
        .contains(&(engine as usize));
    if !open {
        return Err(misuse());
    }
    arg_ref(engine, "engine")
}
