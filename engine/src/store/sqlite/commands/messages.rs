//! Where messages are written: post (with exactly-once dedup), edit, delete.

use rusqlite::{Connection, OptionalExtension, params};
use uuid::Uuid;

use crate::content::mentions_name;
use crate::error::{Error, Result};
use crate::events::Event;
use crate::ids::{ClientMessageId, MessageId, RoomId, UserId};
use crate::live::Change;
use crate::model::{Message, Posted, Role};
use crate::store::ops::{Cx, Effects};
use crate::store::rules;
use crate::store::sqlite::access;
use crate::store::sqlite::rows::{self, MESSAGE_COLUMNS, MESSAGE_FROM};

/// Members of the room named with `@Name` in `content`.
fn mentions(conn: &Connection, room_key: i64, content: &str) -> Result<Vec<UserId>> {
    if !content.contains('@') {
        return Ok(Vec::new());
    }
    let mut stmt = conn.prepare_cached(
        "SELECT u.id, u.name FROM memberships mb JOIN users u ON u.key = mb.user_key \
         WHERE mb.room_key = ?1 AND u.active = 1",
    )?;
    let mut found = Vec::new();
    for row in stmt.query_map([room_key], |r| {
        Ok((r.get::<_, UserId>(0)?, r.get::<_, String>(1)?))
    })? {
        let (id, name) = row?;
        if mentions_name(content, &name) {
            found.push(id);
        }
    }
    Ok(found)
}

fn message_by_key(conn: &Connection, pos: i64) -> Result<Message> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT {MESSAGE_COLUMNS} FROM {MESSAGE_FROM} WHERE m.pos = ?1"
        ))?
        .query_row([pos], rows::message)?)
}

/// Queues a message for the indexer. `indexed` is the text the full-text index holds for it
/// now (`None` for a new message): the indexer removes exactly those terms. A message already
/// queued keeps the text of its first queueing, which is what the index still holds.
fn queue_for_index(
    conn: &Connection,
    pos: i64,
    indexed: Option<&str>,
    fx: &mut Effects,
) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO fts_pending(pos, indexed) VALUES (?1, ?2) ON CONFLICT(pos) DO NOTHING",
    )?
    .execute(params![pos, indexed])?;
    fx.fts_queued += 1;
    Ok(())
}

/// Takes the room's next change sequence value.
fn next_change(conn: &Connection, room_key: i64) -> Result<i64> {
    Ok(conn
        .prepare_cached(
            "UPDATE rooms SET last_change_seq = last_change_seq + 1 WHERE key = ?1 \
             RETURNING last_change_seq",
        )?
        .query_row([room_key], |r| r.get(0))?)
}

