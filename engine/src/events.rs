//! What subscribers receive.

use std::sync::{Arc, OnceLock};
use std::time::Instant;

use crate::ids::{MessageId, RoomId, UserId};
use crate::model::{Involvement, Message, RoomSummary};

/// Something that happened. Room subscriptions get the room's events; user subscriptions
/// get the events about the user's room list; the notification stream gets [`Event::Notify`].
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
    /// (User subscriptions) the user became a member of a room, e.g. a new direct room.
    RoomJoined(RoomSummary),
    /// (User subscriptions) the user is no longer a member of a room.
    RoomLeft {
        /// The room.
        room_id: RoomId,
    },
    /// (User subscriptions) a room's head or the user's read position moved.
    Unread {
        /// The room.
        room_id: RoomId,
        /// Messages after the user's read position.
        unread: u64,
        /// The room's newest `seq`.
        head_seq: u64,
    },
    /// (User subscriptions) the user's involvement in a room changed.
    InvolvementChanged {
        /// The room.
        room_id: RoomId,
        /// The new level.
        involvement: Involvement,
    },
    /// (Notification stream) these members should be told about this message: involvement
    /// `everything`, or `mentions` and mentioned; never the author; not present in the room.
    Notify {
        /// The new message.
        message: Message,
        /// Whom to notify.
        users: Vec<UserId>,
    },
    /// The subscription fell behind and was detached. This is its last event; subscribe
    /// again with `since = resume_from` to lose nothing.
    Lagged {
        /// The last change sequence value delivered before this event.
        resume_from: u64,
    },
    /// The subscription ended because the user lost access (removed or deactivated).
    Revoked {
        /// The room, for a room subscription.
        room_id: Option<RoomId>,
    },
}

impl Event {
    /// The room a room-level event belongs to.
    pub fn room_id(&self) -> Option<RoomId> {
        match self {
            Event::MessageCreated(m) | Event::MessageEdited(m) | Event::MessageDeleted(m) => {
                Some(m.room_id)
            }
            Event::Sound { room_id, .. }
            | Event::Typing { room_id, .. }
            | Event::Presence { room_id, .. }
            | Event::MembershipChanged { room_id, .. } => Some(*room_id),
            _ => None,
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
