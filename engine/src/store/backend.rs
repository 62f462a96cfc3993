//! The seam between the engine and a database: what a store must do to write (on the one
//! writer thread) and to read (from any thread). SQLite ([`super::sqlite`]) and PostgreSQL
//! ([`super::pg`]) implement it; the writer thread, its channel, group commit, the read
//! entry points and the live layer are one implementation above it.

use crate::error::Result;
use crate::ids::{MessageId, RoomId, UserId};
use crate::model::{Changes, Involvement, Member, Message, Room, RoomSummary, User};
use crate::store::access_log::AccessChange;
use crate::store::ops::{Batch, Cx, Op};

/// The writing side, owned by the writer thread.
pub(crate) trait Writes: Send {
    /// Runs `ops` in one transaction, each failing alone (its writes and effects undone),
    /// and returns each with its outcome and whether the transaction committed. Effects of
    /// the operations that succeeded are in `cx.fx`. A store may run the batch again after
    /// a transient failure (the operations stay whole until answered), but must not return
    /// before it committed or gave up.
    fn run_batch(&mut self, ops: Vec<Op>, cx: &mut Cx<'_>) -> Batch;

    /// Moves up to `limit` queued messages into the full-text index; returns how many are
    /// still queued.
    fn index_pending(&mut self, limit: usize) -> Result<u64>;

    /// Housekeeping after each transaction (SQLite: keep the WAL short).
    fn after_commit(&mut self) {}

    /// Last work before the writer stops (SQLite: the final checkpoint).
    fn finish(&mut self) {}
}

/// An opened store: its writing side, its reading side and the database's epoch.
pub(crate) type Opened = (Box<dyn Writes>, Box<dyn Reads>, crate::ids::Epoch);

/// A user with the stored password hash, for login.
pub(crate) type Credentials = Option<(User, Option<String>)>;

/// The reading side: every query the engine and the live layer make. Shared by all threads.
pub(crate) trait Reads: Send + Sync {
    /// A user with the stored password hash, for login.
    fn credentials(&self, login: &str) -> Result<Credentials>;
    /// The user behind a session token hash and the session's expiry.
    fn session(&self, token_hash: &[u8; 32]) -> Result<Option<(User, i64)>>;
    /// The bot whose key hashes to `key_hash`.
    fn bot(&self, key_hash: &[u8; 32]) -> Result<Option<User>>;
    /// A user by id.
    fn user(&self, id: UserId) -> Result<User>;
    /// A user by login (case-insensitive).
    fn user_by_login(&self, login: &str) -> Result<User>;
    /// Every user, for administration.
    fn users(&self) -> Result<Vec<User>>;
    /// The secret a bot's webhook calls are signed with.
    fn webhook_secret(&self, bot: UserId) -> Result<String>;
    /// A bot's webhook URL, if any.
    fn webhook(&self, bot: UserId) -> Result<Option<String>>;

    /// A user's rooms, newest activity first, with unread counts.
    fn room_list(&self, user: UserId) -> Result<Vec<RoomSummary>>;
    /// Ok when the user is an active member of the room.
    fn check_member(&self, user: UserId, room: RoomId) -> Result<()>;
    /// A room the user belongs to.
    fn room(&self, user: UserId, room: RoomId) -> Result<Room>;
    /// Every room, for administration.
    fn all_rooms(&self) -> Result<Vec<Room>>;
    /// The members of a room the user belongs to.
    fn members(&self, user: UserId, room: RoomId) -> Result<Vec<Member>>;
    /// Active members who may want notifications (involvement `mentions` or `everything`).
    fn notifiable(&self, room: RoomId) -> Result<Vec<(UserId, Involvement)>>;

    /// Up to `limit` messages before `before` (or the newest), oldest first.
    fn before(
        &self,
        user: UserId,
        room: RoomId,
        before: Option<u64>,
        limit: usize,
    ) -> Result<Vec<Message>>;
    /// The message and up to `n` on each side of it, oldest first.
    fn around(&self, user: UserId, message: MessageId, n: usize) -> Result<Vec<Message>>;
    /// The current state of every message changed after `since`, in change order, at most
    /// `limit`, read in one snapshot with the room's head.
    fn changes_since(
        &self,
        user: UserId,
        room: RoomId,
        since: u64,
        limit: usize,
    ) -> Result<Changes>;
    /// [`Reads::changes_since`] without an access check, for the engine itself (filling a
    /// gap in what other engines of a cluster published). At most `limit` (≤
    /// [`crate::MAX_CHANGES_PAGE`]).
    fn room_changes(&self, room: RoomId, since: u64, limit: usize) -> Result<Changes>;
    /// Messages matching `text` in the user's rooms, newest first.
    fn search(&self, user: UserId, text: &str, limit: usize) -> Result<Vec<Message>>;
    /// One message, for a member of its room.
    fn message(&self, user: UserId, id: MessageId) -> Result<Message>;

    /// The newest access log row's number (0 when there is none).
    fn access_head(&self) -> Result<i64>;
    /// Access log rows after `cursor` written by engines other than `origin`, oldest
    /// first, and the newest row's number seen.
    fn access_since(&self, cursor: i64, origin: i64) -> Result<(Vec<AccessChange>, i64)>;
    /// True when the change still holds now (a removed member was not added back, ...).
    fn access_still_holds(&self, change: AccessChange) -> Result<bool>;
    /// A number that moves whenever another connection committed (SQLite's
    /// `data_version`), so that the access log is read only then; `None` when the store
    /// has no such number (the log is then read at every check).
    fn commits_elsewhere(&self) -> Result<Option<i64>> {
        Ok(None)
    }
}
