//! Everything the writer thread can do, one command at a time, inside its transaction.
//!
//! Each command runs in its own savepoint: a failing command leaves no trace and does not
//! fail the others committed with it.

mod accounts;
mod messages;
mod rooms;

use rusqlite::Connection;

use crate::error::{Error, Result};
use crate::ids::{MessageId, RoomId, UserId};
use crate::live::Change;
use crate::model::{Involvement, Message, Posted, Role, Room, RoomKind, User};
use crate::ratelimit::{PostLimiter, RateLimit};
use crate::store::savepoint::Savepoint;

/// What a bot is created with: the hash of its key and the secret its webhook calls are
/// signed with.
#[derive(Debug)]
pub(crate) struct BotSecrets {
    pub(crate) key_hash: [u8; 32],
    pub(crate) webhook_secret: String,
}

/// Where a command's result goes: called once, after COMMIT (or with the error that
/// stopped it), on the writer thread. Each command has its own result type, so a caller
/// gets exactly what it asked for.
pub(crate) type Reply<T> = Box<dyn FnOnce(Result<T>) + Send>;

/// A write, as sent to the writer, with its typed reply.
pub(crate) enum Op {
    CreateUser {
        login: String,
        name: String,
        password_hash: Option<String>,
        role: Role,
        bot: Option<BotSecrets>,
        reply: Reply<User>,
    },
    DeactivateUser {
        user: UserId,
        reply: Reply<()>,
    },
    SetWebhook {
        bot: UserId,
        url: Option<String>,
        reply: Reply<()>,
    },
    SetWebhookSecret {
        bot: UserId,
        secret: String,
        reply: Reply<()>,
    },
    CreateSession {
        token_hash: [u8; 32],
        user: UserId,
        expires_at: i64,
        reply: Reply<()>,
    },
    ExtendSession {
        token_hash: [u8; 32],
        expires_at: i64,
        reply: Reply<()>,
    },
    /// Replies with how many sessions ended (0 or 1).
    RevokeSession {
        token_hash: [u8; 32],
        reply: Reply<u64>,
    },
    /// Replies with how many sessions ended.
    RevokeAllSessions {
        user: UserId,
        reply: Reply<u64>,
    },
    CreateRoom {
        creator: UserId,
        kind: RoomKind,
        name: String,
        members: Vec<UserId>,
        reply: Reply<Room>,
    },
    DirectRoom {
        creator: UserId,
        users: Vec<UserId>,
        reply: Reply<Room>,
    },
    AddMember {
        actor: UserId,
        room: RoomId,
        user: UserId,
        reply: Reply<()>,
    },
    RemoveMember {
        actor: UserId,
        room: RoomId,
        user: UserId,
        reply: Reply<()>,
    },
    SetInvolvement {
        user: UserId,
        room: RoomId,
        involvement: Involvement,
        reply: Reply<()>,
    },
    /// Replies with the unread count after the move.
    MarkRead {
        user: UserId,
        room: RoomId,
        seq: u64,
        reply: Reply<u64>,
    },
    Post {
        post: PostDraft,
        reply: Reply<Posted>,
    },
    Edit {
        user: UserId,
        message: MessageId,
        content: String,
        reply: Reply<Message>,
    },
    Delete {
        user: UserId,
        message: MessageId,
        reply: Reply<Message>,
    },
}

/// A post ready for the writer: content already normalised, plugins already run.
#[derive(Debug)]
pub(crate) struct PostDraft {
    pub user: UserId,
    pub room: RoomId,
    pub client_message_id: crate::ids::ClientMessageId,
    pub content: String,
    pub sound: Option<String>,
}

/// Given the batch's commit result, answers one caller.
type Answer = Box<dyn FnOnce(&Result<()>) + Send>;

/// A command that ran in the batch, holding its result until the batch's COMMIT.
pub(crate) struct Ran {
    /// The command failed (and was rolled back alone).
    pub failed: bool,
    answer: Answer,
}

