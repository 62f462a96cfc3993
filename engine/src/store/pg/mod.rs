//! The PostgreSQL store: a database several engines, on one machine or many, share. The
//! writer works in sets (a few statements per batch, arrays and `unnest`), since on
//! PostgreSQL round trips, not commits, are what a write costs (see docs/engine.md).

pub(crate) mod reads;
// Filled in by the PostgreSQL store work in progress.
#[allow(dead_code)]
pub(crate) mod schema;
pub(crate) mod search;

use std::sync::Arc;

use crate::error::{Error, Result};
use crate::options::Options;
use crate::stats::Counters;
use crate::store::backend::{Opened, Reads};

/// Opens (creating or migrating) the database at `url`: the writer's side, the readers'
/// side and the database's epoch.
pub(crate) fn open(opts: &Options, url: &str, stats: Arc<Counters>) -> Result<Opened> {
    let _ = (opts, url, stats);
    Err(Error::Open {
        path: url.to_owned(),
        reason: "PostgreSQL support is not built yet".into(),
    })
}

/// A reading side of its own (for a thread that reads on its own, such as the dispatcher).
pub(crate) fn reader_side(opts: &Options, url: &str) -> Result<Box<dyn Reads>> {
    Ok(Box::new(reads::PgReads::new(opts, url)?))
}
