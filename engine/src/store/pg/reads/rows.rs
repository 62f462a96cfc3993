//! Turning PostgreSQL rows into the public types.

use postgres::Row;
use postgres::types::FromSql;
use uuid::Uuid;

use crate::error::{Error, Result};
use crate::ids::UserId;
use crate::model::{Involvement, Message, Role, Room, RoomKind, User};

/// One column of a row; a column of an unexpected type is a storage error.
pub(crate) fn get<'a, T: FromSql<'a>>(row: &'a Row, at: usize) -> Result<T> {
    row.try_get(at)
        .map_err(|e| Error::Storage(format!("column {at}: {e}")))
}

/// A sequence number (stored as `bigint`, never negative).
fn seq(row: &Row, at: usize) -> Result<u64> {
    let n: i64 = get(row, at)?;
    u64::try_from(n).map_err(|_| Error::Storage(format!("negative sequence number {n}")))
}

/// A `smallint` enum column through the model's `from_i64`.
fn small<T>(row: &Row, at: usize, from: fn(i64) -> rusqlite::Result<T>) -> Result<T> {
    let n: i16 = get(row, at)?;
    from(i64::from(n)).map_err(|_| Error::Storage(format!("column {at}: unknown value {n}")))
}

/// Columns read by [`user`], from `users u`.
pub(crate) const USER_COLUMNS: &str = "u.id, u.login, u.name, u.role, u.active, u.created_at";

pub(crate) fn user(row: &Row, at: usize) -> Result<User> {
    Ok(User {
        id: get::<Uuid>(row, at)?.into(),
        login: get(row, at + 1)?,
        name: get(row, at + 2)?,
        role: small(row, at + 3, Role::from_i64)?,
        active: get(row, at + 4)?,
        created_at: get(row, at + 5)?,
    })
}

/// Columns read by [`room`], from `rooms r` joined with `users c` (the creator).
pub(crate) const ROOM_COLUMNS: &str =
    "r.id, r.kind, r.name, c.id, r.created_at, r.last_message_at, r.last_seq, r.last_change_seq";

/// `FROM` clause matching [`ROOM_COLUMNS`].
pub(crate) const ROOM_FROM: &str = "rooms r JOIN users c ON c.key = r.creator_key";

pub(crate) fn room(row: &Row, at: usize) -> Result<Room> {
    Ok(Room {
        id: get::<Uuid>(row, at)?.into(),
        kind: small(row, at + 1, RoomKind::from_i64)?,
        name: get(row, at + 2)?,
        creator_id: get::<Uuid>(row, at + 3)?.into(),
        created_at: get(row, at + 4)?,
        last_message_at: get(row, at + 5)?,
        head_seq: seq(row, at + 6)?,
        head_change_seq: seq(row, at + 7)?,
    })
}

pub(crate) fn involvement(row: &Row, at: usize) -> Result<Involvement> {
    small(row, at, Involvement::from_i64)
}

/// Columns read by [`message`], from [`MESSAGE_FROM`].
pub(crate) const MESSAGE_COLUMNS: &str = "m.id, r.id, m.seq, m.change_seq, u.id, \
     m.client_message_id, m.content, m.created_at, m.edited_at, m.deleted, m.sound, m.mentions";

/// Joins that complete `messages m` for [`MESSAGE_COLUMNS`].
pub(crate) const MESSAGE_JOINS: &str =
    "JOIN rooms r ON r.key = m.room_key JOIN users u ON u.key = m.creator_key";

/// `FROM` clause matching [`MESSAGE_COLUMNS`].
pub(crate) const MESSAGE_FROM: &str =
    "messages m JOIN rooms r ON r.key = m.room_key JOIN users u ON u.key = m.creator_key";

pub(crate) fn message(row: &Row) -> Result<Message> {
    let mentions: Option<Vec<Uuid>> = get(row, 11)?;
    Ok(Message {
        id: get::<Uuid>(row, 0)?.into(),
        room_id: get::<Uuid>(row, 1)?.into(),
        seq: seq(row, 2)?,
        change_seq: seq(row, 3)?,
        creator_id: get::<Uuid>(row, 4)?.into(),
        client_message_id: get::<Uuid>(row, 5)?.into(),
        content: get(row, 6)?,
        created_at: get(row, 7)?,
        edited_at: get(row, 8)?,
        deleted: get(row, 9)?,
        sound: get(row, 10)?,
        mentions: mentions
            .unwrap_or_default()
            .into_iter()
            .map(UserId::from)
            .collect(),
    })
}

/// Every row through `f`.
pub(crate) fn all<T>(rows: &[Row], f: impl Fn(&Row) -> Result<T>) -> Result<Vec<T>> {
    rows.iter().map(f).collect()
}