impl Ran {
    /// Answers the caller: the command's result if the batch committed, else the
    /// commit's error.
    pub(crate) fn answer(self, committed: &Result<()>) {
        (self.answer)(committed)
    }
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
/// writes and its effects alone, and the batch's other commands go on. With `refuse` set
/// (the transaction could not start) the command is not run and fails with that error.
pub(crate) fn run(conn: &Connection, op: Op, cx: &mut Cx<'_>, refuse: Option<&Error>) -> Ran {
    let now = cx.now;
    match op {
        Op::CreateUser {
            login,
            name,
            password_hash,
            role,
            bot,
            reply,
        } => step(conn, cx, refuse, reply, |c, cx| {
            accounts::create_user(c, &login, &name, password_hash, role, bot, cx)
        }),
        Op::DeactivateUser { user, reply } => step(conn, cx, refuse, reply, |c, cx| {
            accounts::deactivate(c, user, cx)
        }),
        Op::SetWebhook { bot, url, reply } => step(conn, cx, refuse, reply, |c, _| {
            accounts::set_webhook(c, bot, url)
        }),
        Op::SetWebhookSecret { bot, secret, reply } => step(conn, cx, refuse, reply, |c, _| {
            accounts::set_webhook_secret(c, bot, secret)
        }),
        Op::CreateSession {
            token_hash,
            user,
            expires_at,
            reply,
        } => step(conn, cx, refuse, reply, |c, _| {
            accounts::create_session(c, &token_hash, user, expires_at, now)
        }),
        Op::ExtendSession {
            token_hash,
            expires_at,
            reply,
        } => step(conn, cx, refuse, reply, |c, _| {
            accounts::extend_session(c, &token_hash, expires_at)
        }),
        Op::RevokeSession { token_hash, reply } => step(conn, cx, refuse, reply, |c, cx| {
            accounts::revoke_session(c, &token_hash, cx)
        }),
        Op::RevokeAllSessions { user, reply } => step(conn, cx, refuse, reply, |c, cx| {
            accounts::revoke_all_sessions(c, user, cx)
        }),
        Op::CreateRoom {
            creator,
            kind,
            name,
            members,
            reply,
        } => step(conn, cx, refuse, reply, |c, cx| {
            rooms::create_room(c, creator, kind, &name, &members, cx)
        }),
        Op::DirectRoom {
            creator,
            users,
            reply,
        } => step(conn, cx, refuse, reply, |c, cx| {
            rooms::direct_room(c, creator, users, cx)
        }),
        Op::AddMember {
            actor,
            room,
            user,
            reply,
        } => step(conn, cx, refuse, reply, |c, cx| {
            rooms::add_member(c, actor, room, user, cx)
        }),
        Op::RemoveMember {
            actor,
            room,
            user,
            reply,
        } => step(conn, cx, refuse, reply, |c, cx| {
            rooms::remove_member(c, actor, room, user, cx)
        }),
        Op::SetInvolvement {
            user,
            room,
            involvement,
            reply,
        } => step(conn, cx, refuse, reply, |c, cx| {
            rooms::set_involvement(c, user, room, involvement, cx)
        }),
        Op::MarkRead {
            user,
            room,
            seq,
            reply,
        } => step(conn, cx, refuse, reply, |c, cx| {
            rooms::mark_read(c, user, room, seq, cx)
        }),
        Op::Post { post, reply } => step(conn, cx, refuse, reply, |c, cx| {
            messages::post(
                c,
                post.user,
                post.room,
                post.client_message_id,
                post.content,
                post.sound,
                cx,
            )
        }),
        Op::Edit {
            user,
            message,
            content,
            reply,
        } => step(conn, cx, refuse, reply, |c, cx| {
            messages::edit(c, user, message, content, cx)
        }),
        Op::Delete {
            user,
            message,
            reply,
        } => step(conn, cx, refuse, reply, |c, cx| {
            messages::delete(c, user, message, cx)
        }),
    }
}

/// Runs `command` in a savepoint (undone, effects included, when it fails) and keeps its
/// typed result for the answer after COMMIT.
fn step<T: Send + 'static>(
    conn: &Connection,
    cx: &mut Cx<'_>,
    refuse: Option<&Error>,
    reply: Reply<T>,
    command: impl FnOnce(&Connection, &mut Cx<'_>) -> Result<T>,
) -> Ran {
    let result = match refuse {
        Some(e) => Err(e.clone()),
        None => in_savepoint(conn, cx, command),
    };
    Ran {
        failed: result.is_err(),
        answer: Box::new(move |committed| {
            reply(match committed {
                Ok(()) => result,
                Err(e) => Err(e.clone()),
            })
        }),
    }
}

fn in_savepoint<T>(
    conn: &Connection,
    cx: &mut Cx<'_>,
    command: impl FnOnce(&Connection, &mut Cx<'_>) -> Result<T>,
) -> Result<T> {
    let (changes, fts_queued) = (cx.fx.changes.len(), cx.fx.fts_queued);
    let savepoint = Savepoint::begin(conn)?;
    let result = command(conn, cx).and_then(|out| savepoint.release().map(|()| out));
    if result.is_err() {
        // The savepoint was rolled back when dropped; its effects go too.
        cx.fx.changes.truncate(changes);
        cx.fx.fts_queued = fts_queued;
    }
    result
}
