//! Who may touch what: lookups shared by the writer and the readers.

use rusqlite::{Connection, OptionalExtension};

use crate::error::{Error, Result};
use crate::ids::{RoomId, UserId};
use crate::model::{Role, RoomKind};

pub(crate) use crate::store::rules::Actor;

/// A room, as the store keys it, with its counters.
#[derive(Clone, Copy, Debug)]
pub(crate) struct RoomRef {
    pub key: i64,
    pub id: RoomId,
    pub kind: RoomKind,
    pub creator_key: i64,
    pub last_seq: i64,
    pub last_change_seq: i64,
}

/// A user's membership of a room.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Membership {
    pub last_read_seq: i64,
}

/// The user, if it exists and is active.
pub(crate) fn active_user(conn: &Connection, id: UserId) -> Result<Actor> {
    let row = conn
        .prepare_cached("SELECT key, role, active FROM users WHERE id = ?1")?
        .query_row([id], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, bool>(2)?,
            ))
        })
        .optional()?;
    match row {
        None => Err(Error::NotFound("user")),
        Some((_, _, false)) => Err(Error::Forbidden("user is deactivated")),
        Some((key, role, true)) => Ok(Actor {
            key,
            role: Role::from_i64(role)?,
        }),
    }
}

/// The room by id.
pub(crate) fn room(conn: &Connection, id: RoomId) -> Result<RoomRef> {
    conn.prepare_cached(
        "SELECT key, kind, creator_key, last_seq, last_change_seq FROM rooms WHERE id = ?1",
    )?
    .query_row([id], |r| {
        Ok(RoomRef {
            key: r.get(0)?,
            id,
            kind: RoomKind::from_i64(r.get(1)?)?,
            creator_key: r.get(2)?,
            last_seq: r.get(3)?,
            last_change_seq: r.get(4)?,
        })
    })
    .optional()?
    .ok_or(Error::NotFound("room"))
}

/// The membership of `user_key` in `room_key`, if any.
pub(crate) fn membership(
    conn: &Connection,
    room_key: i64,
    user_key: i64,
) -> Result<Option<Membership>> {
    Ok(conn
        .prepare_cached(
            "SELECT last_read_seq FROM memberships \
             WHERE room_key = ?1 AND user_key = ?2",
        )?
        .query_row([room_key, user_key], |r| {
            Ok(Membership {
                last_read_seq: r.get(0)?,
            })
        })
        .optional()?)
}

/// An active member of a room; anyone else is refused.
pub(crate) fn member(
    conn: &Connection,
    user: UserId,
    room_id: RoomId,
) -> Result<(Actor, RoomRef, Membership)> {
    let actor = active_user(conn, user)?;
    let room = room(conn, room_id)?;
    let m = membership(conn, room.key, actor.key)?
        .ok_or(Error::Forbidden("not a member of this room"))?;
    Ok((actor, room, m))
}
