//! Posting in sets: every post of a run of consecutive posts in a batch is validated,
//! deduplicated, numbered and written with a few statements in all (arrays and
//! `unnest`), since on PostgreSQL each statement's round trip costs more than its work.
//!
//! The rules are SQLite's (`store/sqlite/commands/messages.rs`), post by post, in batch
//! order: an active member of an existing room; a `client_message_id` already used in the
//! room answers with the original (`duplicate: true`; another author's is refused), also
//! when the first use is earlier in the same batch; only new messages spend a rate-limit
//! token; posting reads the room up to one's own message. Across nodes, the rooms' rows are
//! locked (in key order, so two writers never deadlock over them) before duplicates are
//! looked for: a post committed by another node before the lock was granted is seen, and a
//! sequence number is never spent on a duplicate.

use std::collections::HashMap;

use uuid::Uuid;

use crate::content::mentions_name;
use crate::error::{Error, Result};
use crate::events::Event;
use crate::ids::{MessageId, UserId};
use crate::live::Change;
use crate::model::{Message, Posted, Role};
use crate::store::ops::{Cx, Done, PostDraft};
use crate::store::pg::conn::Conn;
use crate::store::pg::search::TS_CONFIG;
use crate::store::pg::writes::rows::{self, MESSAGE_COLUMNS};
use crate::store::rules;

/// A room's counters, locked for the batch.
struct Locked {
    key: i64,
    last_seq: i64,
    last_change_seq: i64,
}

/// What the look-up said about one post.
struct Found {
    user_key: Option<i64>,
    role: i16,
    active: bool,
    member: bool,
    /// The message already stored under the post's `(room, client_message_id)`.
    original: Option<Message>,
}

/// A new message, numbered, waiting for its mentions and the write.
struct New {
    at: usize,
    room_key: i64,
    user_key: i64,
    seq: i64,
    change_seq: i64,
}

/// A post's outcome before the write.
enum Slot {
    Done(Result<Posted>),
    /// A new message (its numbers are in `New`).
    New,
    /// Committed by an earlier attempt of this batch.
    Again(Message),
    /// Repeats the pair of the post at this index of the set (new or again).
    DuplicateOf(usize),
}

