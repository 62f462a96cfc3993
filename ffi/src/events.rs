//! Events as C sees them: one struct with a kind and the fields that kind uses.

use std::ffi::c_char;
use std::ptr::null_mut;

use ::ember_engine::{Event, Notification, RecvError, RoomId, UserEvent};

use crate::boundary::{
    c_string, free_box, free_c_string, free_raw_slice, guard_value, into_raw_slice,
};
use crate::ids::ember_uuid;
use crate::messages::{boxed_message, ember_message};
use crate::rooms::{ember_involvement, ember_room_summary};

/// What happened. The numbers are fixed; new kinds are only added, so a host must ignore
/// kinds it does not know.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ember_event_kind {
    /// An event this version of the ABI has no kind for.
    EMBER_EVENT_UNKNOWN = 0,
    /// A message was posted: `message`.
    EMBER_EVENT_MESSAGE_CREATED = 1,
    /// A message's content changed: `message`.
    EMBER_EVENT_MESSAGE_EDITED = 2,
    /// A message was deleted: `message` is its tombstone.
    EMBER_EVENT_MESSAGE_DELETED = 3,
    /// `/play`: `room_id`, `user_id`, `message_id`, `name` (the sound).
    EMBER_EVENT_SOUND = 4,
    /// `user_id` started (`flag` true) or stopped typing in `room_id`.
    EMBER_EVENT_TYPING = 5,
    /// `user_id` came online (`flag` true) or went offline in `room_id`.
    EMBER_EVENT_PRESENCE = 6,
    /// `user_id` joined (`flag` true) or left `room_id`.
    EMBER_EVENT_MEMBERSHIP = 7,
    /// (User subscriptions) the user became a member of a room: `room`.
    EMBER_EVENT_ROOM_JOINED = 8,
    /// (User subscriptions) the user is no longer a member of `room_id`.
    EMBER_EVENT_ROOM_LEFT = 9,
    /// (User subscriptions) `room_id`'s `unread` count or `head_seq` changed.
    EMBER_EVENT_UNREAD = 10,
    /// (User subscriptions) the user's `involvement` in `room_id` changed.
    EMBER_EVENT_INVOLVEMENT = 11,
    /// (Plugins) these `users` should be notified of `message`.
    EMBER_EVENT_NOTIFY = 12,
    /// The subscription fell behind and ends: subscribe again with `since = resume_from`.
    EMBER_EVENT_LAGGED = 13,
    /// The subscription ends because the user lost access (`room_id` for a room).
    EMBER_EVENT_REVOKED = 14,
    /// (Callback subscriptions only) the last call: the stream ended; `flag` is true when
    /// it ended because the engine closed.
    EMBER_EVENT_ENDED = 15,
    /// (User subscriptions) some of the user's sessions ended (logout, revocation), here or
    /// in another process on the same database: check the tokens you hold for this user
    /// again (`ember_authenticate`) and drop those refused. May come more than once.
    EMBER_EVENT_SESSIONS_REVOKED = 16,
}

/// An event. Owned by the caller when `ember_subscription_next` hands it out (free with
/// `ember_event_free`); borrowed for the duration of the call when passed to a callback.
/// Fields a kind does not use are zero / NULL.
#[repr(C)]
#[derive(Debug)]
pub struct ember_event {
    /// What happened; decides which fields are set.
    pub kind: ember_event_kind,
    /// The room, for room-level events and `ROOM_LEFT`, `UNREAD`, `INVOLVEMENT`, `REVOKED`.
    pub room_id: ember_uuid,
    /// The user, for `SOUND`, `TYPING`, `PRESENCE`, `MEMBERSHIP`.
    pub user_id: ember_uuid,
    /// The message carrying a `SOUND`.
    pub message_id: ember_uuid,
    /// The message, for `MESSAGE_*` and `NOTIFY`; belongs to the event.
    pub message: *mut ember_message,
    /// The joined room, for `ROOM_JOINED`; belongs to the event.
    pub room: *mut ember_room_summary,
    /// Typing started, came online, joined; for `ENDED`, the engine closed.
    pub flag: bool,
    /// The sound's name for `SOUND` (UTF-8); belongs to the event.
    pub name: *mut c_char,
    /// `UNREAD`: messages after the user's read position.
    pub unread: u64,
    /// `UNREAD`: the room's newest `seq`.
    pub head_seq: u64,
    /// `INVOLVEMENT`: the new level.
    pub involvement: ember_involvement,
    /// `LAGGED`: the cursor to subscribe again from.
    pub resume_from: u64,
    /// `NOTIFY`: whom to notify (NULL when `users_len` is 0); belongs to the event.
    pub users: *mut ember_uuid,
    /// `NOTIFY`: how many.
    pub users_len: usize,
}

impl ember_event {
    fn empty(kind: ember_event_kind) -> Self {
        ember_event {
            kind,
            room_id: ember_uuid::default(),
            user_id: ember_uuid::default(),
            message_id: ember_uuid::default(),
            message: null_mut(),
            room: null_mut(),
            flag: false,
            name: null_mut(),
            unread: 0,
            head_seq: 0,
            involvement: ember_involvement::EMBER_INVOLVEMENT_NOTHING,
            resume_from: 0,
            users: null_mut(),
            users_len: 0,
        }
    }

