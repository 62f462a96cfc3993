//! The storage design without the writer thread: for benchmarks that measure what the
//! channel and the writer thread cost on top of SQLite. Only with the `bench-internals`
//! feature; not part of the supported API.

use rusqlite::Connection;

use crate::error::Result;
use crate::model::{NewPost, Posted};
use crate::options::Options;
use crate::ratelimit::{PostLimiter, RateLimit};
use crate::store::ops::{Cx, Effects, Op};
use crate::store::sqlite::{batch, checkpoint, schema, search};

/// Ember's schema, pragmas and post command on one connection, driven directly.
#[doc(hidden)]
pub struct RawStore {
    conn: Connection,
    clock: crate::Clock,
}

impl RawStore {
    /// Opens (creating or migrating) the database with the writer's settings.
    pub fn open(opts: &Options) -> Result<Self> {
        let (conn, _) = schema::open_writer(opts)?;
        Ok(Self {
            conn,
            clock: opts.clock.clone(),
        })
    }

    /// Posts every message in one transaction, a savepoint each, with the writer's batch
    /// function; fails with the first post's error, if any.
    pub fn post_batch(&mut self, posts: Vec<NewPost>) -> Result<Vec<Posted>> {
        let unlimited = RateLimit::new(f64::MAX, u32::MAX);
        let mut limiter = PostLimiter::new();
        let mut cx = Cx {
            now: self.clock.now_ms(),
            limiter: &mut limiter,
            limits: (unlimited, unlimited),
            origin: 0,
            fx: Effects::default(),
        };
        let (tx, rx) = crossbeam_channel::unbounded();
        let ops = posts
            .into_iter()
            .map(|post| {
                let tx = tx.clone();
                Ok(Op::Post {
                    post: crate::engine::post_draft(post, None)?,
                    reply: Box::new(move |r| {
                        let _ = tx.send(r);
                    }),
                })
            })
            .collect::<Result<Vec<_>>>()?;
        batch::run(&self.conn, ops, &mut cx).answer();
        checkpoint::bound_wal(&self.conn, None);
        rx.try_iter().collect()
    }

    /// Indexes everything queued for full-text search; returns how many messages it indexed.
    pub fn index_all(&mut self) -> Result<u64> {
        let mut n = 0;
        loop {
            let before: i64 = self
                .conn
                .query_row("SELECT count(*) FROM fts_pending", [], |r| r.get(0))?;
            if before == 0 {
                return Ok(n);
            }
            let left = search::index_pending(&mut self.conn, 4096)?;
            checkpoint::bound_wal(&self.conn, None);
            n += before as u64 - left;
        }
    }

    /// Indexes one chunk of what is queued, of the size the writer uses while commands
    /// wait; returns how many messages are left.
    pub fn index_chunk_like_writer(&mut self) -> Result<u64> {
        let left = search::index_pending(&mut self.conn, crate::store::writer::INDEX_CHUNK_BUSY)?;
        checkpoint::bound_wal(&self.conn, None);
        Ok(left)
    }

    /// The connection, for setting up fixtures.
    pub fn connection(&self) -> &Connection {
        &self.conn
    }
}
