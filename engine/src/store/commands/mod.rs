//! Everything the writer thread can do, one command at a time, inside its transaction.
//!
//! Each command runs in its own savepoint: a failing command leaves no trace and does not
//! fail the others committed with it.

mod accounts;
mod messages;
mod rooms;

use rusqlite::Connection;

use crate::error::Result;
use crate::ids::{MessageId, RoomId, UserId};
use crate::live::Change;
use crate::model::{Involvement, Message, Posted, Role, Room, RoomKind, User};
use crate::ratelimit::{PostLimiter, RateLimit};

/// A write, as sent to the writer.
#[derive(Debug)]
pub(crate) enum Op {
    CreateUser {
        login: String,
        name: String,
        password_hash: Option<String>,
        role: Role,
        bot_key_hash: Option<[u8; 32]>,
    },
    DeactivateUser {
        user: UserId,
    },
    SetWebhook {
        bot: UserId,
        url: Option<String>,
    },
    CreateSession {
        token_hash: [u8; 32],
        user: UserId,
        expires_at: i64,
    },
    ExtendSession {
        token_hash: [u8; 32],
        expires_at: i64,
    },
    RevokeSession {
        token_hash: [u8; 32],
    },
    RevokeAllSessions {
        user: UserId,
    },
    CreateRoom {
        creator: UserId,
        kind: RoomKind,
        name: String,
        members: Vec<UserId>,
    },
    DirectRoom {
        creator: UserId,
        users: Vec<UserId>,
    },
    AddMember {
        actor: UserId,
        room: RoomId,
        user: UserId,
    },
    RemoveMember {
        actor: UserId,
        room: RoomId,
        user: UserId,
    },
    SetInvolvement {
        user: UserId,
        room: RoomId,
        involvement: Involvement,
    },
    MarkRead {
        user: UserId,
        room: RoomId,
        seq: u64,
    },
    /// Content already normalised by the caller.
    Post {
        user: UserId,
        room: RoomId,
        client_message_id: crate::ids::ClientMessageId,
        content: String,
        sound: Option<String>,
    },
    Edit {
        user: UserId,
        message: MessageId,
        content: String,
    },
    Delete {
        user: UserId,
        message: MessageId,
    },
}

/// What a command produced.
#[derive(Debug)]
pub(crate) enum Outcome {
    Done,
    Count(u64),
    User(User),
    Room(Room),
    Posted(Posted),
    Message(Message),
}

/// Side effects of a batch that the writer acts on after COMMIT.
#[derive(Default)]
pub(crate) struct Effects {
    /// Messages queued for full-text indexing.
    pub fts_queued: u64,
    /// What subscribers must hear about, in commit order.
    pub changes: Vec<Change>,
}

/// What a command may use besides the connection.
pub(crate) struct Cx<'a> {
    /// The batch's time (ms).
    pub now: i64,
    /// Posting rate limits.
    pub limiter: &'a mut PostLimiter,
    /// Bucket shapes for people and bots.
    pub limits: (RateLimit, RateLimit),
    /// The engine instance, as it signs the access log.
    pub origin: i64,
    /// Effects of the commands so far.
    pub fx: Effects,
}

/// Runs one command in its own savepoint of the open transaction: a failure undoes its
/// writes and its effects alone, and the batch's other commands go on. The savepoint
/// statements are prepared once (`rusqlite::Savepoint` parses its SQL at every use, a
/// measurable share of a small command).
pub(crate) fn apply_in_savepoint(conn: &Connection, op: Op, cx: &mut Cx<'_>) -> Result<Outcome> {
    let (changes, fts_queued) = (cx.fx.changes.len(), cx.fx.fts_queued);
    conn.prepare_cached("SAVEPOINT command")?.execute([])?;
    let result = apply(conn, op, cx).and_then(|out| {
        conn.prepare_cached("RELEASE command")?.execute([])?;
        Ok(out)
    });
    if result.is_err() {
        cx.fx.changes.truncate(changes);
        cx.fx.fts_queued = fts_queued;
        conn.prepare_cached("ROLLBACK TO command")?.execute([])?;
        conn.prepare_cached("RELEASE command")?.execute([])?;
    }
    result
}

/// Runs one command against the writer's connection (inside a savepoint).
pub(crate) fn apply(conn: &Connection, op: Op, cx: &mut Cx<'_>) -> Result<Outcome> {
    let now = cx.now;
    match op {
        Op::CreateUser {
            login,
            name,
            password_hash,
            role,
            bot_key_hash,
        } => accounts::create_user(conn, &login, &name, password_hash, role, bot_key_hash, cx),
        Op::DeactivateUser { user } => accounts::deactivate(conn, user, cx),
        Op::SetWebhook { bot, url } => accounts::set_webhook(conn, bot, url),
        Op::CreateSession {
            token_hash,
            user,
            expires_at,
        } => accounts::create_session(conn, &token_hash, user, expires_at, now),
        Op::ExtendSession {
            token_hash,
            expires_at,
        } => accounts::extend_session(conn, &token_hash, expires_at),
        Op::RevokeSession { token_hash } => accounts::revoke_session(conn, &token_hash, cx),
        Op::RevokeAllSessions { user } => accounts::revoke_all_sessions(conn, user, cx),
        Op::CreateRoom {
            creator,
            kind,
            name,
            members,
        } => rooms::create_room(conn, creator, kind, &name, &members, cx),
        Op::DirectRoom { creator, users } => rooms::direct_room(conn, creator, users, cx),
        Op::AddMember { actor, room, user } => rooms::add_member(conn, actor, room, user, cx),
        Op::RemoveMember { actor, room, user } => rooms::remove_member(conn, actor, room, user, cx),
        Op::SetInvolvement {
            user,
            room,
            involvement,
        } => rooms::set_involvement(conn, user, room, involvement, cx),
        Op::MarkRead { user, room, seq } => rooms::mark_read(conn, user, room, seq, cx),
        Op::Post {
            user,
            room,
            client_message_id,
            content,
            sound,
        } => messages::post(conn, user, room, client_message_id, content, sound, cx),
        Op::Edit {
            user,
            message,
            content,
        } => messages::edit(conn, user, message, content, cx),
        Op::Delete { user, message } => messages::delete(conn, user, message, cx),
    }
}
