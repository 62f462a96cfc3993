//! What engines publish to each other: committed changes as compact JSON (serde), one
//! change per publication. Decoding never panics: a malformed or unknown publication is
//! an error the caller logs and drops.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::events::Event;
use crate::ids::{ClientMessageId, MessageId, RoomId, UserId};
use crate::live::{Change, Joiners};
use crate::model::{Involvement, Message, Room, RoomKind};

/// One published change.
#[derive(Serialize, Deserialize, Debug)]
#[serde(tag = "k")]
pub(crate) enum Wire {
    /// A message was created, edited or deleted (its state after the change).
    #[serde(rename = "m")]
    Message { kind: Kind, m: WireMessage },
    /// A sound was played.
    #[serde(rename = "s")]
    Sound {
        room: Uuid,
        user: Uuid,
        message: Uuid,
        name: String,
    },
    /// A member joined or left (room-level announcement).
    #[serde(rename = "mc")]
    Membership {
        room: Uuid,
        user: Uuid,
        joined: bool,
    },
    /// Users became members of a room.
    #[serde(rename = "j")]
    Joined {
        room: WireRoom,
        /// `None`: every active person.
        users: Option<Vec<Uuid>>,
        involvement: String,
        new_room: bool,
    },
    /// A read position moved.
    #[serde(rename = "r")]
    Read {
        room: Uuid,
        user: Uuid,
        last_read_seq: u64,
        head_seq: u64,
    },
    /// An involvement changed.
    #[serde(rename = "i")]
    Involvement {
        room: Uuid,
        user: Uuid,
        involvement: String,
    },
}

/// Which message change.
#[derive(Serialize, Deserialize, Debug, Clone, Copy)]
pub(crate) enum Kind {
    #[serde(rename = "c")]
    Created,
    #[serde(rename = "e")]
    Edited,
    #[serde(rename = "d")]
    Deleted,
}

/// [`Message`] on the wire.
#[derive(Serialize, Deserialize, Debug)]
pub(crate) struct WireMessage {
    id: Uuid,
    room: Uuid,
    seq: u64,
    cs: u64,
    creator: Uuid,
    cmid: Uuid,
    content: String,
    at: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    edited: Option<i64>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    deleted: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sound: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    mentions: Vec<Uuid>,
}

/// [`Room`] on the wire.
#[derive(Serialize, Deserialize, Debug)]
pub(crate) struct WireRoom {
    id: Uuid,
    kind: String,
    name: String,
    creator: Uuid,
    at: i64,
    last_message_at: Option<i64>,
    head_seq: u64,
    head_change_seq: u64,
}

/// Where a publication goes.
pub(crate) enum Scope {
    /// The room's channel: only engines with subscribers in the room listen.
    Room(RoomId),
    /// The channel every engine listens to (user-level changes).
    Users,
}

impl Wire {
    /// What to publish for a committed change, if anything. Access changes (left,
    /// deactivated, sessions revoked) are not published: every engine reads them from the
    /// store's access log.
    pub(crate) fn from_change(change: &Change) -> Option<(Scope, Wire)> {
        Some(match change {
            Change::Room(event) => match event {
                Event::MessageCreated(m) => message(Kind::Created, m),
                Event::MessageEdited(m) => message(Kind::Edited, m),
                Event::MessageDeleted(m) => message(Kind::Deleted, m),
                Event::Sound {
                    room_id,
                    user_id,
                    message_id,
                    name,
                } => (
                    Scope::Room(*room_id),
                    Wire::Sound {
                        room: room_id.0,
                        user: user_id.0,
                        message: message_id.0,
                        name: name.clone(),
                    },
                ),
                Event::MembershipChanged {
                    room_id,
                    user_id,
                    joined,
                } => (
                    Scope::Room(*room_id),
                    Wire::Membership {
                        room: room_id.0,
                        user: user_id.0,
                        joined: *joined,
                    },
                ),
                // Typing and presence are not committed changes.
                _ => return None,
            },
            Change::Joined {
                room,
                users,
                involvement,
                new_room,
            } => (
                Scope::Users,
                Wire::Joined {
                    room: WireRoom::from(room),
                    users: match users {
                        Joiners::Users(u) => Some(u.iter().map(|u| u.0).collect()),
                        Joiners::AllPeople => None,
                    },
                    involvement: involvement.as_str().to_owned(),
                    new_room: *new_room,
                },
            ),
            Change::Read {
                room_id,
                user_id,
                last_read_seq,
                head_seq,
            } => (
                Scope::Users,
                Wire::Read {
                    room: room_id.0,
                    user: user_id.0,
                    last_read_seq: *last_read_seq,
                    head_seq: *head_seq,
                },
            ),
            Change::Involvement {
                room_id,
                user_id,
                involvement,
            } => (
                Scope::Users,
                Wire::Involvement {
                    room: room_id.0,
                    user: user_id.0,
                    involvement: involvement.as_str().to_owned(),
                },
            ),
            Change::Left { .. } | Change::Deactivated { .. } | Change::SessionsRevoked { .. } => {
                return None;
            }
        })
    }

