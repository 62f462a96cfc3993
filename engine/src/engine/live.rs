//! Subscriptions, presence and typing.

use std::sync::Arc;

use super::Engine;
use crate::error::{Error, Result};
use crate::events::Event;
use crate::ids::{RoomId, UserId};
use crate::live::{NotificationStream, PresenceHandle, Subscription, UserSubscription};
use crate::model::Message;

impl Engine {
    /// Subscribes `user` to a room they belong to.
    ///
    /// With `since = Some(cursor)` the subscription first yields every change after the
    /// cursor (the current state of each changed message, in change order), then live
    /// events, with no gap and no duplicate at the handover even while others post. A replay
    /// longer than [`crate::Options::replay_cap`] delivers one page and ends with
    /// [`Subscription::complete`] false. With `since = None` it starts live;
    /// [`Subscription::head_change_seq`] is the cursor to keep. A cursor beyond the room's head
    /// (from another database) is refused: check [`Engine::epoch`] and reload.
    pub fn subscribe(
        &self,
        user: UserId,
        room: RoomId,
        since: Option<u64>,
    ) -> Result<Subscription> {
        let live = &self.inner.live;
        let store = self.store();
        // Registered before the read below (which also checks membership): live events
        // committed after that read's snapshot are buffered, none is missed.
        let (tx, rx) = crate::live::queue::pair();
        // In a cluster, the room's changes are held until this subscription anchors.
        let cluster = self.cluster();
        if let Some(c) = cluster {
            c.open(room);
        }
        let id = live.hub.add_pending(room, user, tx);
        let replay = match since {
            None => store
                .reads()?
                .room(user, room)
                .map(|r| (Vec::new(), r.head_change_seq, r.head_change_seq, true)),
            Some(cursor) => {
                let cap = self.options().replay_cap.clamp(1, live.hub.capacity());
                store
                    .reads()?
                    .changes_since(user, room, cursor, cap)
                    .and_then(|page| {
                        if cursor > page.head_change_seq {
                            return Err(Error::validation(
                                "since",
                                "is beyond the room's newest change",
                            ));
                        }
                        let floor = match (page.more, page.messages.last()) {
                            (true, Some(last)) => last.change_seq,
                            _ => page.head_change_seq,
                        };
                        let events = page.messages.into_iter().map(replay_event).collect();
                        Ok((events, floor, page.head_change_seq, !page.more))
                    })
            }
        };
        let (events, floor, head, complete) = match replay {
            Ok(r) => r,
            Err(e) => {
                live.hub.remove_room_sub(room, id);
                if let Some(c) = cluster {
                    c.cancel(live, room);
                }
                return Err(e);
            }
        };
        live.hub.go_live(room, id, events, floor, complete);
        if let Some(c) = cluster {
            c.anchor(live, room, floor);
        }
        Ok(Subscription {
            room_id: room,
            head_change_seq: head,
            complete,
            epoch: self.epoch(),
            events: rx,
            id,
            live: Arc::downgrade(live),
        })
    }

    /// Subscribes to `user`'s room list: rooms joined or left, unread counts, involvement.
    pub fn subscribe_user(&self, user: UserId) -> Result<UserSubscription> {
        let live = &self.inner.live;
        let me = self.user(user)?;
        if !me.active {
            return Err(Error::Forbidden("user is deactivated"));
        }
        let (tx, rx) = crate::live::queue::pair();
        let rooms = self.rooms_for(user)?;
        let id = live.hub.add_user_sub(user, me.role, &rooms, tx);
        // Changes dispatched between the first read and the registration were missed:
        // a second read after registering catches them (later ones arrive as events).
        match self.rooms_for(user) {
            Ok(rooms) => live.hub.reconcile_user_sub(user, id, &rooms),
            Err(e) => {
                live.hub.remove_user_sub(user, id);
                return Err(e);
            }
        }
        Ok(UserSubscription {
            user,
            events: rx,
            id,
            live: Arc::downgrade(live),
        })
    }

    /// Subscribes to [`crate::Notification`]s: for each new message, the members to notify.
    pub fn subscribe_notifications(&self) -> Result<NotificationStream> {
        self.store().check_open()?;
        let live = &self.inner.live;
        let (tx, rx) = crate::live::queue::pair();
        let id = live.hub.add_notify(tx);
        Ok(NotificationStream {
            events: rx,
            id,
            live: Arc::downgrade(live),
        })
    }

    /// Counts a connection of `user` to a room they belong to. The room hears
    /// [`Event::Presence`] online when it is the user's first connection there. Refresh it
    /// with [`Engine::presence_heartbeat`] within [`crate::Options::presence_ttl`], or it lapses.
    pub fn presence_connect(&self, user: UserId, room: RoomId) -> Result<PresenceHandle> {
        self.store().reads()?.check_member(user, room)?;
        let live = &self.inner.live;
        let (handle, online) = live.presence.lock().connect(room, user, self.now());
        if online {
            live.presence_changed(room, user, true);
        }
        Ok(handle)
    }

    /// Keeps a connection present. [`Error::NotFound`] when it already lapsed or closed:
    /// connect again.
    pub fn presence_heartbeat(&self, handle: &PresenceHandle) -> Result<()> {
        if self
            .inner
            .live
            .presence
            .lock()
            .heartbeat(handle, self.now())
        {
            Ok(())
        } else {
            Err(Error::NotFound("presence connection"))
        }
    }

    /// Ends a connection; the room hears offline when it was the user's last.
    pub fn presence_disconnect(&self, handle: &PresenceHandle) {
        let live = &self.inner.live;
        if live.presence.lock().disconnect(handle) {
            live.presence_changed(handle.room, handle.user, false);
        }
    }

    /// The members with at least one live connection to the room.
    pub fn online_members(&self, user: UserId, room: RoomId) -> Result<Vec<UserId>> {
        self.store().reads()?.check_member(user, room)?;
        Ok(self.inner.live.online(room))
    }

    /// Says whether `user` is typing in a room. Started typing stops by itself after 5 s
    /// without a refresh; the room hears at most one typing event per second per user.
    pub fn typing(&self, user: UserId, room: RoomId, active: bool) -> Result<()> {
        self.store().reads()?.check_member(user, room)?;
        let live = &self.inner.live;
        let event = live.typing.lock().set(room, user, active, self.now());
        match (event, live.ephemeral.get()) {
            (Some(active), _) => live.typing_changed(room, user, active),
            (None, Some(cluster)) if active => cluster.typing_refreshed(room, user, self.now()),
            _ => {}
        }
        Ok(())
    }

    /// Runs the presence and typing timers now (the engine also runs them every 250 ms);
    /// useful with a manual [`crate::Clock`].
    pub fn run_timers(&self) {
        self.inner.live.sweep();
    }
}

/// How a replayed message is announced: its current state under the latest change kind.
pub(crate) fn replay_event(m: Message) -> Event {
    if m.deleted {
        Event::MessageDeleted(m)
    } else if m.edited_at.is_some() {
        Event::MessageEdited(m)
    } else {
        Event::MessageCreated(m)
    }
}
