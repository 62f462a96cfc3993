//! The SQLite store: one file in WAL mode, the writer's connection, a pool of read-only
//! connections and a checkpointer thread. The embedded default.

pub(crate) mod access;
pub(crate) mod access_log;
mod batch;
mod checkpoint;
mod commands;
mod pool;
pub(crate) mod queries;
#[cfg(feature = "bench-internals")]
pub(crate) mod raw;
mod rows;
mod savepoint;
pub(crate) mod schema;
pub(crate) mod search;

use std::sync::Arc;

use rusqlite::Connection;

use crate::error::Result;
use crate::ids::{MessageId, RoomId, UserId};
use crate::model::{Changes, Involvement, Member, Message, Room, RoomSummary, User};
use crate::options::Options;
use crate::stats::Counters;
use crate::store::access_log::AccessChange;
use crate::store::backend::{Credentials, Opened, Reads, Writes};
use crate::store::ops::{Batch, Cx, Op};
use checkpoint::Checkpointer;
use pool::Pool;

/// Opens (creating or migrating) the database: the writer's side, the readers' side and
/// the database's epoch.
pub(crate) fn open(opts: &Options, stats: Arc<Counters>) -> Result<Opened> {
    let (conn, epoch) = schema::open_writer(opts)?;
    let writes = SqliteWrites {
        conn,
        checkpointer: Checkpointer::spawn(opts, stats.clone()),
        stats,
    };
    Ok((Box::new(writes), Box::new(reader_side(opts)), epoch))
}

/// A reading side of its own (for a thread that reads on its own, such as the dispatcher).
pub(crate) fn reader_side(opts: &Options) -> SqliteReads {
    SqliteReads {
        pool: Pool::new(opts),
    }
}

struct SqliteWrites {
    conn: Connection,
    checkpointer: Checkpointer,
    stats: Arc<Counters>,
}

impl Writes for SqliteWrites {
    fn run_batch(&mut self, ops: Vec<Op>, cx: &mut Cx<'_>) -> Batch {
        batch::run(&self.conn, ops, cx)
    }

    fn index_pending(&mut self, limit: usize) -> Result<u64> {
        search::index_pending(&mut self.conn, limit)
    }

    /// Keeps the WAL short: asks the checkpointer for a pass and, once the WAL is long,
    /// copies its tail into the database so that the next transaction starts it over.
    fn after_commit(&mut self) {
        checkpoint::bound_wal(&self.conn, Some(&self.stats));
        self.checkpointer.nudge();
    }

    fn finish(&mut self) {
        // A pass of the checkpointer's own would make the final checkpoint fail at once
        // (one checkpoint at a time) and leave the WAL behind.
        self.checkpointer.stop();
        if let Err(e) = self
            .conn
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
        {
            log::warn!("final checkpoint failed: {e}");
        }
    }
}

/// Reads on pooled read-only connections.
pub(crate) struct SqliteReads {
    pool: Pool,
}

impl SqliteReads {
    fn with<T>(&self, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        let conn = self.pool.get()?;
        f(&conn)
    }
}

impl Reads for SqliteReads {
    fn credentials(&self, login: &str) -> Result<Credentials> {
        self.with(|c| queries::accounts::credentials(c, login))
    }
    fn session(&self, token_hash: &[u8; 32]) -> Result<Option<(User, i64)>> {
        self.with(|c| queries::accounts::session(c, token_hash))
    }
    fn bot(&self, key_hash: &[u8; 32]) -> Result<Option<User>> {
        self.with(|c| queries::accounts::bot(c, key_hash))
    }
    fn user(&self, id: UserId) -> Result<User> {
        self.with(|c| queries::accounts::user(c, id))
    }
    fn user_by_login(&self, login: &str) -> Result<User> {
        self.with(|c| queries::accounts::user_by_login(c, login))
    }
    fn users(&self) -> Result<Vec<User>> {
        self.with(queries::accounts::users)
    }
    fn webhook_secret(&self, bot: UserId) -> Result<String> {
        self.with(|c| queries::accounts::webhook_secret(c, bot))
    }
    fn webhook(&self, bot: UserId) -> Result<Option<String>> {
        self.with(|c| queries::accounts::webhook(c, bot))
    }

    fn room_list(&self, user: UserId) -> Result<Vec<RoomSummary>> {
        self.with(|c| queries::rooms::room_list(c, user))
    }
    fn check_member(&self, user: UserId, room: RoomId) -> Result<()> {
        self.with(|c| queries::rooms::check_member(c, user, room))
    }
    fn room(&self, user: UserId, room: RoomId) -> Result<Room> {
        self.with(|c| queries::rooms::room(c, user, room))
    }
    fn all_rooms(&self) -> Result<Vec<Room>> {
        self.with(queries::rooms::all_rooms)
    }
    fn members(&self, user: UserId, room: RoomId) -> Result<Vec<Member>> {
        self.with(|c| queries::rooms::members(c, user, room))
    }
    fn notifiable(&self, room: RoomId) -> Result<Vec<(UserId, Involvement)>> {
        self.with(|c| queries::rooms::notifiable(c, room))
    }

    fn before(
        &self,
        user: UserId,
        room: RoomId,
        before: Option<u64>,
        limit: usize,
    ) -> Result<Vec<Message>> {
        self.with(|c| queries::messages::before(c, user, room, before, limit))
    }
    fn around(&self, user: UserId, message: MessageId, n: usize) -> Result<Vec<Message>> {
        self.with(|c| queries::messages::around(c, user, message, n))
    }
    fn changes_since(
        &self,
        user: UserId,
        room: RoomId,
        since: u64,
        limit: usize,
    ) -> Result<Changes> {
        self.with(|c| queries::messages::changes_since(c, user, room, since, limit))
    }
    fn room_changes(&self, room: RoomId, since: u64, limit: usize) -> Result<Changes> {
        self.with(|c| queries::messages::room_changes(c, room, since, limit))
    }
    fn search(&self, user: UserId, text: &str, limit: usize) -> Result<Vec<Message>> {
        self.with(|c| queries::messages::search(c, user, text, limit))
    }
    fn message(&self, user: UserId, id: MessageId) -> Result<Message> {
        self.with(|c| queries::messages::message(c, user, id))
    }

    fn access_head(&self) -> Result<i64> {
        self.with(access_log::head)
    }
    fn access_since(&self, cursor: i64, origin: i64) -> Result<(Vec<AccessChange>, i64)> {
        self.with(|c| access_log::since(c, cursor, origin))
    }
    fn access_still_holds(&self, change: AccessChange) -> Result<bool> {
        self.with(|c| access_log::still_holds(c, change))
    }
    fn commits_elsewhere(&self) -> Result<Option<i64>> {
        self.with(|c| access_log::data_version(c).map(Some))
    }
}
