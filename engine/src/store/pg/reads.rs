//! Placeholder for the reading side (built on branch wip-pgr); replaced by that work.

use crate::error::{Error, Result};
use crate::options::Options;

/// The PostgreSQL reading side (placeholder until the reads land).
pub(crate) struct PgReads;

impl PgReads {
    /// Opens the reading side of the database at `url`.
    pub(crate) fn new(opts: &Options, url: &str) -> Result<PgReads> {
        let _ = opts;
        Err(Error::Open {
            path: url.to_owned(),
            reason: "PostgreSQL reads are not built yet".into(),
        })
    }
}
