//! The PostgreSQL writing side, run by the engine's one writer thread.
//!
//! A batch is one transaction; consecutive posts run as a set (see [`posts`]), every other
//! operation alone in a savepoint, as on SQLite. Transient failures (a lost connection, a
//! server restarting, a deadlock or serialization failure) are not surfaced: the writer
//! reconnects and runs the whole batch again, with backoff, for up to
//! [`Options::unavailable_after`]; then the batch's callers get [`Error::Unavailable`]. A
//! batch run again is safe: the operations are answered only after COMMIT, and the ids a
//! batch creates with are fixed before its first attempt, so a retry whose earlier attempt
//! did commit (the acknowledgement of COMMIT was lost) finds that attempt's posts, users
//! and rooms and answers with them. Rate-limit tokens taken by a failed attempt are not
//! given back (a retried post may spend two).

mod access_log;
mod accounts;
mod attempt;
mod messages;
mod posts;
mod rooms;
mod rows;

use std::time::{Duration, Instant};

use uuid::Uuid;

use crate::error::{Error, Result};
use crate::options::Options;
use crate::store::backend::Writes;
use crate::store::ops::{Batch, Cx, Effects, Op};
use crate::store::pg::conn::{self, Conn, ConnectOptions, is_retryable};
use attempt::Outcome;

use crate::store::pg::search::TS_CONFIG;

/// First pause before a batch is run again; doubled up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_millis(20);
const MAX_BACKOFF: Duration = Duration::from_millis(500);

/// The writer's connection and what it needs to make a new one.
pub(crate) struct PgWrites {
    url: String,
    connect: ConnectOptions,
    conn: Option<Conn>,
    unavailable_after: Duration,
    /// The last batch gave up on the database: the next one tries once, then fails at
    /// once, instead of making every queued caller wait the whole bounded wait again.
    down: bool,
}

impl PgWrites {
    /// The writing side on an open connection to `url`.
    pub(crate) fn new(opts: &Options, url: &str, conn: Conn) -> Self {
        Self {
            url: url.to_owned(),
            connect: crate::store::pg::writer_connect_options(opts),
            conn: Some(conn),
            unavailable_after: opts.unavailable_after,
            down: false,
        }
    }

    /// The connection, made again if it was lost.
    fn connection(&mut self) -> Result<&mut Conn> {
        if self.conn.as_ref().is_some_and(|c| c.client.is_closed()) {
            self.conn = None;
        }
        if self.conn.is_none() {
            let client = conn::connect(&self.url, &self.connect).map_err(|e| match e {
                Error::Unavailable(_) => e,
                other => Error::Unavailable(other.to_string()),
            })?;
            log::info!("connected to PostgreSQL again");
            self.conn = Some(Conn::new(client));
        }
        self.conn
            .as_mut()
            .ok_or_else(|| Error::Unavailable("no connection".into()))
    }
}

/// Every operation failed with `e` (nothing committed).
fn failed(ops: Vec<Op>, e: Error) -> Batch {
    Batch {
        ran: ops.into_iter().map(|op| (op, Err(e.clone()))).collect(),
        committed: Err(e),
    }
}

impl Writes for PgWrites {
    fn run_batch(&mut self, ops: Vec<Op>, cx: &mut Cx<'_>) -> Batch {
        let fresh: Vec<Uuid> = ops.iter().map(|_| Uuid::now_v7()).collect();
        let started = Instant::now();
        let mut backoff = FIRST_BACKOFF;
        let mut sets = true;
        loop {
            cx.fx = Effects::default();
            let outcome = match self.connection() {
                Ok(conn) => attempt::run(conn, &ops, &fresh, cx, sets),
                Err(e) => Outcome::Transient(e),
            };
            let e = match outcome {
                Outcome::Committed(results) => {
                    self.down = false;
                    return Batch {
                        committed: Ok(()),
                        ran: ops.into_iter().zip(results).collect(),
                    };
                }
                Outcome::SetFailed if sets => {
                    sets = false;
                    continue;
                }
                Outcome::SetFailed => Error::Storage("internal error: a set failed alone".into()),
                Outcome::Failed(e, mut results) => {
                    cx.fx = Effects::default();
                    results.resize_with(ops.len(), || Err(e.clone()));
                    return Batch {
                        committed: Err(e),
                        ran: ops.into_iter().zip(results).collect(),
                    };
                }
                Outcome::Transient(e) => e,
            };
            cx.fx = Effects::default();
            // A connection that failed once is not trusted again (a broken socket is not
            // always reported as closed); reconnecting costs a few milliseconds.
            let had_connection = self.conn.take().is_some();
            let gave_up = self.down && !had_connection;
            if gave_up || started.elapsed() + backoff > self.unavailable_after {
                self.down = true;
                log::error!("PostgreSQL unavailable: {e}");
                return failed(ops, unavailable(e));
            }
            log::warn!("batch runs again after a transient failure: {e}");
            std::thread::sleep(backoff);
            backoff = (backoff * 2).min(MAX_BACKOFF);
        }
    }

    fn index_pending(&mut self, limit: usize) -> Result<u64> {
        let conn = self.connection()?;
        let limit = limit as i64;
        let done = conn.execute(
            &format!(
                // Arrays, not joins: the plan stays two index look-ups however stale the
                // statistics (a join was planned as a scan of `messages`).
                "WITH picked AS ( \
                   DELETE FROM fts_pending WHERE pos = ANY(ARRAY( \
                     SELECT pos FROM fts_pending ORDER BY pos LIMIT $1 FOR UPDATE SKIP LOCKED)) \
                   RETURNING pos) \
                 UPDATE messages m SET search = CASE WHEN m.deleted THEN NULL \
                   ELSE to_tsvector('{TS_CONFIG}'::regconfig, m.content) END \
                 WHERE m.pos = ANY(ARRAY(SELECT pos FROM picked))"
            ),
            &[&limit],
        );
        let done = match done {
            Err(e) if is_retryable(&e) => {
                self.conn = None;
                return Err(e);
            }
            other => other?,
        };
        let _ = done;
        let left: i64 = conn
            .query_one(
                "SELECT count(*) FROM (SELECT 1 FROM fts_pending LIMIT 100000) p",
                &[],
            )?
            .get(0);
        Ok(left as u64)
    }

    fn finish(&mut self) {
        self.conn = None;
    }
}

/// The error callers get when the database stayed out of reach.
fn unavailable(e: Error) -> Error {
    match e {
        Error::Unavailable(_) => e,
        other => Error::Unavailable(other.to_string()),
    }
}
