//! Reading rooms, room lists and members.

use crate::error::{Error, Result};
use crate::ids::{RoomId, UserId};
use crate::model::{Involvement, Member, Room, RoomSummary};
use crate::store::pg::reads::access;
use crate::store::pg::reads::pool::Conn;
use crate::store::pg::reads::rows::{self, ROOM_COLUMNS, ROOM_FROM, USER_COLUMNS, get};

/// A user's rooms, newest activity first, with unread counts.
pub(crate) fn room_list(conn: &mut Conn, user: UserId) -> Result<Vec<RoomSummary>> {
    let actor = access::active_user(conn, user)?;
    let sql = format!(
        "SELECT {ROOM_COLUMNS}, mb.involvement, mb.last_read_seq \
         FROM memberships mb JOIN rooms r ON r.key = mb.room_key \
         JOIN users c ON c.key = r.creator_key \
         WHERE mb.user_key = $1 \
         ORDER BY coalesce(r.last_message_at, r.created_at) DESC, r.key DESC"
    );
    rows::all(&conn.query(&sql, &[&actor.key])?, |r| {
        let room = rows::room(r, 0)?;
        let last_read_seq = get::<i64>(r, 9)?.max(0) as u64;
        Ok(RoomSummary {
            unread: room.head_seq.saturating_sub(last_read_seq),
            involvement: rows::involvement(r, 8)?,
            last_read_seq,
            room,
        })
    })
}

/// Ok when the user is an active member of the room.
pub(crate) fn check_member(conn: &mut Conn, user: UserId, room: RoomId) -> Result<()> {
    access::member(conn, user, room).map(|_| ())
}

/// A room the user belongs to.
pub(crate) fn room(conn: &mut Conn, user: UserId, room: RoomId) -> Result<Room> {
    access::member(conn, user, room)?;
    let sql = format!("SELECT {ROOM_COLUMNS} FROM {ROOM_FROM} WHERE r.id = $1");
    let row = conn.query_opt(&sql, &[&room.0])?;
    rows::room(&row.ok_or(Error::NotFound("room"))?, 0)
}

/// Every room, oldest first.
pub(crate) fn all_rooms(conn: &mut Conn) -> Result<Vec<Room>> {
    let sql = format!("SELECT {ROOM_COLUMNS} FROM {ROOM_FROM} ORDER BY r.key");
    rows::all(&conn.query(&sql, &[])?, |r| rows::room(r, 0))
}

/// The members of a room the user belongs to, by name (byte order, as SQLite compares).
pub(crate) fn members(conn: &mut Conn, user: UserId, room: RoomId) -> Result<Vec<Member>> {
    let (_, room) = access::member(conn, user, room)?;
    let sql = format!(
        "SELECT {USER_COLUMNS}, mb.involvement FROM memberships mb \
         JOIN users u ON u.key = mb.user_key \
         WHERE mb.room_key = $1 ORDER BY u.name COLLATE \"C\", u.key"
    );
    rows::all(&conn.query(&sql, &[&room.key])?, |r| {
        Ok(Member {
            user: rows::user(r, 0)?,
            involvement: rows::involvement(r, 6)?,
        })
    })
}

/// Active members who may want notifications (involvement `mentions` or `everything`).
pub(crate) fn notifiable(conn: &mut Conn, room: RoomId) -> Result<Vec<(UserId, Involvement)>> {
    let rows = conn.query(
        "SELECT u.id, mb.involvement FROM rooms r JOIN memberships mb ON mb.room_key = r.key \
         JOIN users u ON u.key = mb.user_key \
         WHERE r.id = $1 AND u.active AND mb.involvement >= $2 ORDER BY mb.user_key",
        &[&room.0, &(Involvement::Mentions as i16)],
    )?;
    rows::all(&rows, |r| {
        Ok((UserId(get(r, 0)?), rows::involvement(r, 1)?))
    })
}
