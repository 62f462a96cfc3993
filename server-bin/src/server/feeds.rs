//! The engine's live feeds as the server reads them: a connection's room subscriptions and
//! a user's room-list subscription. This is the only file that touches the engine's
//! subscription types, so a change in how the engine reports lag or revocation lands here.

use std::sync::Arc;

use ember_engine::{
    Engine, Events, PresenceHandle, Result, RoomId, SharedEvent, Subscription, TryRecvError,
    UserEvent, UserId, UserSubscription,
};

use super::ready::Ready;
use super::who::Who;

/// What a feed has next.
pub enum Next<T> {
    /// An event.
    Event(T),
    /// Nothing for now.
    Empty,
    /// The engine detached the subscription because its reader fell behind.
    Lagged,
    /// Access was taken away: removed from the room, or (for a user's feed) deactivated.
    Revoked,
    /// The subscription ended (replay complete, engine closed).
    Ended,
}

/// The next item of `events`.
fn next<T>(events: &Events<T>) -> Next<T> {
    match events.try_recv() {
        Ok(e) => Next::Event(e),
        Err(TryRecvError::Empty) => Next::Empty,
        Err(TryRecvError::Lagged { .. }) => Next::Lagged,
        Err(TryRecvError::Revoked) => Next::Revoked,
        Err(TryRecvError::Closed) => Next::Ended,
    }
}

/// Makes `events` report to `ready` as connection `who`.
fn watch<T>(events: &Events<T>, ready: &Arc<Ready>, who: Who) {
    let ready = ready.clone();
    events.set_waker(move || ready.notify(who));
}

/// A room a connection is subscribed to.
pub struct RoomSub {
    /// The room.
    pub room: RoomId,
    /// The engine's replay-then-live feed.
    sub: Subscription,
    /// The connection's presence in the room.
    pub presence: Option<PresenceHandle>,
}

impl RoomSub {
    /// Subscribes `user` to `room` from the cursor `since` (`None`: live only).
    pub fn open(engine: &Engine, user: UserId, room: RoomId, since: Option<u64>) -> Result<Self> {
        let sub = engine.subscribe(user, room, since)?;
        Ok(Self {
            room,
            sub,
            presence: None,
        })
    }

    /// The room's newest `change_seq` when the subscription started.
    pub fn head(&self) -> u64 {
        self.sub.head_change_seq()
    }

    /// False when the replay was capped: the subscription ends after it.
    pub fn complete(&self) -> bool {
        self.sub.complete()
    }

    /// The next event, if any.
    pub fn next(&self) -> Next<SharedEvent> {
        next(self.sub.events())
    }

    /// Reports new events of this room to `ready` as connection `who`.
    pub fn watch(&self, ready: &Arc<Ready>, who: Who) {
        watch(self.sub.events(), ready, who);
    }
}

/// A user's room-list feed (unread counts, rooms joined and left, sessions revoked).
pub struct UserFeed(UserSubscription);

impl UserFeed {
    /// Subscribes to `user`'s room-list events; `None` when the engine refuses.
    pub fn open(engine: &Engine, user: UserId) -> Option<Self> {
        engine.subscribe_user(user).ok().map(Self)
    }

    /// The next event. [`Next::Revoked`]: the user was deactivated.
    pub fn next(&self) -> Next<UserEvent> {
        next(self.0.events())
    }

    /// Reports new events to `ready` as connection `who`.
    pub fn watch(&self, ready: &Arc<Ready>, who: Who) {
        watch(self.0.events(), ready, who);
    }
}
