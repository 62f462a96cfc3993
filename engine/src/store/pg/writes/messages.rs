//! Edit and delete, as on SQLite (`store/sqlite/commands/messages.rs`). Posting works in
//! sets: see [`super::posts`].

use crate::content::mentions_name;
use crate::error::{Error, Result};
use crate::events::Event;
use crate::ids::{MessageId, UserId};
use crate::live::Change;
use crate::model::{Message, Role};
use crate::store::ops::Cx;
use crate::store::pg::conn::Conn;
use crate::store::pg::search::TS_CONFIG;
use crate::store::pg::writes::rows::{self, active_user};

/// Members of the room named with `@Name` in `content`.
pub(super) fn mentions(conn: &mut Conn, room_key: i64, content: &str) -> Result<Vec<UserId>> {
    if !content.contains('@') {
        return Ok(Vec::new());
    }
    Ok(rows::member_names(conn, &[room_key])?
        .into_iter()
        .filter(|(_, _, name)| mentions_name(content, name))
        .map(|(_, id, _)| id)
        .collect())
}

/// Takes the room's next change sequence value (locking the room's row until COMMIT, so
/// changes commit in change order).
fn next_change(conn: &mut Conn, room_key: i64) -> Result<i64> {
    Ok(conn
        .query_one(
            "UPDATE rooms SET last_change_seq = last_change_seq + 1 WHERE key = $1 \
             RETURNING last_change_seq",
            &[&room_key],
        )?
        .get(0))
}

/// A live message `user` may change (author or admin): its position and room.
fn changeable(conn: &mut Conn, user: UserId, message: MessageId) -> Result<(i64, i64)> {
    let actor = active_user(conn, user)?;
    let row = conn
        .query_opt(
            "SELECT pos, room_key, creator_key, deleted FROM messages WHERE id = $1",
            &[&message.0],
        )?
        .ok_or(Error::NotFound("message"))?;
    let (pos, room_key, creator_key, deleted): (i64, i64, i64, bool) =
        (row.get(0), row.get(1), row.get(2), row.get(3));
    if deleted {
        return Err(Error::NotFound("message"));
    }
    if actor.role != Role::Admin {
        if actor.key != creator_key {
            return Err(Error::Forbidden(
                "only the author or an admin changes a message",
            ));
        }
        if rows::membership(conn, room_key, actor.key)?.is_none() {
            return Err(Error::Forbidden("not a member of this room"));
        }
    }
    Ok((pos, room_key))
}

pub(super) fn edit(
    conn: &mut Conn,
    user: UserId,
    message: MessageId,
    content: &str,
    cx: &mut Cx<'_>,
) -> Result<Message> {
    let (pos, room_key) = changeable(conn, user, message)?;
    let change_seq = next_change(conn, room_key)?;
    let mentioned = mentions(conn, room_key, content)?;
    conn.execute(
        &format!(
            "UPDATE messages SET content = $2, edited_at = $3, change_seq = $4, mentions = $5, \
             search = to_tsvector('{TS_CONFIG}'::regconfig, $2) WHERE pos = $1"
        ),
        &[
            &pos,
            &content,
            &cx.now,
            &change_seq,
            &rows::mentions_param(&mentioned),
        ],
    )?;
    let message = rows::message_at(conn, pos)?;
    cx.fx
        .changes
        .push(Change::Room(Event::MessageEdited(message.clone())));
    Ok(message)
}

pub(super) fn delete(
    conn: &mut Conn,
    user: UserId,
    message: MessageId,
    cx: &mut Cx<'_>,
) -> Result<Message> {
    let (pos, room_key) = changeable(conn, user, message)?;
    let change_seq = next_change(conn, room_key)?;
    // The full-text document goes with the text (deleted means gone); like an edit's new
    // one, at once (see posts.rs `write_sql`).
    conn.execute(
        "UPDATE messages SET content = '', deleted = true, change_seq = $2, mentions = NULL, \
         sound = NULL, search = NULL WHERE pos = $1",
        &[&pos, &change_seq],
    )?;
    let message = rows::message_at(conn, pos)?;
    cx.fx
        .changes
        .push(Change::Room(Event::MessageDeleted(message.clone())));
    Ok(message)
}