    /// The end of a callback subscription's stream.
    pub(crate) fn ended(engine_closed: bool) -> Self {
        ember_event {
            flag: engine_closed,
            ..ember_event::empty(ember_event_kind::EMBER_EVENT_ENDED)
        }
    }

    /// The C form of an engine event (deep copy).
    pub(crate) fn from_event(event: &Event) -> Self {
        use ember_event_kind::*;
        let room_event =
            |kind, room_id: ::ember_engine::RoomId, user_id: ::ember_engine::UserId| ember_event {
                room_id: room_id.into(),
                user_id: user_id.into(),
                ..ember_event::empty(kind)
            };
        match event.clone() {
            Event::MessageCreated(m) => message_event(EMBER_EVENT_MESSAGE_CREATED, m),
            Event::MessageEdited(m) => message_event(EMBER_EVENT_MESSAGE_EDITED, m),
            Event::MessageDeleted(m) => message_event(EMBER_EVENT_MESSAGE_DELETED, m),
            Event::Sound {
                room_id,
                user_id,
                message_id,
                name,
            } => ember_event {
                message_id: message_id.into(),
                name: c_string(name),
                ..room_event(EMBER_EVENT_SOUND, room_id, user_id)
            },
            Event::Typing {
                room_id,
                user_id,
                active,
            } => ember_event {
                flag: active,
                ..room_event(EMBER_EVENT_TYPING, room_id, user_id)
            },
            Event::Presence {
                room_id,
                user_id,
                online,
            } => ember_event {
                flag: online,
                ..room_event(EMBER_EVENT_PRESENCE, room_id, user_id)
            },
            Event::MembershipChanged {
                room_id,
                user_id,
                joined,
            } => ember_event {
                flag: joined,
                ..room_event(EMBER_EVENT_MEMBERSHIP, room_id, user_id)
            },
            _ => ember_event::empty(EMBER_EVENT_UNKNOWN),
        }
    }

    /// The C form of a user subscription's event.
    pub(crate) fn from_user_event(event: UserEvent) -> Self {
        use ember_event_kind::*;
        match event {
            UserEvent::RoomJoined(summary) => ember_event {
                room_id: summary.room.id.into(),
                room: Box::into_raw(Box::new(summary.into())),
                ..ember_event::empty(EMBER_EVENT_ROOM_JOINED)
            },
            UserEvent::RoomLeft { room_id } => ember_event {
                room_id: room_id.into(),
                ..ember_event::empty(EMBER_EVENT_ROOM_LEFT)
            },
            UserEvent::Unread {
                room_id,
                unread,
                head_seq,
            } => ember_event {
                room_id: room_id.into(),
                unread,
                head_seq,
                ..ember_event::empty(EMBER_EVENT_UNREAD)
            },
            UserEvent::InvolvementChanged {
                room_id,
                involvement,
            } => ember_event {
                room_id: room_id.into(),
                involvement: involvement.into(),
                ..ember_event::empty(EMBER_EVENT_INVOLVEMENT)
            },
            UserEvent::SessionsRevoked => ember_event::empty(EMBER_EVENT_SESSIONS_REVOKED),
            _ => ember_event::empty(EMBER_EVENT_UNKNOWN),
        }
    }

    /// The C form of a notification.
    pub(crate) fn from_notification(note: Notification) -> Self {
        // Not `..message_event(..)`: that would copy the message pointer out of a
        // temporary whose Drop then frees it.
        let mut e = message_event(ember_event_kind::EMBER_EVENT_NOTIFY, note.message);
        (e.users, e.users_len) = into_raw_slice(note.users.into_iter().map(Into::into).collect());
        e
    }

    /// The event C receives before the end of a stream that lagged or was revoked (the ABI
    /// announces those as events, then `EMBER_ERR_ENDED`); `None` for a plain end.
    pub(crate) fn from_end(end: RecvError, room: Option<RoomId>) -> Option<Self> {
        use ember_event_kind::*;
        match end {
            RecvError::Lagged { resume_from } => Some(ember_event {
                resume_from,
                ..ember_event::empty(EMBER_EVENT_LAGGED)
            }),
            RecvError::Revoked => Some(ember_event {
                room_id: room.map(Into::into).unwrap_or_default(),
                ..ember_event::empty(EMBER_EVENT_REVOKED)
            }),
            RecvError::Closed => None,
        }
    }
}

fn message_event(kind: ember_event_kind, m: ::ember_engine::Message) -> ember_event {
    ember_event {
        room_id: m.room_id.into(),
        user_id: m.creator_id.into(),
        message_id: m.id.into(),
        message: boxed_message(m),
        ..ember_event::empty(kind)
    }
}

impl Drop for ember_event {
    fn drop(&mut self) {
        free_box(self.message);
        free_box(self.room);
        free_c_string(self.name);
        free_raw_slice(self.users, self.users_len);
    }
}

/// Frees an event handed out by `ember_subscription_next`, with everything it points to.
/// NULL is ignored. Never call it on an event passed to a callback.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ember_event_free(event: *mut ember_event) {
    guard_value((), || free_box(event))
}
