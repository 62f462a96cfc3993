//! The readers' connections: a pool kept at [`Options::readers`] idle connections (more
//! are opened when all are busy), each with its prepared statements. A connection that
//! failed with a connection error is dropped, never handed out again.

use std::ops::{Deref, DerefMut};
use std::time::Duration;

use parking_lot::Mutex;
use postgres::Row;
use postgres::types::ToSql;

use crate::error::{Error, Result};
use crate::options::Options;
use crate::store::pg::conn::{self, ConnectOptions};

/// Query parameters, as the `postgres` crate takes them.
pub(crate) type Params<'a> = [&'a (dyn ToSql + Sync)];

/// Longest a read may run before the server cancels it, so that no read hangs.
const STATEMENT_TIMEOUT: Duration = Duration::from_secs(10);

/// One reading connection (with the statements prepared on it).
pub(crate) struct Conn {
    inner: conn::Conn,
    /// Set once a call failed because the connection is gone: it is not pooled again.
    broken: bool,
    /// Inside a snapshot that was not ended yet.
    in_snapshot: bool,
}

impl Conn {
    fn new(inner: conn::Conn) -> Self {
        Self {
            inner,
            broken: false,
            in_snapshot: false,
        }
    }

    /// `done`, noting a lost connection so that it is not pooled again.
    fn check<T>(&mut self, done: Result<T>) -> Result<T> {
        if let Err(Error::Unavailable(_)) = &done {
            self.broken = true;
        }
        done
    }

    /// Every row `sql` returns.
    pub(crate) fn query(&mut self, sql: &str, params: &Params<'_>) -> Result<Vec<Row>> {
        let rows = self.inner.query(sql, params);
        self.check(rows)
    }

    /// The row `sql` returns, if any (at most one is expected).
    pub(crate) fn query_opt(&mut self, sql: &str, params: &Params<'_>) -> Result<Option<Row>> {
        let row = self.inner.query_opt(sql, params);
        self.check(row)
    }

    /// The row `sql` always returns.
    pub(crate) fn query_one(&mut self, sql: &str, params: &Params<'_>) -> Result<Row> {
        self.query_opt(sql, params)?
            .ok_or_else(|| Error::Storage("query returned no row".into()))
    }

    /// Starts a read-only snapshot: every query until [`Conn::end_snapshot`] sees the
    /// database as of its first statement.
    pub(crate) fn begin_snapshot(&mut self) -> Result<()> {
        let begun = self
            .inner
            .batch("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
        self.check(begun)?;
        self.in_snapshot = true;
        Ok(())
    }

    /// Ends the snapshot begun by [`Conn::begin_snapshot`].
    pub(crate) fn end_snapshot(&mut self) -> Result<()> {
        let ended = self.inner.batch("COMMIT");
        self.check(ended)?;
        self.in_snapshot = false;
        Ok(())
    }

    /// True when the connection may serve another call: not broken, no snapshot left open
    /// (one that a failed call left behind is rolled back here).
    fn reusable(&mut self) -> bool {
        if self.in_snapshot && !self.broken {
            self.in_snapshot = false;
            if self.inner.batch("ROLLBACK").is_err() {
                self.broken = true;
            }
        }
        !self.broken && !self.inner.client.is_closed()
    }
}

/// The pool: idle connections to the database at one URL.
pub(crate) struct Pool {
    url: String,
    connect: ConnectOptions,
    keep: usize,
    idle: Mutex<Vec<Conn>>,
}

/// A connection borrowed from the pool; it goes back when dropped, unless it broke.
pub(crate) struct Reader<'a> {
    pool: &'a Pool,
    conn: Option<Conn>,
    /// Taken from the idle list (so possibly broken since its last use, e.g. by a restart
    /// of the database), not opened for this call.
    pub(crate) reused: bool,
}

impl Pool {
    /// A pool for `url`; connects lazily (fails only for a URL that is not PostgreSQL's).
    pub(crate) fn new(opts: &Options, url: &str) -> Result<Self> {
        url.parse::<postgres::Config>().map_err(|e| Error::Open {
            path: crate::store::pg::redact(url),
            reason: e.to_string(),
        })?;
        Ok(Self {
            url: url.to_owned(),
            connect: ConnectOptions::reader(crate::store::pg::connect_timeout(opts)),
            keep: opts.readers,
            idle: Mutex::new(Vec::new()),
        })
    }

    /// An idle connection, or a new one when all are busy. `Unavailable` when the
    /// database cannot be reached.
    pub(crate) fn get(&self) -> Result<Reader<'_>> {
        let idle = self.idle.lock().pop();
        let reused = idle.is_some();
        let conn = match idle {
            Some(c) => c,
            None => self.open()?,
        };
        Ok(Reader {
            pool: self,
            conn: Some(conn),
            reused,
        })
    }

    /// A newly opened connection (never an idle one).
    pub(crate) fn fresh(&self) -> Result<Reader<'_>> {
        Ok(Reader {
            pool: self,
            conn: Some(self.open()?),
            reused: false,
        })
    }

    fn open(&self) -> Result<Conn> {
        let mut opened = conn::Conn::new(conn::connect(&self.url, &self.connect)?);
        opened.batch(&format!(
            "SET statement_timeout = {}",
            STATEMENT_TIMEOUT.as_millis()
        ))?;
        Ok(Conn::new(opened))
    }

    /// Forgets every idle connection (after one of them turned out broken, the others,
    /// opened to the same server, most likely are too).
    pub(crate) fn clear(&self) {
        self.idle.lock().clear();
    }
}

impl Deref for Reader<'_> {
    type Target = Conn;
    fn deref(&self) -> &Conn {
        self.conn.as_ref().expect("present until drop")
    }
}

impl DerefMut for Reader<'_> {
    fn deref_mut(&mut self) -> &mut Conn {
        self.conn.as_mut().expect("present until drop")
    }
}

impl Drop for Reader<'_> {
    fn drop(&mut self) {
        if let Some(mut conn) = self.conn.take() {
            if !conn.reusable() {
                return;
            }
            let mut idle = self.pool.idle.lock();
            if idle.len() < self.pool.keep {
                idle.push(conn);
            }
        }
    }
}
