//! The access log: one row per change that takes access away (deactivation, ended
//! sessions, a removed member), written in the same transaction as the change. Engines on
//! other connections, in this process or another one (or on other machines sharing a
//! PostgreSQL database), read it to end live subscriptions that their own writer never heard
//! about (e.g. `ember-server user deactivate` run from the command line while a server runs).
//! This file holds what a row means; each store reads and writes its own table.

use crate::ids::{RoomId, UserId};
use crate::live::Change;

/// Rows older than this are deleted when a new one is written: a poller that has not
/// looked for that long has no subscriptions left to end.
pub(crate) const KEEP_MS: i64 = 3_600_000;

/// What a row says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum AccessChange {
    Deactivated { user: UserId },
    SessionsRevoked { user: UserId },
    MemberRemoved { user: UserId, room: RoomId },
}

impl AccessChange {
    pub(crate) fn kind(self) -> i64 {
        match self {
            AccessChange::Deactivated { .. } => 1,
            AccessChange::SessionsRevoked { .. } => 2,
            AccessChange::MemberRemoved { .. } => 3,
        }
    }

    pub(crate) fn user(self) -> UserId {
        match self {
            AccessChange::Deactivated { user }
            | AccessChange::SessionsRevoked { user }
            | AccessChange::MemberRemoved { user, .. } => user,
        }
    }

    pub(crate) fn room(self) -> Option<RoomId> {
        match self {
            AccessChange::MemberRemoved { room, .. } => Some(room),
            _ => None,
        }
    }

    /// What the live layer does about it.
    pub(crate) fn change(self) -> Change {
        match self {
            AccessChange::Deactivated { user } => Change::Deactivated { user_id: user },
            AccessChange::SessionsRevoked { user } => Change::SessionsRevoked { user_id: user },
            AccessChange::MemberRemoved { user, room } => Change::Left {
                room_id: room,
                user_id: user,
            },
        }
    }

    /// The change a row stored as (`kind`, `user`, `room`) records; `None` for a kind this
    /// build does not know (a newer build wrote it).
    pub(crate) fn from_row(kind: i64, user: UserId, room: Option<RoomId>) -> Option<Self> {
        match (kind, room) {
            (1, _) => Some(AccessChange::Deactivated { user }),
            (2, _) => Some(AccessChange::SessionsRevoked { user }),
            (3, Some(room)) => Some(AccessChange::MemberRemoved { user, room }),
            _ => None,
        }
    }
}
