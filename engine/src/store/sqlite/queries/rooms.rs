//! Reading rooms, room lists and members.

use rusqlite::Connection;

use crate::error::Result;
use crate::ids::{RoomId, UserId};
use crate::model::{Member, Room, RoomSummary};
use crate::store::sqlite::access;
use crate::store::sqlite::rows::{self, ROOM_COLUMNS, ROOM_FROM, USER_COLUMNS};

/// A user's rooms, newest activity first, with unread counts.
pub(crate) fn room_list(conn: &Connection, user: UserId) -> Result<Vec<RoomSummary>> {
    let actor = access::active_user(conn, user)?;
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {ROOM_COLUMNS}, mb.involvement, mb.last_read_seq \
         FROM memberships mb JOIN rooms r ON r.key = mb.room_key \
         JOIN users c ON c.key = r.creator_key \
         WHERE mb.user_key = ?1 \
         ORDER BY coalesce(r.last_message_at, r.created_at) DESC, r.key DESC"
    ))?;
    let list = stmt
        .query_map([actor.key], |r| {
            let room = rows::room(r, 0)?;
            let last_read_seq: u64 = r.get(9)?;
            Ok(RoomSummary {
                unread: room.head_seq.saturating_sub(last_read_seq),
                involvement: rows::involvement(r, 8)?,
                last_read_seq,
                room,
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    Ok(list)
}

/// Ok when the user is an active member of the room (the check alone, no room read).
pub(crate) fn check_member(conn: &Connection, user: UserId, room: RoomId) -> Result<()> {
    access::member(conn, user, room).map(|_| ())
}

/// A room the user belongs to.
pub(crate) fn room(conn: &Connection, user: UserId, room: RoomId) -> Result<Room> {
    access::member(conn, user, room)?;
    rows::load_room(conn, room)
}

/// Every room, for administration.
pub(crate) fn all_rooms(conn: &Connection) -> Result<Vec<Room>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {ROOM_COLUMNS} FROM {ROOM_FROM} ORDER BY r.key"
    ))?;
    let list = stmt
        .query_map([], |r| rows::room(r, 0))?
        .collect::<rusqlite::Result<_>>()?;
    Ok(list)
}

/// The members of a room the user belongs to.
pub(crate) fn members(conn: &Connection, user: UserId, room: RoomId) -> Result<Vec<Member>> {
    let (_, room, _) = access::member(conn, user, room)?;
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {USER_COLUMNS}, mb.involvement FROM memberships mb JOIN users u ON u.key = mb.user_key \
         WHERE mb.room_key = ?1 ORDER BY u.name"
    ))?;
    let list = stmt
        .query_map([room.key], |r| {
            Ok(Member {
                user: rows::user(r, 0)?,
                involvement: rows::involvement(r, 6)?,
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    Ok(list)
}

/// Active members who may want notifications (involvement `mentions` or `everything`).
pub(crate) fn notifiable(
    conn: &Connection,
    room: RoomId,
) -> Result<Vec<(UserId, crate::model::Involvement)>> {
    let mut stmt = conn.prepare_cached(
        "SELECT u.id, mb.involvement FROM rooms r JOIN memberships mb ON mb.room_key = r.key \
         JOIN users u ON u.key = mb.user_key \
         WHERE r.id = ?1 AND u.active = 1 AND mb.involvement >= ?2",
    )?;
    let list = stmt
        .query_map(
            rusqlite::params![room, crate::model::Involvement::Mentions as i64],
            |r| Ok((r.get(0)?, rows::involvement(r, 1)?)),
        )?
        .collect::<rusqlite::Result<_>>()?;
    Ok(list)
}
