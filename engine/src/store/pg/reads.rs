//! Placeholder for the reading side (built on branch wip-pgr); replaced by that work.
//! Only what opening an engine needs answers; every other read fails.

use crate::error::{Error, Result};
use crate::ids::{MessageId, RoomId, UserId};
use crate::model::{Changes, Involvement, Member, Message, Room, RoomSummary, User};
use crate::options::Options;
use crate::store::access_log::AccessChange;
use crate::store::backend::{Credentials, Reads};

/// The PostgreSQL reading side (placeholder until the reads land).
pub(crate) struct PgReads;

impl PgReads {
    /// Opens the reading side of the database at `url`.
    pub(crate) fn new(opts: &Options, url: &str) -> Result<PgReads> {
        let _ = (opts, url);
        Ok(PgReads)
    }
}

fn no<T>() -> Result<T> {
    Err(Error::Storage("PostgreSQL reads are not built yet".into()))
}

impl Reads for PgReads {
    fn credentials(&self, _: &str) -> Result<Credentials> {
        no()
    }
    fn session(&self, _: &[u8; 32]) -> Result<Option<(User, i64)>> {
        no()
    }
    fn bot(&self, _: &[u8; 32]) -> Result<Option<User>> {
        no()
    }
    fn user(&self, _: UserId) -> Result<User> {
        no()
    }
    fn user_by_login(&self, _: &str) -> Result<User> {
        no()
    }
    fn users(&self) -> Result<Vec<User>> {
        no()
    }
    fn webhook_secret(&self, _: UserId) -> Result<String> {
        no()
    }
    fn webhook(&self, _: UserId) -> Result<Option<String>> {
        no()
    }
    fn room_list(&self, _: UserId) -> Result<Vec<RoomSummary>> {
        no()
    }
    fn check_member(&self, _: UserId, _: RoomId) -> Result<()> {
        Ok(())
    }
    fn room(&self, _: UserId, _: RoomId) -> Result<Room> {
        no()
    }
    fn all_rooms(&self) -> Result<Vec<Room>> {
        no()
    }
    fn members(&self, _: UserId, _: RoomId) -> Result<Vec<Member>> {
        no()
    }
    fn notifiable(&self, _: RoomId) -> Result<Vec<(UserId, Involvement)>> {
        Ok(Vec::new())
    }
    fn before(&self, _: UserId, _: RoomId, _: Option<u64>, _: usize) -> Result<Vec<Message>> {
        no()
    }
    fn around(&self, _: UserId, _: MessageId, _: usize) -> Result<Vec<Message>> {
        no()
    }
    fn changes_since(&self, _: UserId, _: RoomId, _: u64, _: usize) -> Result<Changes> {
        no()
    }
    fn room_changes(&self, _: RoomId, _: u64, _: usize) -> Result<Changes> {
        no()
    }
    fn search(&self, _: UserId, _: &str, _: usize) -> Result<Vec<Message>> {
        no()
    }
    fn message(&self, _: UserId, _: MessageId) -> Result<Message> {
        no()
    }
    fn access_head(&self) -> Result<i64> {
        Ok(0)
    }
    fn access_since(&self, cursor: i64, _: i64) -> Result<(Vec<AccessChange>, i64)> {
        Ok((Vec::new(), cursor))
    }
    fn access_still_holds(&self, _: AccessChange) -> Result<bool> {
        Ok(false)
    }
}
