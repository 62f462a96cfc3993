//! The PostgreSQL reading side: every query of [`Reads`] on pooled connections, with the
//! access checks, errors, ordering and limits of the SQLite store.

pub(crate) mod access;
mod accounts;
mod messages;
pub(crate) mod pool;
mod rooms;
pub(crate) mod rows;

use crate::error::{Error, Result};
use crate::ids::{MessageId, RoomId, UserId};
use crate::model::{Changes, Involvement, Member, Message, Room, RoomSummary, User};
use crate::options::Options;
use crate::store::access_log::AccessChange;
use crate::store::backend::{Credentials, Reads};
use crate::store::pg::search;
use pool::{Conn, Pool};

/// Reads on a pool of connections. Safe to share between threads; a call that cannot
/// reach the database fails with [`Error::Unavailable`] within the connection and
/// statement timeouts, and the next call reconnects.
pub(crate) struct PgReads {
    pool: Pool,
}

impl PgReads {
    /// A reading side for the database at `url`; connects on first use.
    pub(crate) fn new(opts: &Options, url: &str) -> Result<PgReads> {
        Ok(PgReads {
            pool: Pool::new(opts, url)?,
        })
    }

    /// Runs `f` on a pooled connection. When a pooled connection turns out to be gone
    /// (the server restarted since its last use), the pool is emptied and `f` runs once
    /// more on a new connection: reads have no effects, so running one again is safe.
    fn with<T>(&self, f: impl Fn(&mut Conn) -> Result<T>) -> Result<T> {
        let mut conn = self.pool.get()?;
        match f(&mut conn) {
            Err(Error::Unavailable(_)) if conn.reused => {
                drop(conn);
                self.pool.clear();
                f(&mut *self.pool.fresh()?)
            }
            done => done,
        }
    }
}

impl Reads for PgReads {
    fn credentials(&self, login: &str) -> Result<Credentials> {
        self.with(|c| accounts::credentials(c, login))
    }
    fn session(&self, token_hash: &[u8; 32]) -> Result<Option<(User, i64)>> {
        self.with(|c| accounts::session(c, token_hash))
    }
    fn bot(&self, key_hash: &[u8; 32]) -> Result<Option<User>> {
        self.with(|c| accounts::bot(c, key_hash))
    }
    fn user(&self, id: UserId) -> Result<User> {
        self.with(|c| accounts::user(c, id))
    }
    fn user_by_login(&self, login: &str) -> Result<User> {
        self.with(|c| accounts::user_by_login(c, login))
    }
    fn users(&self) -> Result<Vec<User>> {
        self.with(accounts::users)
    }
    fn webhook_secret(&self, bot: UserId) -> Result<String> {
        self.with(|c| accounts::webhook_secret(c, bot))
    }
    fn webhook(&self, bot: UserId) -> Result<Option<String>> {
        self.with(|c| accounts::webhook(c, bot))
    }

    fn room_list(&self, user: UserId) -> Result<Vec<RoomSummary>> {
        self.with(|c| rooms::room_list(c, user))
    }
    fn check_member(&self, user: UserId, room: RoomId) -> Result<()> {
        self.with(|c| rooms::check_member(c, user, room))
    }
    fn room(&self, user: UserId, room: RoomId) -> Result<Room> {
        self.with(|c| rooms::room(c, user, room))
    }
    fn all_rooms(&self) -> Result<Vec<Room>> {
        self.with(rooms::all_rooms)
    }
    fn members(&self, user: UserId, room: RoomId) -> Result<Vec<Member>> {
        self.with(|c| rooms::members(c, user, room))
    }
    fn notifiable(&self, room: RoomId) -> Result<Vec<(UserId, Involvement)>> {
        self.with(|c| rooms::notifiable(c, room))
    }

    fn before(
        &self,
        user: UserId,
        room: RoomId,
        before: Option<u64>,
        limit: usize,
    ) -> Result<Vec<Message>> {
        self.with(|c| messages::before(c, user, room, before, limit))
    }
    fn around(&self, user: UserId, message: MessageId, n: usize) -> Result<Vec<Message>> {
        self.with(|c| messages::around(c, user, message, n))
    }
    fn changes_since(
        &self,
        user: UserId,
        room: RoomId,
        since: u64,
        limit: usize,
    ) -> Result<Changes> {
        self.with(|c| messages::feed(c, Some(user), room, since, limit))
    }
    fn room_changes(&self, room: RoomId, since: u64, limit: usize) -> Result<Changes> {
        self.with(|c| messages::feed(c, None, room, since, limit))
    }
    fn search(&self, user: UserId, text: &str, limit: usize) -> Result<Vec<Message>> {
        self.with(|c| search::search(c, user, text, limit))
    }
    fn message(&self, user: UserId, id: MessageId) -> Result<Message> {
        self.with(|c| messages::message(c, user, id))
    }

    fn access_head(&self) -> Result<i64> {
        self.with(access::head)
    }
    fn access_since(&self, cursor: i64, origin: i64) -> Result<(Vec<AccessChange>, i64)> {
        self.with(|c| access::since(c, cursor, origin))
    }
    fn access_still_holds(&self, change: AccessChange) -> Result<bool> {
        self.with(|c| access::still_holds(c, change))
    }
    fn commits_elsewhere(&self) -> Result<Option<i64>> {
        self.with(|c| access::counter(c).map(Some))
    }
}
