//! Connections to PostgreSQL: opening one from the URL, the statements each keeps
//! prepared, and which errors are worth trying again.

use std::collections::HashMap;
use std::error::Error as _;
use std::str::FromStr;
use std::time::Duration;

use postgres::error::SqlState;
use postgres::types::ToSql;
use postgres::{Client, NoTls, Row, Statement};

use crate::error::{Error, Result};

/// How a connection is opened.
#[derive(Clone, Debug)]
pub(crate) struct ConnectOptions {
    /// Shown in `pg_stat_activity` (`ember-writer`, `ember-reader`, ...).
    pub application_name: &'static str,
    /// `synchronous_commit` of the session: on waits for the WAL flush at COMMIT.
    pub synchronous_commit: bool,
    /// Longest wait for the server to accept a connection.
    pub connect_timeout: Duration,
    /// Plan every execution of a prepared statement with its parameters
    /// (`plan_cache_mode=force_custom_plan`). PostgreSQL otherwise switches a prepared
    /// statement to a generic plan after five runs, and the writer's statements are
    /// prepared on a fresh database while its tables are empty: its post look-up then kept
    /// a plan that cost 16.5 ms per pipelined batch instead of 1.2 ms (BENCHMARKS.md,
    /// PostgreSQL store), for ~0.1 ms of planning per statement.
    pub custom_plans: bool,
}

impl ConnectOptions {
    /// A reader's connection (commits nothing, so durability does not matter).
    pub(crate) fn reader(connect_timeout: Duration) -> Self {
        Self {
            application_name: "ember-reader",
            synchronous_commit: true,
            connect_timeout,
            custom_plans: false,
        }
    }
}

/// Opens a connection to `url` (a libpq-style `postgres://` URL), without TLS.
pub(crate) fn connect(url: &str, opts: &ConnectOptions) -> Result<Client> {
    let mut config = postgres::Config::from_str(url).map_err(|e| Error::Open {
        path: url.to_owned(),
        reason: e.to_string(),
    })?;
    config.application_name(opts.application_name);
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(opts.connect_timeout);
    }
    let sync = if opts.synchronous_commit { "on" } else { "off" };
    let mut ours = format!("-c synchronous_commit={sync}");
    if opts.custom_plans {
        ours.push_str(" -c plan_cache_mode=force_custom_plan");
    }
    // The URL's own options come first; ours set what the engine relies on.
    let options = match config.get_options() {
        Some(o) if !o.is_empty() => format!("{o} {ours}"),
        _ => ours,
    };
    config.options(&options);
    config.connect(NoTls).map_err(|e| from_pg(&e))
}

/// A connection with the statements it has prepared, keyed by their SQL: each statement is
/// parsed and planned once per connection, then only bound and run.
pub(crate) struct Conn {
    pub client: Client,
    statements: HashMap<String, Statement>,
}

impl Conn {
    /// Wraps a connected client.
    pub(crate) fn new(client: Client) -> Self {
        Self {
            client,
            statements: HashMap::new(),
        }
    }

    /// The prepared statement for `sql` (prepared on first use).
    pub(crate) fn prepare(&mut self, sql: &str) -> Result<Statement> {
        if let Some(s) = self.statements.get(sql) {
            return Ok(s.clone());
        }
        let s = self.client.prepare(sql)?;
        self.statements.insert(sql.to_owned(), s.clone());
        Ok(s)
    }

    /// Runs `sql` (prepared once) and returns every row.
    pub(crate) fn query(&mut self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<Vec<Row>> {
        let s = self.prepare(sql)?;
        Ok(self.client.query(&s, params)?)
    }

    /// Runs `sql` (prepared once) and returns its row, if any (an error when there are more).
    pub(crate) fn query_opt(
        &mut self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Option<Row>> {
        let s = self.prepare(sql)?;
        Ok(self.client.query_opt(&s, params)?)
    }

    /// Runs `sql` (prepared once) and returns its one row (an error when there is none).
    pub(crate) fn query_one(&mut self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<Row> {
        let s = self.prepare(sql)?;
        Ok(self.client.query_one(&s, params)?)
    }

    /// Runs `sql` (prepared once) and returns how many rows it changed.
    pub(crate) fn execute(&mut self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<u64> {
        let s = self.prepare(sql)?;
        Ok(self.client.execute(&s, params)?)
    }

    /// Runs statements without parameters (transaction control, savepoints).
    pub(crate) fn batch(&mut self, sql: &str) -> Result<()> {
        Ok(self.client.batch_execute(sql)?)
    }
}

/// True for errors that say nothing about the statement, only that it could not finish
/// now: a lost or closed connection, a server shutting down or starting, a serialization
/// failure or a deadlock. The work is worth running again (on a new connection when the old
/// one is closed).
pub(crate) fn is_transient(e: &postgres::Error) -> bool {
    if e.is_closed() {
        return true;
    }
    if let Some(code) = e.code() {
        return code == &SqlState::T_R_SERIALIZATION_FAILURE
            || code == &SqlState::T_R_DEADLOCK_DETECTED
            || code == &SqlState::ADMIN_SHUTDOWN
            || code == &SqlState::CRASH_SHUTDOWN
            || code == &SqlState::CANNOT_CONNECT_NOW
            || code.code().starts_with("08");
    }
    // No server error: the socket failed (refused, reset, timed out).
    e.source().is_some_and(|s| s.is::<std::io::Error>()) || e.to_string().starts_with("timeout")
}

/// The engine's error for a PostgreSQL error: [`Error::Unavailable`] when it is transient
/// (see [`is_transient`]), else [`Error::Storage`] with the server's words.
pub(crate) fn from_pg(e: &postgres::Error) -> Error {
    let text = match e.as_db_error() {
        Some(db) => format!("{} ({})", db.message(), db.code().code()),
        None => match e.source() {
            Some(s) => format!("{e}: {s}"),
            None => e.to_string(),
        },
    };
    if is_transient(e) {
        Error::Unavailable(text)
    } else {
        Error::Storage(text)
    }
}

impl From<postgres::Error> for Error {
    fn from(e: postgres::Error) -> Self {
        from_pg(&e)
    }
}

/// True when `e` (from a PostgreSQL call) means the work should run again on a fresh
/// connection rather than fail.
pub(crate) fn is_retryable(e: &Error) -> bool {
    matches!(e, Error::Unavailable(_))
}
