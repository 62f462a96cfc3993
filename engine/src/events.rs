//! What subscribers receive.

use std::sync::{Arc, OnceLock};
use std::time::Instant;

use crate::ids::{MessageId, RoomId, UserId};
use crate::model::{Involvement, Message, RoomSummary};

/// Something that happened in a room: what room subscriptions deliver and what plugins see
/// ([`crate::Plugin::on_event`]). User subscriptions deliver [`UserEvent`]s and the
/// notification stream [`Notification`]s. Lag, revocation and the end of a stream are not
/// events: receives return them as [`crate::RecvError`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// A message was posted (its `change_seq` is its place in the changes feed).
    MessageCreated(Message),
    /// A message's content changed.
    MessageEdited(Message),
    /// A message was deleted; the message is its tombstone.
    MessageDeleted(Message),
    /// A message asked for a sound to be played (`/play name`).
    Sound {
        /// Where.
        room_id: RoomId,
        /// Who played it.
        user_id: UserId,
        /// The message carrying it.
        message_id: MessageId,
        /// One of Campfire's sound names.
        name: String,
    },
    /// A member started or stopped typing.
    Typing {
        /// Where.
        room_id: RoomId,
        /// Who.
        user_id: UserId,
        /// True for started, false for stopped.
        active: bool,
    },
    /// A member's first connection to the room appeared, or their last one went away.
    Presence {
        /// Where.
        room_id: RoomId,
        /// Who.
        user_id: UserId,
        /// True for online, false for offline.
        online: bool,
    },
    /// Someone joined or left the room.
    MembershipChanged {
        /// Where.
        room_id: RoomId,
        /// Who.
        user_id: UserId,
        /// True when added, false when removed.
        joined: bool,
    },
}

/// What a user subscription delivers: the user's room list and their access. The stream
/// ends with [`crate::RecvError::Revoked`] when the user is deactivated (also by another
/// process on the same database).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum UserEvent {
    /// The user became a member of a room, e.g. a new direct room.
    RoomJoined(RoomSummary),
    /// The user is no longer a member of a room.
    RoomLeft {
        /// The room.
        room_id: RoomId,
    },
    /// A room's head or the user's read position moved.
    Unread {
        /// The room.
        room_id: RoomId,
        /// Messages after the user's read position.
        unread: u64,
        /// The room's newest `seq`.
        head_seq: u64,
    },
    /// The user's involvement in a room changed.
    InvolvementChanged {
        /// The room.
        room_id: RoomId,
        /// The new level.
        involvement: Involvement,
    },
    /// One or more of the user's sessions ended (logout, `revoke_session`,
    /// `revoke_all_sessions`), in this process or another one on the same database. A host
    /// that keeps connections authenticated by a token checks each of this user's tokens
    /// again ([`crate::Engine::authenticate`]) and closes those refused. May arrive more
    /// than once for one change; checking again is harmless.
    SessionsRevoked,
}

/// One item of the notification stream: these members should be told about this message
/// (involvement `everything`, or `mentions` and mentioned; never the author; not present in
/// the room).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Notification {
    /// The new message.
    pub message: Message,
    /// Whom to notify.
    pub users: Vec<UserId>,
}

impl Event {
    /// The room the event belongs to (always set; an `Option` for compatibility).
    pub fn room_id(&self) -> Option<RoomId> {
        match self {
            Event::MessageCreated(m) | Event::MessageEdited(m) | Event::MessageDeleted(m) => {
                Some(m.room_id)
            }
            Event::Sound { room_id, .. }
            | Event::Typing { room_id, .. }
            | Event::Presence { room_id, .. }
            | Event::MembershipChanged { room_id, .. } => Some(*room_id),
        }
    }

    /// The change sequence value of a message event.
    pub fn change_seq(&self) -> Option<u64> {
        match self {
            Event::MessageCreated(m) | Event::MessageEdited(m) | Event::MessageDeleted(m) => {
                Some(m.change_seq)
            }
            _ => None,
        }
    }
}

/// An event as delivered: built once and shared by every subscriber that receives it,
/// with room for one encoding (e.g. a JSON frame) that the first host to ask makes and every
/// other reuses.
#[derive(Debug)]
pub struct Shared {
    event: Event,
    encoded: OnceLock<Arc<[u8]>>,
    published: Instant,
}

impl Shared {
    pub(crate) fn new(event: Event) -> Arc<Shared> {
        Arc::new(Shared {
            event,
            encoded: OnceLock::new(),
            published: Instant::now(),
        })
    }

    /// When the engine made the event: for changes, right after their COMMIT, before
    /// fan-out. Lets a host measure how long delivery took.
    pub fn published(&self) -> Instant {
        self.published
    }

    /// The event.
    pub fn event(&self) -> &Event {
        &self.event
    }

    /// The event's encoding, made by `encode` the first time and shared afterwards. All
    /// callers must use the same encoding for a given engine.
    pub fn encoded(&self, encode: impl FnOnce(&Event) -> Vec<u8>) -> Arc<[u8]> {
        self.encoded
            .get_or_init(|| encode(&self.event).into())
            .clone()
    }
}

/// What subscriptions hand out.
pub type SharedEvent = Arc<Shared>;
