//! Who is connected to which room. A connection lapses when not refreshed within the TTL,
//! so a client that vanishes goes offline on its own.

use std::collections::HashMap;

use crate::ids::{RoomId, UserId};

/// One connection's presence in a room, as handed out by
/// [`crate::Engine::presence_connect`]; refresh it with [`crate::Engine::presence_heartbeat`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PresenceHandle {
    /// The room.
    pub room: RoomId,
    /// The user.
    pub user: UserId,
    /// This connection.
    pub id: u64,
}

pub(crate) struct Presence {
    rooms: HashMap<RoomId, HashMap<UserId, Vec<(u64, i64)>>>,
    ttl_ms: i64,
    next_id: u64,
}

impl Presence {
    pub(crate) fn new(ttl_ms: i64) -> Self {
        Self {
            rooms: HashMap::new(),
            ttl_ms,
            next_id: 1,
        }
    }

    /// Adds a connection; true when it is the user's first in the room (now online).
    pub(crate) fn connect(
        &mut self,
        room: RoomId,
        user: UserId,
        now: i64,
    ) -> (PresenceHandle, bool) {
        let id = self.next_id;
        self.next_id += 1;
        let conns = self.rooms.entry(room).or_default().entry(user).or_default();
        conns.push((id, now));
        (PresenceHandle { room, user, id }, conns.len() == 1)
    }

    /// Refreshes a connection; false when it is unknown (lapsed or closed).
    pub(crate) fn heartbeat(&mut self, h: &PresenceHandle, now: i64) -> bool {
        let conn = self
            .rooms
            .get_mut(&h.room)
            .and_then(|users| users.get_mut(&h.user))
            .and_then(|conns| conns.iter_mut().find(|(id, _)| *id == h.id));
        match conn {
            Some(c) => {
                c.1 = now;
                true
            }
            None => false,
        }
    }

    /// Removes a connection; true when it was the user's last in the room (now offline).
    pub(crate) fn disconnect(&mut self, h: &PresenceHandle) -> bool {
        let Some(users) = self.rooms.get_mut(&h.room) else {
            return false;
        };
        let Some(conns) = users.get_mut(&h.user) else {
            return false;
        };
        let before = conns.len();
        conns.retain(|(id, _)| *id != h.id);
        let offline = before > 0 && conns.is_empty();
        if conns.is_empty() {
            users.remove(&h.user);
            if users.is_empty() {
                self.rooms.remove(&h.room);
            }
        }
        offline
    }

    /// Drops lapsed connections; returns the users who went offline.
    pub(crate) fn sweep(&mut self, now: i64) -> Vec<(RoomId, UserId)> {
        let mut offline = Vec::new();
        let ttl = self.ttl_ms;
        self.rooms.retain(|room, users| {
            users.retain(|user, conns| {
                conns.retain(|(_, seen)| now - seen < ttl);
                if conns.is_empty() {
                    offline.push((*room, *user));
                }
                !conns.is_empty()
            });
            !users.is_empty()
        });
        offline
    }

    /// Users with at least one live connection to the room.
    pub(crate) fn online(&self, room: RoomId) -> Vec<UserId> {
        let mut users: Vec<UserId> = self
            .rooms
            .get(&room)
            .map(|u| u.keys().copied().collect())
            .unwrap_or_default();
        users.sort();
        users
    }

    pub(crate) fn is_present(&self, room: RoomId, user: UserId) -> bool {
        self.rooms.get(&room).is_some_and(|u| u.contains_key(&user))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    #[test]
    fn online_once_per_user_offline_after_last() {
        let mut p = Presence::new(60_000);
        let room = RoomId(Uuid::now_v7());
        let ann = UserId(Uuid::now_v7());
        let (a, first) = p.connect(room, ann, 0);
        let (b, second) = p.connect(room, ann, 0);
        assert!(first && !second);
        assert!(!p.disconnect(&a));
        assert_eq!(p.online(room), vec![ann]);
        assert!(p.disconnect(&b));
        assert!(p.online(room).is_empty());
    }

    #[test]
    fn unrefreshed_connections_lapse() {
        let mut p = Presence::new(60_000);
        let room = RoomId(Uuid::now_v7());
        let ann = UserId(Uuid::now_v7());
        let (a, _) = p.connect(room, ann, 0);
        assert!(p.heartbeat(&a, 50_000));
        assert!(p.sweep(100_000).is_empty());
        assert_eq!(p.sweep(110_000), vec![(room, ann)]);
        assert!(!p.heartbeat(&a, 110_000));
    }
}
