//! Every frame the server sends, typed: [`ServerFrame`] is the one place a frame's shape is
//! written (docs/protocol.md lists the same shapes; a test compares them). A room has one
//! shape everywhere ([`RoomJson`]), and so has a message ([`MessageJson`]) and a user
//! ([`UserJson`]).

use std::fmt::Display;

use ember_engine::{Event, Message, RoomSummary, User};
use serde::{Serialize, Serializer};
use serde_json::Value;

use super::outbox::Pieces;

/// The `ref` a client may attach to any frame: echoed verbatim in the reply.
pub type Ref = Option<Value>;

/// A frame from the server to a client.
#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerFrame<'a> {
    /// The first frame of every connection.
    Ready {
        /// The database's epoch: sequence numbers mean something only with it.
        epoch: &'a str,
        /// Who is connected.
        user: UserJson<'a>,
        /// The user's rooms.
        rooms: Vec<RoomJson<'a>>,
    },
    /// A subscription started (after its replay).
    Subscribed {
        /// The request's `ref`.
        #[serde(rename = "ref", skip_serializing_if = "no_ref")]
        reference: &'a Ref,
        /// The room.
        #[serde(serialize_with = "as_text")]
        room_id: &'a dyn Display,
        /// The room's newest `change_seq` when the subscription started.
        head_seq: u64,
        /// False when the replay was capped and the subscription ended after it.
        complete: bool,
        /// Members connected to the room.
        online: Vec<String>,
        /// The server's epoch.
        epoch: &'a str,
        /// The cursor was from another epoch or beyond the head: nothing was replayed.
        #[serde(skip_serializing_if = "is_false")]
        reset: bool,
    },
    /// A subscription ended: asked by the client, or on the server's side (`reason`).
    Unsubscribed {
        /// The request's `ref`.
        #[serde(rename = "ref", skip_serializing_if = "no_ref")]
        reference: &'a Ref,
        /// The room.
        #[serde(serialize_with = "as_text")]
        room_id: &'a dyn Display,
        /// Why the server ended it (`"ended"`); absent when the client asked.
        #[serde(skip_serializing_if = "Option::is_none")]
        reason: Option<&'a str>,
    },
    /// A message was posted, edited or deleted (also a replayed change).
    Message {
        /// Its current state.
        message: MessageJson<'a>,
    },
    /// A member started or stopped typing.
    Typing {
        /// Where.
        #[serde(serialize_with = "as_text")]
        room_id: &'a dyn Display,
        /// Who.
        #[serde(serialize_with = "as_text")]
        user_id: &'a dyn Display,
        /// Started or stopped.
        active: bool,
    },
    /// A member's first connection to a room appeared or their last went away.
    Presence {
        /// Where.
        #[serde(serialize_with = "as_text")]
        room_id: &'a dyn Display,
        /// Who.
        #[serde(serialize_with = "as_text")]
        user_id: &'a dyn Display,
        /// Online or offline.
        online: bool,
    },
    /// A `/play` message.
    Sound {
        /// Where.
        #[serde(serialize_with = "as_text")]
        room_id: &'a dyn Display,
        /// Who.
        #[serde(serialize_with = "as_text")]
        user_id: &'a dyn Display,
        /// The message carrying it.
        #[serde(serialize_with = "as_text")]
        message_id: &'a dyn Display,
        /// The sound.
        name: &'a str,
    },
    /// Someone joined or left a subscribed room.
    Membership {
        /// Where.
        #[serde(serialize_with = "as_text")]
        room_id: &'a dyn Display,
        /// Who.
        #[serde(serialize_with = "as_text")]
        user_id: &'a dyn Display,
        /// Joined or left.
        joined: bool,
    },
    /// The user's unread count in a room changed.
    Unread {
        /// The room.
        #[serde(serialize_with = "as_text")]
        room_id: &'a dyn Display,
        /// Messages after the user's read position.
        unread: u64,
    },
    /// The user became a member of a room.
    RoomJoined {
        /// The room, in the same shape as in `ready`.
        #[serde(flatten)]
        room: RoomJson<'a>,
    },
    /// The user is no longer a member of a room.
    RoomLeft {
        /// The room.
        #[serde(serialize_with = "as_text")]
        room_id: &'a dyn Display,
    },
    /// A write committed: `post`, `edit`, `delete` (with `message`) or `read` (`unread`).
    Ack {
        /// The request's `ref`.
        #[serde(rename = "ref", skip_serializing_if = "no_ref")]
        reference: &'a Ref,
        /// The message written.
        #[serde(skip_serializing_if = "Option::is_none")]
        message: Option<MessageJson<'a>>,
        /// For `post`: true when the client_message_id was already posted.
        #[serde(skip_serializing_if = "Option::is_none")]
        duplicate: Option<bool>,
        /// For `read`: the unread count after it.
        #[serde(skip_serializing_if = "Option::is_none")]
        unread: Option<u64>,
    },
    /// A page of history, ascending.
    History {
        /// The request's `ref`.
        #[serde(rename = "ref", skip_serializing_if = "no_ref")]
        reference: &'a Ref,
        /// The room.
        #[serde(serialize_with = "as_text")]
        room_id: &'a dyn Display,
        /// The messages.
        messages: Vec<MessageJson<'a>>,
    },
    /// Search results, newest first.
    SearchResults {
        /// The request's `ref`.
        #[serde(rename = "ref", skip_serializing_if = "no_ref")]
        reference: &'a Ref,
        /// The messages.
        messages: Vec<MessageJson<'a>>,
    },
    /// The answer to `ping`.
    Pong {
        /// The request's `ref`.
        #[serde(rename = "ref", skip_serializing_if = "no_ref")]
        reference: &'a Ref,
    },
    /// A request failed; the connection stays open.
    Error {
        /// The request's `ref`, when it could be read.
        #[serde(rename = "ref", skip_serializing_if = "no_ref")]
        reference: &'a Ref,
        /// One of the protocol's error codes.
        code: &'a str,
        /// For a person.
        message: &'a str,
        /// For `rate_limited`: when to try again.
        #[serde(skip_serializing_if = "Option::is_none")]
        retry_after_ms: Option<u64>,
    },
}

