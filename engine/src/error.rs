//! The engine's error type.

use std::time::Duration;

/// Result alias used across the engine.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in an engine call. Each variant is something a caller can
/// act on; the `Display` text is meant for a person.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An argument was rejected before anything was written (`field` names it).
    #[error("invalid {field}: {reason}")]
    Validation {
        /// The argument or field that was rejected.
        field: &'static str,
        /// Why, in words.
        reason: String,
    },
    /// The token or bot key is unknown, expired or revoked, or the login failed.
    #[error("not authenticated: {0}")]
    Unauthenticated(&'static str),
    /// The user may not do this (not a member, not the author, deactivated, ...).
    #[error("forbidden: {0}")]
    Forbidden(&'static str),
    /// No such user, room or message.
    #[error("{0} not found")]
    NotFound(&'static str),
    /// Too many attempts; try again after `retry_after`. The text says when in words
    /// ("too many attempts; try again in 3 minutes").
    #[error("too many attempts; try again in {}", in_words(*retry_after))]
    RateLimited {
        /// How long to wait before trying again.
        retry_after: Duration,
    },
    /// A plugin refused the post (an `on_post` hook or a failed slash command).
    #[error("rejected by plugin {plugin}: {reason}")]
    Rejected {
        /// The plugin's name.
        plugin: String,
        /// Its reason.
        reason: String,
    },
    /// The writer's queue stayed full for longer than the configured wait.
    #[error("engine overloaded; try again later")]
    Overloaded,
    /// The engine was closed; nothing more is accepted.
    #[error("engine is closed")]
    Closed,
    /// The database was written by a newer Ember than this one.
    #[error("database schema version {found} is newer than this Ember supports ({supported})")]
    SchemaTooNew {
        /// The version stored in the file.
        found: i64,
        /// The newest version this build knows.
        supported: i64,
    },
    /// The database could not be opened (not a database, unreadable or read-only path, ...).
    #[error("cannot open database {path}: {reason}")]
    Open {
        /// The path given to [`crate::Engine::open`].
        path: String,
        /// What SQLite or the file system said.
        reason: String,
    },
    /// An engine of this process already has this database file open: share that
    /// [`crate::Engine`] (clones are cheap) instead of opening a second one, whose
    /// subscriptions would miss what the other commits. Free again once it is closed.
    #[error("database {path} is already open in this process; share that engine")]
    AlreadyOpen {
        /// The path given to [`crate::Engine::open`].
        path: String,
    },
    /// SQLite failed while reading or writing; the text is SQLite's.
    #[error("storage error: {0}")]
    Storage(String),
    /// The file system holding the database is full: the write was not made (nothing
    /// acknowledged is lost). Reads and live delivery go on, and writing resumes by itself
    /// once space is freed; try again later.
    #[error("storage full: {0}")]
    StorageFull(String),
    /// The database server cannot be reached (PostgreSQL down or unreachable) and did not
    /// come back within the engine's bounded wait: the write was not made. The engine
    /// reconnects by itself; try again later.
    #[error("database unavailable: {0}")]
    Unavailable(String),
}

/// A wait as a person says it, rounded up: "1 second", "45 seconds", "3 minutes", "2 hours".
fn in_words(wait: Duration) -> String {
    let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    let (n, unit) = match secs.max(1) {
        s if s < 60 => (s, "second"),
        s if s < 3600 => (s.div_ceil(60), "minute"),
        s => (s.div_ceil(3600), "hour"),
    };
    if n == 1 {
        format!("1 {unit}")
    } else {
        format!("{n} {unit}s")
    }
}

impl From<rusqlite::Error> for Error {
    fn from(e: rusqlite::Error) -> Self {
        match e.sqlite_error_code() {
            Some(rusqlite::ErrorCode::DiskFull) => Error::StorageFull(e.to_string()),
            _ => Error::Storage(e.to_string()),
        }
    }
}

impl Error {
    pub(crate) fn validation(field: &'static str, reason: impl Into<String>) -> Self {
        Error::Validation {
            field,
            reason: reason.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(ms: u64) -> String {
        Error::RateLimited {
            retry_after: Duration::from_millis(ms),
        }
        .to_string()
    }

    #[test]
    fn rate_limits_say_when_in_words() {
        assert_eq!(text(100), "too many attempts; try again in 1 second");
        assert_eq!(text(45_000), "too many attempts; try again in 45 seconds");
        assert_eq!(text(174_834), "too many attempts; try again in 3 minutes");
        assert_eq!(text(60_000), "too many attempts; try again in 1 minute");
        assert_eq!(
            text(2 * 3_600_000),
            "too many attempts; try again in 2 hours"
        );
    }
}
