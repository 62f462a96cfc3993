//! Who may read what, and the PostgreSQL side of the access log (see
//! [`crate::store::access_log`]).

use uuid::Uuid;

use crate::error::{Error, Result};
use crate::ids::{RoomId, UserId};
use crate::store::access_log::AccessChange;
use crate::store::pg::reads::pool::Conn;
use crate::store::pg::reads::rows::get;

/// An active user, as the store keys it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Actor {
    pub key: i64,
}

/// A room, as the store keys it, with its head.
#[derive(Clone, Copy, Debug)]
pub(crate) struct RoomRef {
    pub key: i64,
    pub last_change_seq: i64,
}

/// The user, if it exists and is active.
pub(crate) fn active_user(conn: &mut Conn, id: UserId) -> Result<Actor> {
    let row = conn.query_opt("SELECT key, active FROM users WHERE id = $1", &[&id.0])?;
    let Some(row) = row else {
        return Err(Error::NotFound("user"));
    };
    if !get::<bool>(&row, 1)? {
        return Err(Error::Forbidden("user is deactivated"));
    }
    Ok(Actor { key: get(&row, 0)? })
}

/// The room by id.
pub(crate) fn room(conn: &mut Conn, id: RoomId) -> Result<RoomRef> {
    let row = conn
        .query_opt(
            "SELECT key, last_change_seq FROM rooms WHERE id = $1",
            &[&id.0],
        )?
        .ok_or(Error::NotFound("room"))?;
    Ok(RoomRef {
        key: get(&row, 0)?,
        last_change_seq: get(&row, 1)?,
    })
}

/// An active member of a room; anyone else is refused (the checks and errors of the
/// SQLite store, in the same order).
pub(crate) fn member(conn: &mut Conn, user: UserId, room_id: RoomId) -> Result<(Actor, RoomRef)> {
    let actor = active_user(conn, user)?;
    let room = room(conn, room_id)?;
    conn.query_opt(
        "SELECT 1 FROM memberships WHERE room_key = $1 AND user_key = $2",
        &[&room.key, &actor.key],
    )?
    .ok_or(Error::Forbidden("not a member of this room"))?;
    Ok((actor, room))
}

/// The newest access log row's number (0 when there is none).
pub(crate) fn head(conn: &mut Conn) -> Result<i64> {
    let row = conn.query_one("SELECT coalesce(max(seq), 0)::bigint FROM access_log", &[])?;
    get(&row, 0)
}

/// Rows after `cursor` written by engines other than `origin`, oldest first, and the
/// newest row's number seen (to continue from).
pub(crate) fn since(conn: &mut Conn, cursor: i64, origin: i64) -> Result<(Vec<AccessChange>, i64)> {
    let rows = conn.query(
        "SELECT seq, origin, kind, user_id, room_id FROM access_log WHERE seq > $1 ORDER BY seq",
        &[&cursor],
    )?;
    let (mut out, mut last) = (Vec::new(), cursor);
    for r in &rows {
        last = get(r, 0)?;
        if get::<i64>(r, 1)? == origin {
            continue;
        }
        let kind = i64::from(get::<i16>(r, 2)?);
        let user = UserId(get(r, 3)?);
        let room = get::<Option<Uuid>>(r, 4)?.map(RoomId);
        let Some(change) = AccessChange::from_row(kind, user, room) else {
            log::warn!("unknown access log row kind {kind}: skipped");
            continue;
        };
        out.push(change);
    }
    Ok((out, last))
}

/// True when the change still holds now: a removed member was not added back, a
/// deactivated user is still inactive.
pub(crate) fn still_holds(conn: &mut Conn, change: AccessChange) -> Result<bool> {
    let row = match change {
        AccessChange::SessionsRevoked { .. } => return Ok(true),
        AccessChange::Deactivated { user } => conn.query_one(
            "SELECT NOT EXISTS(SELECT 1 FROM users WHERE id = $1 AND active)",
            &[&user.0],
        )?,
        AccessChange::MemberRemoved { user, room } => conn.query_one(
            "SELECT NOT EXISTS(SELECT 1 FROM memberships m \
             JOIN users u ON u.key = m.user_key JOIN rooms r ON r.key = m.room_key \
             WHERE u.id = $1 AND r.id = $2)",
            &[&user.0, &room.0],
        )?,
    };
    get(&row, 0)
}

/// The access log's counter: it moves only when an access row is written (by any engine
/// on the database), so the log needs a read only when it moved.
pub(crate) fn counter(conn: &mut Conn) -> Result<i64> {
    let row = conn.query_opt("SELECT value FROM counters WHERE name = 'access_log'", &[])?;
    match row {
        Some(row) => get(&row, 0),
        None => Ok(0),
    }
}
