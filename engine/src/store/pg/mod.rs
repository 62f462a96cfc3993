//! The PostgreSQL store: a database several engines, on one machine or many, share. The
//! writer works in sets (a few statements per batch, arrays and `unnest`), since on
//! PostgreSQL round trips, not commits, are what a write costs (see docs/engine.md).

pub(crate) mod conn;
mod migrate;
pub(crate) mod reads;
pub(crate) mod schema;
pub(crate) mod search;
mod writes;

use std::sync::Arc;
use std::time::Duration;

use crate::error::{Error, Result};
use crate::options::Options;
use crate::stats::Counters;
use crate::store::backend::{Opened, Reads};
use conn::{Conn, ConnectOptions};

/// How the writer connects: durability as the options say.
pub(crate) fn writer_connect_options(opts: &Options) -> ConnectOptions {
    ConnectOptions {
        application_name: "ember-writer",
        synchronous_commit: opts.pg_synchronous_commit,
        connect_timeout: connect_timeout(opts),
        custom_plans: true,
    }
}

/// A connection attempt never waits longer than the engine waits for the database.
pub(crate) fn connect_timeout(opts: &Options) -> Duration {
    opts.unavailable_after
        .clamp(Duration::from_millis(100), Duration::from_secs(10))
}

/// Opens (creating or migrating) the database at `url`: the writer's side, the readers'
/// side and the database's epoch. A database that cannot be reached is
/// [`Error::Open`] with the reason.
pub(crate) fn open(opts: &Options, url: &str, stats: Arc<Counters>) -> Result<Opened> {
    let _ = stats;
    let client =
        conn::connect(url, &writer_connect_options(opts)).map_err(|e| open_error(url, e))?;
    let mut conn = Conn::new(client);
    let epoch = migrate::migrate(&mut conn).map_err(|e| open_error(url, e))?;
    let reads = reader_side(opts, url)?;
    Ok((
        Box::new(writes::PgWrites::new(opts, url, conn)),
        reads,
        epoch,
    ))
}

/// A reading side of its own (for a thread that reads on its own, such as the dispatcher).
pub(crate) fn reader_side(opts: &Options, url: &str) -> Result<Box<dyn Reads>> {
    Ok(Box::new(reads::PgReads::new(opts, url)?))
}

/// [`Error::Open`] for what failed while opening, unless it says more on its own.
fn open_error(url: &str, e: Error) -> Error {
    match e {
        Error::SchemaTooNew { .. } | Error::Open { .. } => e,
        Error::Unavailable(reason) | Error::Storage(reason) => Error::Open {
            path: redact(url),
            reason,
        },
        other => Error::Open {
            path: redact(url),
            reason: other.to_string(),
        },
    }
}

/// `url` without its password, for messages and logs.
pub(crate) fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let Some(at) = rest[..authority_end].rfind('@') else {
        return url.to_owned();
    };
    match rest[..at].split_once(':') {
        Some((user, _)) => format!("{scheme}://{user}:***{}", &rest[at..]),
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::redact;

    #[test]
    fn passwords_never_reach_messages() {
        assert_eq!(
            redact("postgres://ember:s3cret@db.example:5432/chat"),
            "postgres://ember:***@db.example:5432/chat"
        );
        assert_eq!(
            redact("postgres://ember@db.example/chat"),
            "postgres://ember@db.example/chat"
        );
        assert_eq!(
            redact("postgresql://db/chat?x=a@b"),
            "postgresql://db/chat?x=a@b"
        );
    }
}