impl<'a> ServerFrame<'a> {
    /// The frame announcing a room event, or `None` for events the protocol does not carry.
    pub fn from_event(event: &'a Event) -> Option<Self> {
        Some(match event {
            Event::MessageCreated(m) | Event::MessageEdited(m) | Event::MessageDeleted(m) => {
                ServerFrame::Message {
                    message: MessageJson::from(m),
                }
            }
            Event::Typing {
                room_id,
                user_id,
                active,
            } => ServerFrame::Typing {
                room_id,
                user_id,
                active: *active,
            },
            Event::Presence {
                room_id,
                user_id,
                online,
            } => ServerFrame::Presence {
                room_id,
                user_id,
                online: *online,
            },
            Event::Sound {
                room_id,
                user_id,
                message_id,
                name,
            } => ServerFrame::Sound {
                room_id,
                user_id,
                message_id,
                name,
            },
            Event::MembershipChanged {
                room_id,
                user_id,
                joined,
            } => ServerFrame::Membership {
                room_id,
                user_id,
                joined: *joined,
            },
            _ => return None,
        })
    }

    /// The frame as JSON text.
    pub fn encode(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_else(|e| {
            log::error!("cannot encode a frame: {e}");
            Vec::new()
        })
    }

    /// The frame as JSON text in pieces of [`PIECE`](super::outbox::PIECE) bytes, each
    /// freed once written (a page of large messages is several MB).
    pub fn encode_pieces(&self) -> Vec<bytes::Bytes> {
        to_pieces(self)
    }
}

/// `value` as JSON in pieces of [`PIECE`](super::outbox::PIECE) bytes.
pub fn to_pieces(value: &impl Serialize) -> Vec<bytes::Bytes> {
    let mut out = Pieces::default();
    match serde_json::to_writer(&mut out, value) {
        Ok(()) => out.finish(),
        Err(e) => {
            log::error!("cannot encode a frame: {e}");
            Vec::new()
        }
    }
}

/// Encodes a room event as frame bytes; empty for events that have no frame.
pub fn encode_event(event: &Event) -> Vec<u8> {
    ServerFrame::from_event(event)
        .map(|f| f.encode())
        .unwrap_or_default()
}