/// Runs `posts` (with the message ids `fresh`, fixed for the batch) as one set. The outer
/// error means the set as a whole failed (its writes must be rolled back); otherwise each
/// post has its own outcome and the effects of those that succeeded are in `cx.fx`.
///
/// A post whose pair is found stored with its own fixed id was committed by an earlier
/// attempt of this batch (the acknowledgement of its COMMIT was lost): it is answered as
/// new (`duplicate: false`, which is what its caller, who never heard of it, expects) and
/// announced again, since the live layer never heard of it either.
pub(super) fn run_set(
    conn: &mut Conn,
    posts: &[&PostDraft],
    fresh: &[Uuid],
    cx: &mut Cx<'_>,
) -> Result<Vec<Result<Done>>> {
    let mut rooms = lock_rooms(conn, posts)?;
    let found = look_up(conn, posts, &rooms)?;
    let mut slots: Vec<Slot> = Vec::with_capacity(posts.len());
    let mut new: Vec<New> = Vec::new();
    // (room, client id) -> the post of this set that holds it, new or committed before.
    let mut taken: HashMap<(i64, Uuid), usize> = HashMap::new();
    for (i, (post, f)) in posts.iter().zip(found).enumerate() {
        let room = rooms.get_mut(&post.room.0);
        let checked = match (f.user_key, room) {
            (None, _) => Err(Error::NotFound("user")),
            (Some(_), _) if !f.active => Err(Error::Forbidden("user is deactivated")),
            (Some(_), None) => Err(Error::NotFound("room")),
            (Some(_), Some(_)) if !f.member => Err(Error::Forbidden("not a member of this room")),
            (Some(user_key), Some(room)) => Ok((user_key, room)),
        };
        let (user_key, room) = match checked {
            Ok(v) => v,
            Err(e) => {
                slots.push(Slot::Done(Err(e)));
                continue;
            }
        };
        let pair = (room.key, post.client_message_id.0);
        if let Some(&j) = taken.get(&pair) {
            slots.push(if posts[j].user == post.user {
                Slot::DuplicateOf(j)
            } else {
                Slot::Done(Err(rules::client_id_taken()))
            });
            continue;
        }
        if let Some(message) = f.original {
            slots.push(if message.creator_id != post.user {
                Slot::Done(Err(rules::client_id_taken()))
            } else if message.id.0 == fresh[i] {
                taken.insert(pair, i);
                Slot::Again(message)
            } else {
                Slot::Done(Ok(Posted {
                    message,
                    duplicate: true,
                }))
            });
            continue;
        }
        // Only new messages spend a token: a retry is free.
        let limit = if f.role == Role::Bot as i16 {
            cx.limits.1
        } else {
            cx.limits.0
        };
        if let Err(e) = cx.limiter.take(post.user, limit, cx.now) {
            slots.push(Slot::Done(Err(e)));
            continue;
        }
        room.last_seq += 1;
        room.last_change_seq += 1;
        new.push(New {
            at: i,
            room_key: room.key,
            user_key,
            seq: room.last_seq,
            change_seq: room.last_change_seq,
        });
        taken.insert(pair, i);
        slots.push(Slot::New);
    }
    let mentions = mentions(conn, posts, &new)?;
    write(conn, posts, fresh, &new, &mentions, cx.now)?;
    let mut numbered = new.iter().zip(mentions);
    let mut messages: Vec<Option<Message>> = Vec::with_capacity(posts.len());
    let mut answers = Vec::with_capacity(posts.len());
    for (i, slot) in slots.into_iter().enumerate() {
        let result = match slot {
            Slot::Done(r) => r,
            Slot::New => {
                let Some((n, mentioned)) = numbered.next() else {
                    return Err(Error::Storage(
                        "internal error: post set out of step".into(),
                    ));
                };
                let message = new_message(posts[i], fresh[i], n, mentioned, cx.now);
                announce(&message, cx);
                Ok(Posted {
                    message,
                    duplicate: false,
                })
            }
            Slot::Again(message) => {
                announce(&message, cx);
                Ok(Posted {
                    message,
                    duplicate: false,
                })
            }
            Slot::DuplicateOf(j) => match messages.get(j).cloned().flatten() {
                Some(message) => Ok(Posted {
                    message,
                    duplicate: true,
                }),
                None => Err(Error::Storage(
                    "internal error: post set out of step".into(),
                )),
            },
        };
        messages.push(result.as_ref().ok().map(|p| p.message.clone()));
        answers.push(result.map(Done::Posted));
    }
    Ok(answers)
}

/// What subscribers hear about a new message.
fn announce(message: &Message, cx: &mut Cx<'_>) {
    cx.fx
        .changes
        .push(Change::Room(Event::MessageCreated(message.clone())));
    if let Some(name) = &message.sound {
        cx.fx.changes.push(Change::Room(Event::Sound {
            room_id: message.room_id,
            user_id: message.creator_id,
            message_id: message.id,
            name: name.clone(),
        }));
    }
}

/// The message a new post made.
fn new_message(post: &PostDraft, id: Uuid, n: &New, mentions: Vec<UserId>, now: i64) -> Message {
    Message {
        id: MessageId(id),
        room_id: post.room,
        seq: n.seq as u64,
        change_seq: n.change_seq as u64,
        creator_id: post.user,
        client_message_id: post.client_message_id,
        content: post.content.clone(),
        created_at: now,
        edited_at: None,
        deleted: false,
        sound: post.sound.clone(),
        mentions,
    }
}

