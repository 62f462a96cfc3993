//! The writes the writer thread runs, shared by both stores: each [`Op`] carries its input
//! and its typed reply. A store runs an operation by reference ([`Op`] stays whole until
//! its batch commits, so a store may run a batch again after a transient failure) and
//! answers it after COMMIT with [`Op::answer`].

use crate::error::{Error, Result};
use crate::ids::{MessageId, RoomId, UserId};
use crate::live::Change;
use crate::model::{Involvement, Message, Posted, Role, Room, RoomKind, User};
use crate::ratelimit::{PostLimiter, RateLimit};

/// What a bot is created with: the hash of its key and the secret its webhook calls are
/// signed with.
#[derive(Clone, Debug)]
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

/// What an operation produced, before it is handed to its typed reply.
#[derive(Debug)]
pub(crate) enum Done {
    Unit,
    Count(u64),
    User(User),
    Room(Room),
    Posted(Posted),
    Message(Message),
}

/// A result type an operation may reply with, taken back out of [`Done`].
trait FromDone: Sized {
    fn from_done(done: Done) -> Option<Self>;
}

macro_rules! from_done {
    ($($variant:ident => $t:ty),* $(,)?) => {$(
        impl FromDone for $t {
            fn from_done(done: Done) -> Option<Self> {
                match done {
                    Done::$variant(v) => Some(v),
                    _ => None,
                }
            }
        }
    )*};
}
from_done!(Count => u64, User => User, Room => Room, Posted => Posted, Message => Message);

impl FromDone for () {
    fn from_done(done: Done) -> Option<Self> {
        matches!(done, Done::Unit).then_some(())
    }
}

fn deliver<T: FromDone>(reply: Reply<T>, result: Result<Done>) {
    reply(result.and_then(|done| {
        T::from_done(done).ok_or_else(|| {
            Error::Storage("internal error: a store answered with the wrong result type".into())
        })
    }))
}

impl Op {
    /// Hands the outcome to the caller (after COMMIT, or with the error that stopped it).
    pub(crate) fn answer(self, result: Result<Done>) {
        match self {
            Op::CreateUser { reply, .. } => deliver(reply, result),
            Op::DeactivateUser { reply, .. }
            | Op::SetWebhook { reply, .. }
            | Op::SetWebhookSecret { reply, .. }
            | Op::CreateSession { reply, .. }
            | Op::ExtendSession { reply, .. }
            | Op::AddMember { reply, .. }
            | Op::RemoveMember { reply, .. }
            | Op::SetInvolvement { reply, .. } => deliver(reply, result),
            Op::RevokeSession { reply, .. }
            | Op::RevokeAllSessions { reply, .. }
            | Op::MarkRead { reply, .. } => deliver(reply, result),
            Op::CreateRoom { reply, .. } | Op::DirectRoom { reply, .. } => deliver(reply, result),
            Op::Post { reply, .. } => deliver(reply, result),
            Op::Edit { reply, .. } | Op::Delete { reply, .. } => deliver(reply, result),
        }
    }
}

/// A batch that ran: whether its transaction committed, and every operation with its
/// outcome, in the order they ran.
pub(crate) struct Batch {
    pub committed: Result<()>,
    pub ran: Vec<(Op, Result<Done>)>,
}

impl Batch {
    /// Operations that failed (each rolled back alone; the others committed).
    pub(crate) fn failed(&self) -> usize {
        self.ran.iter().filter(|(_, r)| r.is_err()).count()
    }

    /// Answers every caller, in order: its own result if the batch committed, else the
    /// commit's error.
    pub(crate) fn answer(self) {
        for (op, result) in self.ran {
            op.answer(match &self.committed {
                Ok(()) => result,
                Err(e) => Err(e.clone()),
            });
        }
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