/// A message as the protocol shows it (M in docs/protocol.md).
#[derive(Serialize)]
pub struct MessageJson<'a> {
    /// Its id.
    #[serde(serialize_with = "as_text")]
    pub id: &'a dyn Display,
    /// Its position in the room.
    pub seq: u64,
    /// The room's change sequence value of its latest change.
    pub change_seq: u64,
    /// The room.
    #[serde(serialize_with = "as_text")]
    pub room_id: &'a dyn Display,
    /// Who wrote it.
    #[serde(serialize_with = "as_text")]
    pub creator_id: &'a dyn Display,
    /// The id the client chose.
    #[serde(serialize_with = "as_text")]
    pub client_message_id: &'a dyn Display,
    /// The text (empty for a tombstone).
    pub content: &'a str,
    /// Milliseconds since the Unix epoch.
    pub created_at: i64,
    /// When last edited.
    pub edited_at: Option<i64>,
    /// A tombstone.
    pub deleted: bool,
    /// A `/play` sound.
    pub sound: Option<&'a str>,
    /// Users mentioned.
    #[serde(serialize_with = "all_as_text")]
    pub mentions: &'a [ember_engine::UserId],
}

impl<'a> From<&'a Message> for MessageJson<'a> {
    fn from(m: &'a Message) -> Self {
        Self {
            id: &m.id,
            seq: m.seq,
            change_seq: m.change_seq,
            room_id: &m.room_id,
            creator_id: &m.creator_id,
            client_message_id: &m.client_message_id,
            content: &m.content,
            created_at: m.created_at,
            edited_at: m.edited_at,
            deleted: m.deleted,
            sound: m.sound.as_deref(),
            mentions: &m.mentions,
        }
    }
}

/// Messages as the protocol shows them.
pub fn messages_json(page: &[Message]) -> Vec<MessageJson<'_>> {
    page.iter().map(MessageJson::from).collect()
}

/// A room as the protocol shows it, in `ready` and in `room_joined`. `room_id` repeats
/// `id` (older `room_joined` frames had only `room_id`, `ready` only `id`).
#[derive(Serialize)]
pub struct RoomJson<'a> {
    /// The room.
    #[serde(serialize_with = "as_text")]
    pub id: &'a dyn Display,
    /// The same as `id`.
    #[serde(serialize_with = "as_text")]
    pub room_id: &'a dyn Display,
    /// Its name.
    pub name: &'a str,
    /// `open`, `closed` or `direct`.
    pub kind: &'a str,
    /// The user's involvement.
    pub involvement: &'a str,
    /// Messages after the user's read position.
    pub unread: u64,
    /// When the last message was posted.
    pub last_message_at: Option<i64>,
    /// The room's newest `seq`.
    pub head_seq: u64,
}

impl<'a> From<&'a RoomSummary> for RoomJson<'a> {
    fn from(r: &'a RoomSummary) -> Self {
        Self {
            id: &r.room.id,
            room_id: &r.room.id,
            name: &r.room.name,
            kind: r.room.kind.as_str(),
            involvement: r.involvement.as_str(),
            unread: r.unread,
            last_message_at: r.room.last_message_at,
            head_seq: r.room.head_seq,
        }
    }
}

/// A user as the protocol shows it.
#[derive(Serialize)]
pub struct UserJson<'a> {
    /// The user.
    #[serde(serialize_with = "as_text")]
    pub id: &'a dyn Display,
    /// Display name.
    pub name: &'a str,
    /// Login.
    pub login: &'a str,
    /// `admin`, `member` or `bot`.
    pub role: &'a str,
}

impl<'a> From<&'a User> for UserJson<'a> {
    fn from(u: &'a User) -> Self {
        Self {
            id: &u.id,
            name: &u.name,
            login: &u.login,
            role: u.role.as_str(),
        }
    }
}

fn as_text<S: Serializer>(v: &&dyn Display, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(*v)
}

fn all_as_text<S: Serializer, T: Display>(v: &&[T], s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(v.iter().map(ToString::to_string))
}

fn no_ref(r: &&Ref) -> bool {
    r.is_none()
}

fn is_false(b: &bool) -> bool {
    !*b
}
