//! Rows the writer reads back, turned into the public types, and the lookups every
//! command starts with (who may touch what).

use postgres::Row;
use uuid::Uuid;

use crate::error::{Error, Result};
use crate::ids::{MessageId, RoomId, UserId};
use crate::model::{Message, Role, Room, RoomKind};
use crate::store::pg::conn::Conn;

pub(super) use crate::store::rules::Actor;

/// A room, as the store keys it, with its counters (as read, without a lock).
#[derive(Clone, Copy, Debug)]
pub(super) struct RoomRef {
    pub key: i64,
    pub id: RoomId,
    pub kind: RoomKind,
    pub creator_key: i64,
    pub last_seq: i64,
}

pub(super) fn role(n: i16) -> Result<Role> {
    Role::from_i64(n.into()).map_err(|_| Error::Storage(format!("unknown role {n}")))
}

pub(super) fn kind(n: i16) -> Result<RoomKind> {
    RoomKind::from_i64(n.into()).map_err(|_| Error::Storage(format!("unknown room kind {n}")))
}

/// The user, if it exists and is active.
pub(super) fn active_user(conn: &mut Conn, id: UserId) -> Result<Actor> {
    let row = conn.query_opt(
        "SELECT key, role, active FROM users WHERE id = $1",
        &[&id.0],
    )?;
    let Some(row) = row else {
        return Err(Error::NotFound("user"));
    };
    if !row.get::<_, bool>(2) {
        return Err(Error::Forbidden("user is deactivated"));
    }
    Ok(Actor {
        key: row.get(0),
        role: role(row.get(1))?,
    })
}

/// The room by id.
pub(super) fn room(conn: &mut Conn, id: RoomId) -> Result<RoomRef> {
    let row = conn
        .query_opt(
            "SELECT key, kind, creator_key, last_seq FROM rooms WHERE id = $1",
            &[&id.0],
        )?
        .ok_or(Error::NotFound("room"))?;
    Ok(RoomRef {
        key: row.get(0),
        id,
        kind: kind(row.get(1))?,
        creator_key: row.get(2),
        last_seq: row.get(3),
    })
}

/// The read position of `user_key` in `room_key`, if it is a member.
pub(super) fn membership(conn: &mut Conn, room_key: i64, user_key: i64) -> Result<Option<i64>> {
    Ok(conn
        .query_opt(
            "SELECT last_read_seq FROM memberships WHERE room_key = $1 AND user_key = $2",
            &[&room_key, &user_key],
        )?
        .map(|r| r.get(0)))
}

/// An active member of a room (actor, room, read position); anyone else is refused.
pub(super) fn member(
    conn: &mut Conn,
    user: UserId,
    room_id: RoomId,
) -> Result<(Actor, RoomRef, i64)> {
    let actor = active_user(conn, user)?;
    let room = room(conn, room_id)?;
    let read = membership(conn, room.key, actor.key)?
        .ok_or(Error::Forbidden("not a member of this room"))?;
    Ok((actor, room, read))
}

/// The room by id, as callers see it.
pub(super) fn load_room(conn: &mut Conn, id: RoomId) -> Result<Room> {
    let r = conn
        .query_opt(
            "SELECT r.id, r.kind, r.name, c.id, r.created_at, r.last_message_at, r.last_seq, \
             r.last_change_seq FROM rooms r JOIN users c ON c.key = r.creator_key WHERE r.id = $1",
            &[&id.0],
        )?
        .ok_or(Error::NotFound("room"))?;
    Ok(Room {
        id: RoomId(r.get(0)),
        kind: kind(r.get(1))?,
        name: r.get(2),
        creator_id: UserId(r.get(3)),
        created_at: r.get(4),
        last_message_at: r.get(5),
        head_seq: r.get::<_, i64>(6) as u64,
        head_change_seq: r.get::<_, i64>(7) as u64,
    })
}

/// Columns read by [`message`], from `messages m JOIN rooms r JOIN users u` (the author).
pub(super) const MESSAGE_COLUMNS: &str = "m.id, r.id, m.seq, m.change_seq, u.id, \
     m.client_message_id, m.content, m.created_at, m.edited_at, m.deleted, m.sound, m.mentions";

/// The message in `row` starting at column `at` (see [`MESSAGE_COLUMNS`]).
pub(super) fn message(row: &Row, at: usize) -> Message {
    let mentions: Option<Vec<Uuid>> = row.get(at + 11);
    Message {
        id: MessageId(row.get(at)),
        room_id: RoomId(row.get(at + 1)),
        seq: row.get::<_, i64>(at + 2) as u64,
        change_seq: row.get::<_, i64>(at + 3) as u64,
        creator_id: UserId(row.get(at + 4)),
        client_message_id: crate::ids::ClientMessageId(row.get(at + 5)),
        content: row.get(at + 6),
        created_at: row.get(at + 7),
        edited_at: row.get(at + 8),
        deleted: row.get(at + 9),
        sound: row.get(at + 10),
        mentions: mentions
            .unwrap_or_default()
            .into_iter()
            .map(UserId)
            .collect(),
    }
}

/// The message stored at `pos`.
pub(super) fn message_at(conn: &mut Conn, pos: i64) -> Result<Message> {
    let sql = format!(
        "SELECT {MESSAGE_COLUMNS} FROM messages m JOIN rooms r ON r.key = m.room_key \
         JOIN users u ON u.key = m.creator_key WHERE m.pos = $1"
    );
    let row = conn.query_one(&sql, &[&pos])?;
    Ok(message(&row, 0))
}

/// Members of `room_key` (active) as (id, name), in the order SQLite lists them.
pub(super) fn member_names(
    conn: &mut Conn,
    room_keys: &[i64],
) -> Result<Vec<(i64, UserId, String)>> {
    Ok(conn
        .query(
            "SELECT mb.room_key, u.id, u.name FROM memberships mb \
             JOIN users u ON u.key = mb.user_key \
             WHERE mb.room_key = ANY($1) AND u.active ORDER BY mb.room_key, mb.user_key",
            &[&room_keys],
        )?
        .iter()
        .map(|r| (r.get(0), UserId(r.get(1)), r.get(2)))
        .collect())
}

/// The mentions stored for a message: `NULL` when there are none, as on SQLite.
pub(super) fn mentions_param(ids: &[UserId]) -> Option<Vec<Uuid>> {
    (!ids.is_empty()).then(|| ids.iter().map(|u| u.0).collect())
}
