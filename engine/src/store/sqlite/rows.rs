//! Turning rows into the public types.

use rusqlite::Row;

use crate::ids::UserId;
use crate::model::{Involvement, Message, Role, Room, RoomKind, User};

/// Columns read by [`user`], from `users u`.
pub(crate) const USER_COLUMNS: &str = "u.id, u.login, u.name, u.role, u.active, u.created_at";

pub(crate) fn user(row: &Row<'_>, at: usize) -> rusqlite::Result<User> {
    Ok(User {
        id: row.get(at)?,
        login: row.get(at + 1)?,
        name: row.get(at + 2)?,
        role: Role::from_i64(row.get(at + 3)?)?,
        active: row.get(at + 4)?,
        created_at: row.get(at + 5)?,
    })
}

/// Columns read by [`room`], from `rooms r` joined with `users c` (the creator).
pub(crate) const ROOM_COLUMNS: &str =
    "r.id, r.kind, r.name, c.id, r.created_at, r.last_message_at, r.last_seq, r.last_change_seq";

/// `FROM` clause matching [`ROOM_COLUMNS`].
pub(crate) const ROOM_FROM: &str = "rooms r JOIN users c ON c.key = r.creator_key";

pub(crate) fn room(row: &Row<'_>, at: usize) -> rusqlite::Result<Room> {
    Ok(Room {
        id: row.get(at)?,
        kind: RoomKind::from_i64(row.get(at + 1)?)?,
        name: row.get(at + 2)?,
        creator_id: row.get(at + 3)?,
        created_at: row.get(at + 4)?,
        last_message_at: row.get(at + 5)?,
        head_seq: row.get(at + 6)?,
        head_change_seq: row.get(at + 7)?,
    })
}

pub(crate) fn involvement(row: &Row<'_>, at: usize) -> rusqlite::Result<Involvement> {
    Involvement::from_i64(row.get(at)?)
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

pub(crate) fn message(row: &Row<'_>) -> rusqlite::Result<Message> {
    let mentions: Option<Vec<u8>> = row.get(11)?;
    Ok(Message {
        id: row.get(0)?,
        room_id: row.get(1)?,
        seq: row.get(2)?,
        change_seq: row.get(3)?,
        creator_id: row.get(4)?,
        client_message_id: row.get(5)?,
        content: row.get(6)?,
        created_at: row.get(7)?,
        edited_at: row.get(8)?,
        deleted: row.get(9)?,
        sound: row.get(10)?,
        mentions: decode_ids(mentions.as_deref().unwrap_or_default()),
    })
}

/// Packs user ids as consecutive 16-byte UUIDs; `None` when there are none.
pub(crate) fn encode_ids(ids: &[UserId]) -> Option<Vec<u8>> {
    (!ids.is_empty()).then(|| ids.iter().flat_map(|id| *id.as_bytes()).collect())
}

fn decode_ids(bytes: &[u8]) -> Vec<UserId> {
    bytes
        .chunks_exact(16)
        .map(|c| UserId::from_bytes(c.try_into().expect("chunks of 16")))
        .collect()
}

/// The room by id, as callers see it.
pub(crate) fn load_room(
    conn: &rusqlite::Connection,
    id: crate::ids::RoomId,
) -> crate::Result<Room> {
    use rusqlite::OptionalExtension;
    conn.prepare_cached(&format!(
        "SELECT {ROOM_COLUMNS} FROM {ROOM_FROM} WHERE r.id = ?1"
    ))?
    .query_row([id], |r| room(r, 0))
    .optional()?
    .ok_or(crate::Error::NotFound("room"))
}
