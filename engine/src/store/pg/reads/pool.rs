//! The readers' connections: a pool kept at [`Options::readers`] idle connections (more
//! are opened when all are busy), each with its prepared statements. A connection that
//! failed with a connection error is dropped, never handed out again.

use std::collections::HashMap;
use std::ops::{Deref, DerefMut};

use parking_lot::Mutex;
use postgres::types::ToSql;
use postgres::{Client, Row, Statement};

use super::connect as conn;
use crate::error::{Error, Result};
use crate::options::Options;

/// Query parameters, as the `postgres` crate takes them.
pub(crate) type Params<'a> = [&'a (dyn ToSql + Sync)];

/// One reading connection and the statements prepared on it.
pub(crate) struct Conn {
    client: Client,
    statements: HashMap<String, Statement>,
    /// Set once a call failed because the connection is gone: it is not pooled again.
    broken: bool,
    /// Inside a snapshot that was not ended yet.
    in_snapshot: bool,
}

impl Conn {
    fn new(client: Client) -> Self {
        Self {
            client,
            statements: HashMap::new(),
            broken: false,
            in_snapshot: false,
        }
    }

    /// The error a failed call reports; a connection error marks the connection broken.
    fn fail(&mut self, e: postgres::Error) -> Error {
        let error = conn::error(e);
        if matches!(error, Error::Unavailable(_)) {
            self.broken = true;
        }
        error
    }

    fn statement(&mut self, sql: &str) -> Result<Statement> {
        if let Some(s) = self.statements.get(sql) {
            return Ok(s.clone());
        }
        let prepared = self.client.prepare(sql);
        let statement = prepared.map_err(|e| self.fail(e))?;
        self.statements.insert(sql.to_owned(), statement.clone());
        Ok(statement)
    }

    /// Every row `sql` returns.
    pub(crate) fn query(&mut self, sql: &str, params: &Params<'_>) -> Result<Vec<Row>> {
        let statement = self.statement(sql)?;
        let rows = self.client.query(&statement, params);
        rows.map_err(|e| self.fail(e))
    }

    /// The row `sql` returns, if any (at most one is expected).
    pub(crate) fn query_opt(&mut self, sql: &str, params: &Params<'_>) -> Result<Option<Row>> {
        Ok(self.query(sql, params)?.into_iter().next())
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
            .client
            .batch_execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
        begun.map_err(|e| self.fail(e))?;
        self.in_snapshot = true;
        Ok(())
    }

    /// Ends the snapshot begun by [`Conn::begin_snapshot`].
    pub(crate) fn end_snapshot(&mut self) -> Result<()> {
        let ended = self.client.batch_execute("COMMIT");
        ended.map_err(|e| self.fail(e))?;
        self.in_snapshot = false;
        Ok(())
    }

    /// True when the connection may serve another call: not broken, no snapshot left open
    /// (one that a failed call left behind is rolled back here).
    fn reusable(&mut self) -> bool {
        if self.in_snapshot {
            self.in_snapshot = false;
            if self.client.batch_execute("ROLLBACK").is_err() {
                self.broken = true;
            }
        }
        !self.broken && !self.client.is_closed()
    }
}

/// The pool: idle connections to the database at one URL.
pub(crate) struct Pool {
    config: postgres::Config,
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
    /// A pool for `url`; connects lazily. Fails only when the URL is not a valid
    /// PostgreSQL connection string.
    pub(crate) fn new(opts: &Options, url: &str) -> Result<Self> {
        Ok(Self {
            config: conn::config(url, "ember-reader")?,
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
        Ok(Conn::new(conn::connect(&self.config)?))
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
