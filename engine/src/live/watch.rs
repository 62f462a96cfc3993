//! Watching other connections: changes that take access away may be committed by another
//! engine on the same database (another process, e.g. the command line, or a second
//! `Engine` in this one). While anyone is subscribed, the dispatcher checks `PRAGMA
//! data_version` every [`POLL`] and, when it moved, reads the access log and ends the
//! subscriptions concerned. Rows from this engine's own writer are skipped: they reached
//! the live layer directly.

use std::time::{Duration, Instant};

use super::Live;
use crate::error::Result;
use crate::store::backend::Reads;

/// How often other connections' commits are looked for while anyone is subscribed.
pub(crate) const POLL: Duration = Duration::from_millis(100);

pub(crate) struct Watch {
    origin: i64,
    /// The newest access log row handled or skipped.
    cursor: i64,
    data_version: Option<i64>,
    last: Instant,
}

impl Watch {
    /// Starts after everything already in the log (nobody was subscribed before).
    pub(crate) fn new(reader: &dyn Reads, origin: i64) -> Self {
        let cursor = reader.access_head().unwrap_or_else(|e| {
            log::warn!("cannot read the access log: {e}");
            0
        });
        Self {
            origin,
            cursor,
            data_version: None,
            last: Instant::now(),
        }
    }

    /// How long until the next check is due.
    pub(crate) fn due_in(&self) -> Duration {
        POLL.saturating_sub(self.last.elapsed())
    }

    /// Checks for other connections' access changes if due and anyone is subscribed.
    pub(crate) fn poll(&mut self, live: &Live, reader: &dyn Reads) {
        if self.last.elapsed() < POLL {
            return;
        }
        self.last = Instant::now();
        if !live.hub.has_subscribers() {
            return;
        }
        if let Err(e) = self.check(live, reader) {
            log::warn!("cannot read access changes of other connections: {e}");
        }
    }

    fn check(&mut self, live: &Live, reader: &dyn Reads) -> Result<()> {
        let version = reader.commits_elsewhere()?;
        if version.is_some() && self.data_version == version {
            return Ok(());
        }
        let (changes, last) = reader.access_since(self.cursor, self.origin)?;
        for change in changes {
            if reader.access_still_holds(change)? {
                live.hub.apply(change.change());
            }
        }
        // Only once every row was handled: a failed read is retried at the next check.
        self.data_version = version;
        self.cursor = last;
        Ok(())
    }
}
