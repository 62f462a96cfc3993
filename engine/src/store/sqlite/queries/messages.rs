//! Reading messages: history pages, the changes feed, search.

use rusqlite::{Connection, OptionalExtension, params};

use crate::engine::{MAX_CHANGES_PAGE, MAX_PAGE};
use crate::error::{Error, Result};
use crate::ids::{MessageId, RoomId, UserId};
use crate::model::{Changes, Message};
use crate::store::sqlite::access;
use crate::store::sqlite::rows::{self, MESSAGE_COLUMNS, MESSAGE_FROM, MESSAGE_JOINS};
use crate::store::sqlite::search::fts_query;

/// The first `take` rows. Page sizes are not bound as `LIMIT ?`: a bound limit makes
/// SQLite re-prepare the statement on every call. The SQL carries a fixed cap instead, and
/// rows past `take` are never stepped.
fn collect(
    stmt: &mut rusqlite::CachedStatement<'_>,
    params: impl rusqlite::Params,
    take: usize,
) -> Result<Vec<Message>> {
    Ok(stmt
        .query_map(params, rows::message)?
        .take(take)
        .collect::<rusqlite::Result<_>>()?)
}

fn clamp(n: i64) -> i64 {
    n.max(0)
}

/// Up to `limit` messages before `before` (or the newest), oldest first.
pub(crate) fn before(
    conn: &Connection,
    user: UserId,
    room: RoomId,
    before: Option<u64>,
    limit: usize,
) -> Result<Vec<Message>> {
    let (_, room, _) = access::member(conn, user, room)?;
    let before = before.map_or(i64::MAX, |b| b.min(i64::MAX as u64) as i64);
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {MESSAGE_COLUMNS} FROM {MESSAGE_FROM} \
         WHERE m.room_key = ?1 AND m.seq < ?2 ORDER BY m.seq DESC LIMIT {MAX_PAGE}"
    ))?;
    let mut page = collect(&mut stmt, params![room.key, before], limit)?;
    page.reverse();
    Ok(page)
}

/// The message and up to `n` on each side of it, oldest first.
pub(crate) fn around(
    conn: &Connection,
    user: UserId,
    message: MessageId,
    n: usize,
) -> Result<Vec<Message>> {
    let (room_id, seq): (RoomId, i64) = conn
        .prepare_cached(
            "SELECT r.id, m.seq FROM messages m JOIN rooms r ON r.key = m.room_key WHERE m.id = ?1",
        )?
        .query_row([message], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?
        .ok_or(Error::NotFound("message"))?;
    let (_, room, _) = access::member(conn, user, room_id)?;
    let mut page = before(conn, user, room_id, Some(seq as u64), n)?;
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {MESSAGE_COLUMNS} FROM {MESSAGE_FROM} \
         WHERE m.room_key = ?1 AND m.seq >= ?2 ORDER BY m.seq LIMIT {}",
        MAX_PAGE + 1
    ))?;
    page.extend(collect(&mut stmt, params![room.key, clamp(seq)], n + 1)?);
    Ok(page)
}

/// The current state of every message changed after `since`, in change order, at most
/// `limit` of them, read in one snapshot with the room's head.
pub(crate) fn changes_since(
    conn: &Connection,
    user: UserId,
    room: RoomId,
    since: u64,
    limit: usize,
) -> Result<Changes> {
    feed(conn, Some(user), room, since, limit)
}

/// [`changes_since`] without an access check: what the engine itself reads to fill a gap
/// in what other engines published (cluster).
pub(crate) fn room_changes(
    conn: &Connection,
    room: RoomId,
    since: u64,
    limit: usize,
) -> Result<Changes> {
    feed(conn, None, room, since, limit)
}

/// The changes feed of `room`, for `reader` (a member) or for the engine itself (`None`).
fn feed(
    conn: &Connection,
    reader: Option<UserId>,
    room: RoomId,
    since: u64,
    limit: usize,
) -> Result<Changes> {
    let snapshot = conn.unchecked_transaction()?;
    let room = match reader {
        Some(user) => access::member(&snapshot, user, room)?.1,
        None => access::room(&snapshot, room)?,
    };
    let since = since.min(i64::MAX as u64) as i64;
    let mut stmt = snapshot.prepare_cached(&format!(
        "SELECT {MESSAGE_COLUMNS} FROM {MESSAGE_FROM} \
         WHERE m.room_key = ?1 AND m.change_seq > ?2 ORDER BY m.change_seq LIMIT {}",
        MAX_CHANGES_PAGE + 1
    ))?;
    let mut messages = collect(&mut stmt, params![room.key, since], limit + 1)?;
    drop(stmt);
    let more = messages.len() > limit;
    messages.truncate(limit);
    snapshot.finish()?;
    Ok(Changes {
        messages,
        more,
        head_change_seq: room.last_change_seq as u64,
    })
}

/// Messages matching `text` in the user's rooms, newest first.
pub(crate) fn search(
    conn: &Connection,
    user: UserId,
    text: &str,
    limit: usize,
) -> Result<Vec<Message>> {
    let actor = access::active_user(conn, user)?;
    let Some(query) = fts_query(text) else {
        return Ok(Vec::new());
    };
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {MESSAGE_COLUMNS} FROM messages_fts f \
         JOIN messages m ON m.pos = f.rowid {MESSAGE_JOINS} \
         JOIN memberships mb ON mb.room_key = m.room_key AND mb.user_key = ?2 \
         WHERE messages_fts MATCH ?1 AND m.deleted = 0 \
         ORDER BY f.rowid DESC LIMIT {MAX_PAGE}"
    ))?;
    collect(&mut stmt, params![query, actor.key], limit)
}

/// One message, for a member of its room.
pub(crate) fn message(conn: &Connection, user: UserId, id: MessageId) -> Result<Message> {
    let message = conn
        .prepare_cached(&format!(
            "SELECT {MESSAGE_COLUMNS} FROM {MESSAGE_FROM} WHERE m.id = ?1"
        ))?
        .query_row([id], rows::message)
        .optional()?
        .ok_or(Error::NotFound("message"))?;
    access::member(conn, user, message.room_id)?;
    Ok(message)
}