/// Locks the rows of the rooms posted to, in key order, and reads their counters.
fn lock_rooms(conn: &mut Conn, posts: &[&PostDraft]) -> Result<HashMap<Uuid, Locked>> {
    let mut ids: Vec<Uuid> = posts.iter().map(|p| p.room.0).collect();
    ids.sort_unstable();
    ids.dedup();
    let rows = conn.query(
        "SELECT key, id, last_seq, last_change_seq FROM rooms WHERE id = ANY($1) \
         ORDER BY key FOR UPDATE",
        &[&ids],
    )?;
    Ok(rows
        .iter()
        .map(|r| {
            (
                r.get::<_, Uuid>(1),
                Locked {
                    key: r.get(0),
                    last_seq: r.get(2),
                    last_change_seq: r.get(3),
                },
            )
        })
        .collect())
}

/// For each post: its author, whether it is a member, and the message already stored
/// under its pair. One statement, read after the rooms were locked.
fn look_up(
    conn: &mut Conn,
    posts: &[&PostDraft],
    rooms: &HashMap<Uuid, Locked>,
) -> Result<Vec<Found>> {
    let users: Vec<Uuid> = posts.iter().map(|p| p.user.0).collect();
    let room_keys: Vec<i64> = posts
        .iter()
        .map(|p| rooms.get(&p.room.0).map_or(0, |r| r.key))
        .collect();
    let cmids: Vec<Uuid> = posts.iter().map(|p| p.client_message_id.0).collect();
    let sql = format!(
        "SELECT i.n, a.key, a.role, a.active, mb.user_key IS NOT NULL, m.id IS NOT NULL, \
         {MESSAGE_COLUMNS} \
         FROM unnest($1::uuid[], $2::bigint[], $3::uuid[]) WITH ORDINALITY \
             AS i(user_id, room_key, cmid, n) \
         LEFT JOIN users a ON a.id = i.user_id \
         LEFT JOIN memberships mb ON mb.room_key = i.room_key AND mb.user_key = a.key \
         LEFT JOIN messages m ON m.room_key = i.room_key AND m.client_message_id = i.cmid \
         LEFT JOIN rooms r ON r.key = m.room_key \
         LEFT JOIN users u ON u.key = m.creator_key \
         ORDER BY i.n"
    );
    let rows = conn.query(&sql, &[&users, &room_keys, &cmids])?;
    if rows.len() != posts.len() {
        return Err(Error::Storage(
            "internal error: post look-up out of step".into(),
        ));
    }
    Ok(rows
        .iter()
        .map(|r| Found {
            user_key: r.get(1),
            role: r.get::<_, Option<i16>>(2).unwrap_or_default(),
            active: r.get::<_, Option<bool>>(3).unwrap_or_default(),
            member: r.get(4),
            original: r.get::<_, bool>(5).then(|| rows::message(r, 6)),
        })
        .collect())
}

/// The members named in each new message (one statement for the rooms of those that
/// contain `@`).
fn mentions(conn: &mut Conn, posts: &[&PostDraft], new: &[New]) -> Result<Vec<Vec<UserId>>> {
    let mut keys: Vec<i64> = new
        .iter()
        .filter(|n| posts[n.at].content.contains('@'))
        .map(|n| n.room_key)
        .collect();
    if keys.is_empty() {
        return Ok(vec![Vec::new(); new.len()]);
    }
    keys.sort_unstable();
    keys.dedup();
    let names = rows::member_names(conn, &keys)?;
    Ok(new
        .iter()
        .map(|n| {
            let content = &posts[n.at].content;
            if !content.contains('@') {
                return Vec::new();
            }
            names
                .iter()
                .filter(|(room, _, name)| *room == n.room_key && mentions_name(content, name))
                .map(|(_, id, _)| *id)
                .collect()
        })
        .collect())
}

