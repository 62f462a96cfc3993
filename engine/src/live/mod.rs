//! Live delivery: subscriptions with a gapless handover from replay to live events,
//! presence and typing. Everything here is fed after COMMIT and never blocks the writer.

mod dispatcher;
mod hub;
mod presence;
pub(crate) mod queue;
mod recv;
mod subscription;
mod typing;
mod watch;

pub(crate) use dispatcher::spawn as spawn_dispatcher;
pub use presence::PresenceHandle;
pub use queue::Events;
pub use recv::{RecvError, RecvTimeoutError, TryRecvError};
pub use subscription::{NotificationStream, Subscription, UserSubscription};
pub(crate) use typing::TYPING_TIMEOUT_MS;

use std::sync::OnceLock;

use parking_lot::Mutex;

use crate::clock::Clock;
use crate::cluster::Ephemeral;
use crate::events::Event;
use crate::ids::{RoomId, UserId};
use crate::model::{Involvement, Room};
use hub::Hub;
use presence::Presence;
use typing::Typing;

/// What the writer tells the live layer after a commit.
#[derive(Debug)]
pub(crate) enum Change {
    /// A room-level event, delivered as is to the room's subscribers.
    Room(Event),
    /// Users became members of a room.
    Joined {
        room: Room,
        users: Joiners,
        involvement: Involvement,
        /// The room was created by the same command.
        new_room: bool,
    },
    /// A user stopped being a member.
    Left { room_id: RoomId, user_id: UserId },
    /// A user's read position moved.
    Read {
        room_id: RoomId,
        user_id: UserId,
        last_read_seq: u64,
        head_seq: u64,
    },
    /// A user's involvement changed.
    Involvement {
        room_id: RoomId,
        user_id: UserId,
        involvement: Involvement,
    },
    /// A user was deactivated.
    Deactivated { user_id: UserId },
    /// Some of a user's sessions ended.
    SessionsRevoked { user_id: UserId },
}

/// Who joined.
#[derive(Debug)]
pub(crate) enum Joiners {
    Users(Vec<UserId>),
    /// Every active person (a new open room).
    AllPeople,
}

/// The live layer's state, shared by the engine handles and the dispatcher thread.
pub(crate) struct Live {
    pub hub: Hub,
    pub presence: Mutex<Presence>,
    pub typing: Mutex<Typing>,
    pub clock: Clock,
    /// Presence and typing shared with the other nodes of a cluster, when in one.
    pub ephemeral: OnceLock<Ephemeral>,
}

impl Live {
    pub(crate) fn new(capacity: usize, presence_ttl_ms: i64, clock: Clock) -> Self {
        Self {
            hub: Hub::new(capacity),
            presence: Mutex::new(Presence::new(presence_ttl_ms)),
            typing: Mutex::new(Typing::default()),
            clock,
            ephemeral: OnceLock::new(),
        }
    }

    /// A user's first connection to a room on this node opened (`online`), or its last
    /// one closed or lapsed: the room hears of it (in a cluster, when the user's first or
    /// last connection on any node).
    pub(crate) fn presence_changed(&self, room_id: RoomId, user_id: UserId, online: bool) {
        match self.ephemeral.get() {
            Some(cluster) => cluster.presence_changed(room_id, user_id, online),
            None => self.hub.publish(Event::Presence {
                room_id,
                user_id,
                online,
            }),
        }
    }

    /// The room hears that a user on this node started or stopped typing (every node's
    /// subscribers, in a cluster).
    pub(crate) fn typing_changed(&self, room_id: RoomId, user_id: UserId, active: bool) {
        self.hub.publish(Event::Typing {
            room_id,
            user_id,
            active,
        });
        if let Some(cluster) = self.ephemeral.get() {
            cluster.typing_changed(room_id, user_id, active, self.clock.now_ms());
        }
    }

    /// The users online in the room, on any node of the cluster (on this node alone while
    /// Redis is unreachable).
    pub(crate) fn online(&self, room: RoomId) -> Vec<UserId> {
        let mut users = self.presence.lock().online(room);
        if let Some(shared) = self.ephemeral.get().and_then(|c| c.online(room)) {
            users.extend(shared);
            users.sort();
            users.dedup();
        }
        users
    }

    /// Lapses presence and typing that were not refreshed in time, and sends typing
    /// changes that were held back by the one-per-second rule.
    pub(crate) fn sweep(&self) {
        let now = self.clock.now_ms();
        let offline = self.presence.lock().sweep(now);
        for (room_id, user_id) in offline {
            self.presence_changed(room_id, user_id, false);
        }
        let typing = self.typing.lock().sweep(now);
        for (room_id, user_id, active) in typing {
            self.typing_changed(room_id, user_id, active);
        }
        if let Some(cluster) = self.ephemeral.get() {
            cluster.sweep(now);
        }
    }
}