pub(super) fn post(
    conn: &Connection,
    user: UserId,
    room: RoomId,
    client_message_id: ClientMessageId,
    content: String,
    sound: Option<String>,
    cx: &mut Cx<'_>,
) -> Result<Posted> {
    let now = cx.now;
    let (actor, room, _) = access::member(conn, user, room)?;
    // Dedup is decided here, on the only writer: no other post can slip in between.
    let original = conn
        .prepare_cached(&format!(
            "SELECT {MESSAGE_COLUMNS} FROM {MESSAGE_FROM} \
             WHERE m.room_key = ?1 AND m.client_message_id = ?2"
        ))?
        .query_row(params![room.key, client_message_id], rows::message)
        .optional()?;
    if let Some(message) = original {
        if message.creator_id != user {
            return Err(rules::client_id_taken());
        }
        return Ok(Posted {
            message,
            duplicate: true,
        });
    }
    // Only new messages spend a token: a retry is free.
    let limit = if actor.role == Role::Bot {
        cx.limits.1
    } else {
        cx.limits.0
    };
    cx.limiter.take(user, limit, now)?;
    let seq = room.last_seq + 1;
    let change_seq = room.last_change_seq + 1;
    let mentioned = mentions(conn, room.key, &content)?;
    let id = MessageId(Uuid::now_v7());
    conn.prepare_cached(
        "INSERT INTO messages(id, room_key, seq, change_seq, creator_key, client_message_id, \
         content, created_at, mentions, sound) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    )?
    .execute(params![
        id,
        room.key,
        seq,
        change_seq,
        actor.key,
        client_message_id,
        content,
        now,
        rows::encode_ids(&mentioned),
        sound
    ])?;
    queue_for_index(conn, conn.last_insert_rowid(), None, &mut cx.fx)?;
    conn.prepare_cached(
        "UPDATE rooms SET last_seq = ?2, last_change_seq = ?3, last_message_at = ?4 WHERE key = ?1",
    )?
    .execute([room.key, seq, change_seq, now])?;
    // Posting implies having read the room up to one's own message.
    conn.prepare_cached(
        "UPDATE memberships SET last_read_seq = ?3 WHERE room_key = ?1 AND user_key = ?2",
    )?
    .execute([room.key, actor.key, seq])?;
    let message = Message {
        id,
        room_id: room.id,
        seq: seq as u64,
        change_seq: change_seq as u64,
        creator_id: user,
        client_message_id,
        content,
        created_at: now,
        edited_at: None,
        deleted: false,
        sound,
        mentions: mentioned,
    };
    cx.fx
        .changes
        .push(Change::Room(Event::MessageCreated(message.clone())));
    if let Some(name) = &message.sound {
        cx.fx.changes.push(Change::Room(Event::Sound {
            room_id: room.id,
            user_id: user,
            message_id: id,
            name: name.clone(),
        }));
    }
    Ok(Posted {
        message,
        duplicate: false,
    })
}

/// A live message `user` may change (author or admin).
struct Changeable {
    pos: i64,
    room_key: i64,
    /// Its content before the change.
    content: String,
}

/// The live message, if `user` may change it (author or admin).
fn changeable(conn: &Connection, user: UserId, message: MessageId) -> Result<Changeable> {
    let actor = access::active_user(conn, user)?;
    let (pos, room_key, creator_key, deleted, content): (i64, i64, i64, bool, String) = conn
        .prepare_cached(
            "SELECT pos, room_key, creator_key, deleted, content FROM messages WHERE id = ?1",
        )?
        .query_row([message], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
        })
        .optional()?
        .ok_or(Error::NotFound("message"))?;
    if deleted {
        return Err(Error::NotFound("message"));
    }
    if actor.role != Role::Admin {
        if actor.key != creator_key {
            return Err(Error::Forbidden(
                "only the author or an admin changes a message",
            ));
        }
        if access::membership(conn, room_key, actor.key)?.is_none() {
            return Err(Error::Forbidden("not a member of this room"));
        }
    }
    Ok(Changeable {
        pos,
        room_key,
        content,
    })
}

pub(super) fn edit(
    conn: &Connection,
    user: UserId,
    message: MessageId,
    content: String,
    cx: &mut Cx<'_>,
) -> Result<Message> {
    let Changeable {
        pos,
        room_key,
        content: before,
    } = changeable(conn, user, message)?;
    let change_seq = next_change(conn, room_key)?;
    let mentioned = mentions(conn, room_key, &content)?;
    conn.prepare_cached(
        "UPDATE messages SET content = ?2, edited_at = ?3, change_seq = ?4, mentions = ?5 \
         WHERE pos = ?1",
    )?
    .execute(params![
        pos,
        content,
        cx.now,
        change_seq,
        rows::encode_ids(&mentioned)
    ])?;
    queue_for_index(conn, pos, Some(&before), &mut cx.fx)?;
    let message = message_by_key(conn, pos)?;
    cx.fx
        .changes
        .push(Change::Room(Event::MessageEdited(message.clone())));
    Ok(message)
}

pub(super) fn delete(
    conn: &Connection,
    user: UserId,
    message: MessageId,
    cx: &mut Cx<'_>,
) -> Result<Message> {
    let Changeable {
        pos,
        room_key,
        content: before,
    } = changeable(conn, user, message)?;
    let change_seq = next_change(conn, room_key)?;
    conn.prepare_cached(
        "UPDATE messages SET content = '', deleted = 1, change_seq = ?2, mentions = NULL, \
         sound = NULL WHERE pos = ?1",
    )?
    .execute([pos, change_seq])?;
    queue_for_index(conn, pos, Some(&before), &mut cx.fx)?;
    let message = message_by_key(conn, pos)?;
    cx.fx
        .changes
        .push(Change::Room(Event::MessageDeleted(message.clone())));
    Ok(message)
}
