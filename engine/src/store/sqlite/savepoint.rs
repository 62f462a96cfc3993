//! A savepoint that rolls back when dropped without [`Savepoint::release`], like
//! `rusqlite::Savepoint`, but with its statements prepared once per connection
//! (`rusqlite::Savepoint` parses its SQL at every use, a measurable share of a small
//! command).

use rusqlite::Connection;

use crate::error::Result;

/// One command's savepoint inside the batch's transaction.
pub(crate) struct Savepoint<'c> {
    conn: &'c Connection,
    released: bool,
}

impl<'c> Savepoint<'c> {
    /// Starts the savepoint.
    pub(crate) fn begin(conn: &'c Connection) -> Result<Self> {
        conn.prepare_cached("SAVEPOINT command")?.execute([])?;
        Ok(Self {
            conn,
            released: false,
        })
    }

    /// Keeps what was written since [`Savepoint::begin`] (as part of the transaction).
    pub(crate) fn release(mut self) -> Result<()> {
        self.conn.prepare_cached("RELEASE command")?.execute([])?;
        self.released = true;
        Ok(())
    }
}

impl Drop for Savepoint<'_> {
    fn drop(&mut self) {
        if self.released {
            return;
        }
        let undone = self
            .conn
            .prepare_cached("ROLLBACK TO command")
            .and_then(|mut s| s.execute([]))
            .and_then(|_| self.conn.prepare_cached("RELEASE command"))
            .and_then(|mut s| s.execute([]));
        if let Err(e) = undone {
            // The batch's COMMIT then fails too, and every caller in it is told.
            log::error!("cannot roll back a failed command: {e}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn count(conn: &Connection) -> i64 {
        conn.query_row("SELECT count(*) FROM t", [], |r| r.get(0))
            .unwrap()
    }

    #[test]
    fn dropped_savepoints_roll_back_and_released_ones_stay() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch("CREATE TABLE t(x); BEGIN;").unwrap();
        {
            let sp = Savepoint::begin(&conn).unwrap();
            conn.execute("INSERT INTO t VALUES (1)", []).unwrap();
            sp.release().unwrap();
        }
        {
            let _sp = Savepoint::begin(&conn).unwrap();
            conn.execute("INSERT INTO t VALUES (2)", []).unwrap();
            // Dropped without release, as when a command returns an error early.
        }
        conn.execute_batch("COMMIT").unwrap();
        assert_eq!(count(&conn), 1);
    }
}
