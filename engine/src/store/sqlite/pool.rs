//! A small pool of read-only connections, so that reads never wait on the writer.

use std::ops::Deref;

use parking_lot::Mutex;
use rusqlite::Connection;

use crate::error::Result;
use crate::options::Options;
use crate::store::sqlite::schema;

pub(crate) struct Pool {
    opts: Options,
    idle: Mutex<Vec<Connection>>,
}

/// A connection borrowed from the pool; it goes back when dropped.
pub(crate) struct Reader<'a> {
    pool: &'a Pool,
    conn: Option<Connection>,
}

impl Pool {
    pub(crate) fn new(opts: &Options) -> Self {
        Self {
            opts: opts.clone(),
            idle: Mutex::new(Vec::new()),
        }
    }

    /// An idle connection, or a new one when all are busy.
    pub(crate) fn get(&self) -> Result<Reader<'_>> {
        let idle = self.idle.lock().pop();
        let conn = match idle {
            Some(c) => c,
            None => schema::open_reader(&self.opts)?,
        };
        Ok(Reader {
            pool: self,
            conn: Some(conn),
        })
    }
}

impl Deref for Reader<'_> {
    type Target = Connection;
    fn deref(&self) -> &Connection {
        self.conn.as_ref().expect("present until drop")
    }
}

impl Drop for Reader<'_> {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            let mut idle = self.pool.idle.lock();
            if idle.len() < self.pool.opts.readers && conn.is_autocommit() {
                idle.push(conn);
            }
        }
    }
}