    /// The change as the live layer takes it; `None` for a value this engine does not know
    /// (a newer engine's involvement level, say).
    pub(crate) fn into_change(self) -> Option<Change> {
        Some(match self {
            Wire::Message { kind, m } => {
                let m = m.into_message();
                Change::Room(match kind {
                    Kind::Created => Event::MessageCreated(m),
                    Kind::Edited => Event::MessageEdited(m),
                    Kind::Deleted => Event::MessageDeleted(m),
                })
            }
            Wire::Sound {
                room,
                user,
                message,
                name,
            } => Change::Room(Event::Sound {
                room_id: RoomId(room),
                user_id: UserId(user),
                message_id: MessageId(message),
                name,
            }),
            Wire::Membership { room, user, joined } => Change::Room(Event::MembershipChanged {
                room_id: RoomId(room),
                user_id: UserId(user),
                joined,
            }),
            Wire::Joined {
                room,
                users,
                involvement,
                new_room,
            } => Change::Joined {
                room: room.into_room()?,
                users: match users {
                    Some(u) => Joiners::Users(u.into_iter().map(UserId).collect()),
                    None => Joiners::AllPeople,
                },
                involvement: Involvement::parse(&involvement)?,
                new_room,
            },
            Wire::Read {
                room,
                user,
                last_read_seq,
                head_seq,
            } => Change::Read {
                room_id: RoomId(room),
                user_id: UserId(user),
                last_read_seq,
                head_seq,
            },
            Wire::Involvement {
                room,
                user,
                involvement,
            } => Change::Involvement {
                room_id: RoomId(room),
                user_id: UserId(user),
                involvement: Involvement::parse(&involvement)?,
            },
        })
    }

    /// The encoding.
    pub(crate) fn encode(&self) -> Vec<u8> {
        // Plain data with string keys: serialising cannot fail.
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// Reads a publication.
    pub(crate) fn decode(bytes: &[u8]) -> Result<Wire, serde_json::Error> {
        serde_json::from_slice(bytes)
    }
}

fn message(kind: Kind, m: &Message) -> (Scope, Wire) {
    (
        Scope::Room(m.room_id),
        Wire::Message {
            kind,
            m: WireMessage {
                id: m.id.0,
                room: m.room_id.0,
                seq: m.seq,
                cs: m.change_seq,
                creator: m.creator_id.0,
                cmid: m.client_message_id.0,
                content: m.content.clone(),
                at: m.created_at,
                edited: m.edited_at,
                deleted: m.deleted,
                sound: m.sound.clone(),
                mentions: m.mentions.iter().map(|u| u.0).collect(),
            },
        },
    )
}

impl WireMessage {
    fn into_message(self) -> Message {
        Message {
            id: MessageId(self.id),
            room_id: RoomId(self.room),
            seq: self.seq,
            change_seq: self.cs,
            creator_id: UserId(self.creator),
            client_message_id: ClientMessageId(self.cmid),
            content: self.content,
            created_at: self.at,
            edited_at: self.edited,
            deleted: self.deleted,
            sound: self.sound,
            mentions: self.mentions.into_iter().map(UserId).collect(),
        }
    }
}

impl From<&Room> for WireRoom {
    fn from(r: &Room) -> Self {
        WireRoom {
            id: r.id.0,
            kind: r.kind.as_str().to_owned(),
            name: r.name.clone(),
            creator: r.creator_id.0,
            at: r.created_at,
            last_message_at: r.last_message_at,
            head_seq: r.head_seq,
            head_change_seq: r.head_change_seq,
        }
    }
}

impl WireRoom {
    fn into_room(self) -> Option<Room> {
        Some(Room {
            id: RoomId(self.id),
            kind: RoomKind::parse(&self.kind)?,
            name: self.name,
            creator_id: UserId(self.creator),
            created_at: self.at,
            last_message_at: self.last_message_at,
            head_seq: self.head_seq,
            head_change_seq: self.head_change_seq,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_round_trips_and_garbage_is_an_error() {
        let m = Message {
            id: MessageId(Uuid::now_v7()),
            room_id: RoomId(Uuid::now_v7()),
            seq: 3,
            change_seq: 7,
            creator_id: UserId(Uuid::now_v7()),
            client_message_id: ClientMessageId(Uuid::new_v4()),
            content: "hé \"there\"".into(),
            created_at: 1,
            edited_at: Some(2),
            deleted: false,
            sound: None,
            mentions: vec![UserId(Uuid::now_v7())],
        };
        let (_, wire) =
            Wire::from_change(&Change::Room(Event::MessageEdited(m.clone()))).expect("published");
        let back = Wire::decode(&wire.encode()).expect("decodes");
        match back.into_change() {
            Some(Change::Room(Event::MessageEdited(got))) => assert_eq!(got, m),
            other => panic!("unexpected {other:?}"),
        }
        for bad in [&b""[..], b"{", b"{\"k\":\"zz\"}", b"\xff\xfe", b"[1,2]"] {
            assert!(Wire::decode(bad).is_err());
        }
    }
}
