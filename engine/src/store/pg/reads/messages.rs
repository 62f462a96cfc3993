//! Reading messages: history pages, the changes feed, single messages.

use uuid::Uuid;

use crate::engine::{MAX_CHANGES_PAGE, MAX_PAGE};
use crate::error::{Error, Result};
use crate::ids::{MessageId, RoomId, UserId};
use crate::model::{Changes, Message};
use crate::store::pg::reads::access;
use crate::store::pg::reads::pool::Conn;
use crate::store::pg::reads::rows::{self, MESSAGE_COLUMNS, MESSAGE_FROM, get};

/// A row count as a `LIMIT` parameter, never more than `cap` (the SQLite store's fixed caps).
fn limit(n: usize, cap: usize) -> i64 {
    n.min(cap) as i64
}

/// A cursor as a `bigint` (larger values mean "after everything").
fn cursor(n: u64) -> i64 {
    n.min(i64::MAX as u64) as i64
}

/// Up to `limit` messages before `before` (or the newest), oldest first.
pub(crate) fn before(
    conn: &mut Conn,
    user: UserId,
    room: RoomId,
    before: Option<u64>,
    n: usize,
) -> Result<Vec<Message>> {
    let (_, room) = access::member(conn, user, room)?;
    let before = before.map_or(i64::MAX, cursor);
    let sql = format!(
        "SELECT {MESSAGE_COLUMNS} FROM {MESSAGE_FROM} \
         WHERE m.room_key = $1 AND m.seq < $2 ORDER BY m.seq DESC LIMIT $3"
    );
    let rows = conn.query(&sql, &[&room.key, &before, &limit(n, MAX_PAGE)])?;
    let mut page = rows::all(&rows, rows::message)?;
    page.reverse();
    Ok(page)
}

/// The message and up to `n` on each side of it, oldest first.
pub(crate) fn around(
    conn: &mut Conn,
    user: UserId,
    message: MessageId,
    n: usize,
) -> Result<Vec<Message>> {
    let row = conn
        .query_opt(
            "SELECT r.id, m.seq FROM messages m JOIN rooms r ON r.key = m.room_key \
             WHERE m.id = $1",
            &[&message.0],
        )?
        .ok_or(Error::NotFound("message"))?;
    let (room_id, seq) = (RoomId(get::<Uuid>(&row, 0)?), get::<i64>(&row, 1)?);
    let (_, room) = access::member(conn, user, room_id)?;
    let mut page = before(conn, user, room_id, Some(seq.max(0) as u64), n)?;
    let sql = format!(
        "SELECT {MESSAGE_COLUMNS} FROM {MESSAGE_FROM} \
         WHERE m.room_key = $1 AND m.seq >= $2 ORDER BY m.seq LIMIT $3"
    );
    let rows = conn.query(&sql, &[&room.key, &seq.max(0), &limit(n + 1, MAX_PAGE + 1)])?;
    page.extend(rows::all(&rows, rows::message)?);
    Ok(page)
}

/// The changes feed of `room`, for `reader` (a member) or for the engine itself (`None`):
/// the current state of every message changed after `since`, in change order, at most
/// `limit`, read in one snapshot with the room's head.
pub(crate) fn feed(
    conn: &mut Conn,
    reader: Option<UserId>,
    room: RoomId,
    since: u64,
    n: usize,
) -> Result<Changes> {
    conn.begin_snapshot()?;
    let room = match reader {
        Some(user) => access::member(conn, user, room)?.1,
        None => access::room(conn, room)?,
    };
    let sql = format!(
        "SELECT {MESSAGE_COLUMNS} FROM {MESSAGE_FROM} \
         WHERE m.room_key = $1 AND m.change_seq > $2 ORDER BY m.change_seq LIMIT $3"
    );
    let take = n.min(MAX_CHANGES_PAGE);
    let rows = conn.query(
        &sql,
        &[
            &room.key,
            &cursor(since),
            &limit(take + 1, MAX_CHANGES_PAGE + 1),
        ],
    )?;
    conn.end_snapshot()?;
    let mut messages = rows::all(&rows, rows::message)?;
    let more = messages.len() > n;
    messages.truncate(n);
    Ok(Changes {
        messages,
        more,
        head_change_seq: room.last_change_seq.max(0) as u64,
    })
}

/// One message, for a member of its room.
pub(crate) fn message(conn: &mut Conn, user: UserId, id: MessageId) -> Result<Message> {
    let sql = format!("SELECT {MESSAGE_COLUMNS} FROM {MESSAGE_FROM} WHERE m.id = $1");
    let row = conn
        .query_opt(&sql, &[&id.0])?
        .ok_or(Error::NotFound("message"))?;
    let message = rows::message(&row)?;
    access::member(conn, user, message.room_id)?;
    Ok(message)
}
