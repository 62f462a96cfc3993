//! The handles subscribers hold. Dropping one unsubscribes.

use std::sync::Weak;

use super::Live;
use super::queue::Events;
use crate::events::{Notification, SharedEvent, UserEvent};
use crate::ids::{Epoch, RoomId, UserId};

/// A room subscription: first the replay of every change after the cursor, then live
/// events, with no gap and no duplicate between them.
///
/// Events arrive on [`Subscription::events`]. The stream ends with
/// [`crate::RecvError::Lagged`] when the subscriber falls behind, with
/// [`crate::RecvError::Revoked`] when the user is removed from the room or deactivated (also
/// by another process on the same database), and with [`crate::RecvError::Closed`] when the
/// engine closes or right after the replay when [`Subscription::complete`] is false. Use
/// from one thread at a time.
pub struct Subscription {
    pub(crate) room_id: RoomId,
    pub(crate) head_change_seq: u64,
    pub(crate) complete: bool,
    pub(crate) epoch: Epoch,
    pub(crate) events: Events<SharedEvent>,
    pub(crate) id: u64,
    pub(crate) live: Weak<Live>,
}

impl Subscription {
    /// The room.
    pub fn room_id(&self) -> RoomId {
        self.room_id
    }

    /// The room's newest change sequence value when the subscription started: with no
    /// cursor, the cursor to keep; with one, the end of the replay.
    pub fn head_change_seq(&self) -> u64 {
        self.head_change_seq
    }

    /// False when the replay was longer than the cap: the subscription delivers one page
    /// and ends; subscribe again from the last `change_seq` received.
    pub fn complete(&self) -> bool {
        self.complete
    }

    /// The database epoch the sequence numbers belong to.
    pub fn epoch(&self) -> Epoch {
        self.epoch
    }

    /// The room's events, in order: replay first, then live.
    pub fn events(&self) -> &Events<SharedEvent> {
        &self.events
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        if let Some(live) = self.live.upgrade() {
            live.hub.remove_room_sub(self.room_id, self.id);
        }
    }
}

/// A user's subscription to their room list (rooms joined and left, direct rooms included,
/// unread counts, involvement changes) and to the end of their sessions
/// ([`UserEvent::SessionsRevoked`]). It ends with [`crate::RecvError::Revoked`] when the
/// user is deactivated. Dropping it unsubscribes.
pub struct UserSubscription {
    pub(crate) user: UserId,
    pub(crate) events: Events<UserEvent>,
    pub(crate) id: u64,
    pub(crate) live: Weak<Live>,
}

impl UserSubscription {
    /// The user's events, in order.
    pub fn events(&self) -> &Events<UserEvent> {
        &self.events
    }
}

impl Drop for UserSubscription {
    fn drop(&mut self) {
        if let Some(live) = self.live.upgrade() {
            live.hub.remove_user_sub(self.user, self.id);
        }
    }
}

/// The stream of [`Notification`]s: who to notify of each new message, for a host that
/// sends push notifications. Dropping it unsubscribes.
pub struct NotificationStream {
    pub(crate) events: Events<Notification>,
    pub(crate) id: u64,
    pub(crate) live: Weak<Live>,
}

impl NotificationStream {
    /// The notifications, in order.
    pub fn events(&self) -> &Events<Notification> {
        &self.events
    }
}

impl Drop for NotificationStream {
    fn drop(&mut self) {
        if let Some(live) = self.live.upgrade() {
            live.hub.remove_notify(self.id);
        }
    }
}