/// Writes the new messages, the rooms' counters and the authors' read positions in one
/// statement (see [`write_sql`]).
fn write(
    conn: &mut Conn,
    posts: &[&PostDraft],
    fresh: &[Uuid],
    new: &[New],
    mentions: &[Vec<UserId>],
    now: i64,
) -> Result<()> {
    if new.is_empty() {
        return Ok(());
    }
    let room_keys: Vec<i64> = new.iter().map(|n| n.room_key).collect();
    let seqs: Vec<i64> = new.iter().map(|n| n.seq).collect();
    let change_seqs: Vec<i64> = new.iter().map(|n| n.change_seq).collect();
    let ids: Vec<Uuid> = new.iter().map(|n| fresh[n.at]).collect();
    let creators: Vec<i64> = new.iter().map(|n| n.user_key).collect();
    let cmids: Vec<Uuid> = new
        .iter()
        .map(|n| posts[n.at].client_message_id.0)
        .collect();
    let contents: Vec<&str> = new.iter().map(|n| posts[n.at].content.as_str()).collect();
    let sounds: Vec<Option<&str>> = new.iter().map(|n| posts[n.at].sound.as_deref()).collect();
    // uuid[] per row travels as its text form: unnest would flatten a 2-D array.
    let mentioned: Vec<Option<String>> = mentions
        .iter()
        .map(|m| {
            (!m.is_empty()).then(|| {
                let ids: Vec<String> = m.iter().map(|u| u.0.to_string()).collect();
                format!("{{{}}}", ids.join(","))
            })
        })
        .collect();
    // The last numbers per room and the newest read position per (room, author).
    let mut heads: HashMap<i64, (i64, i64)> = HashMap::new();
    let mut reads: HashMap<(i64, i64), i64> = HashMap::new();
    for n in new {
        heads.insert(n.room_key, (n.seq, n.change_seq));
        reads.insert((n.room_key, n.user_key), n.seq);
    }
    let (head_keys, (head_seqs, head_changes)): (Vec<i64>, (Vec<i64>, Vec<i64>)) =
        heads.into_iter().unzip();
    let ((read_rooms, read_users), read_seqs): ((Vec<i64>, Vec<i64>), Vec<i64>) =
        reads.into_iter().unzip();
    conn.execute(
        &write_sql(),
        &[
            &room_keys,
            &seqs,
            &change_seqs,
            &ids,
            &creators,
            &cmids,
            &contents,
            &sounds,
            &mentioned,
            &now,
            &head_keys,
            &head_seqs,
            &head_changes,
            &read_rooms,
            &read_users,
            &read_seqs,
        ],
    )?;
    Ok(())
}

/// Writes the new messages with their full-text documents, the rooms' counters and the
/// authors' read positions. The document is made in the INSERT rather than queued for an
/// indexer off the acknowledgement path: on PostgreSQL that measured as less work in all
/// (a later UPDATE writes every row a second time, each index included; docs/engine.md),
/// and a message is searchable as soon as it is acknowledged.
fn write_sql() -> String {
    format!(
        "WITH ins AS ( \
           INSERT INTO messages(room_key, seq, change_seq, id, creator_key, client_message_id, \
                                content, created_at, sound, mentions, search) \
           SELECT t.room_key, t.seq, t.change_seq, t.id, t.creator_key, t.cmid, t.content, \
                  $10, t.sound, t.mentions::uuid[], \
                  to_tsvector('{TS_CONFIG}'::regconfig, t.content) \
           FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::uuid[], $5::bigint[], \
                       $6::uuid[], $7::text[], $8::text[], $9::text[]) \
             AS t(room_key, seq, change_seq, id, creator_key, cmid, content, sound, mentions)), \
         heads AS ( \
           UPDATE rooms r SET last_seq = h.seq, last_change_seq = h.change_seq, \
                  last_message_at = $10 \
           FROM unnest($11::bigint[], $12::bigint[], $13::bigint[]) AS h(key, seq, change_seq) \
           WHERE r.key = h.key) \
         UPDATE memberships mb SET last_read_seq = rd.seq \
         FROM unnest($14::bigint[], $15::bigint[], $16::bigint[]) AS rd(room_key, user_key, seq) \
         WHERE mb.room_key = rd.room_key AND mb.user_key = rd.user_key"
    )
}
