//! The handles subscribers hold. Dropping one unsubscribes.

use std::sync::Weak;

use super::Live;
use super::queue::Events;
use crate::ids::{Epoch, RoomId, UserId};

/// A room subscription: first the replay of every change after the cursor, then live
/// events, with no gap and no duplicate between them.
///
/// Events arrive on [`Subscription::events`]. The channel closes after [`crate::Event::Lagged`]
/// or [`crate::Event::Revoked`], when the engine closes, and right after the replay when
/// [`Subscription::complete`] is false. Use from one thread at a time.
pub struct Subscription {
    pub(crate) room_id: RoomId,
    pub(crate) head_change_seq: u64,
    pub(crate) complete: bool,
    pub(crate) epoch: Epoch,
    pub(crate) events: Events,
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

    /// The events, in order.
    pub fn events(&self) -> &Events {
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

/// A user's subscription to their room list: rooms joined and left (direct rooms
/// included), unread counts, involvement changes. Dropping it unsubscribes.
pub struct UserSubscription {
    pub(crate) user: UserId,
    pub(crate) events: Events,
    pub(crate) id: u64,
    pub(crate) live: Weak<Live>,
}

impl UserSubscription {
    /// The events, in order.
    pub fn events(&self) -> &Events {
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

/// The stream of [`crate::Event::Notify`]: who to notify of each new message, for a host
/// that sends push notifications. Dropping it unsubscribes.
pub struct NotificationStream {
    pub(crate) events: Events,
    pub(crate) id: u64,
    pub(crate) live: Weak<Live>,
}

impl NotificationStream {
    /// The events, in order.
    pub fn events(&self) -> &Events {
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
