//! Typing across nodes. The node a typist is connected to decides the events (started,
//! stopped, at most one per second, stopped after 5 s without a refresh: `live/typing.rs`)
//! and publishes them, plus a refresh at most once a second while the typist keeps
//! typing. The other nodes show what they hear and stop a typist by themselves when
//! neither a refresh nor a stop arrives in time: the typist's node died.

use std::collections::HashMap;

use crate::ids::{RoomId, UserId};
use crate::live::TYPING_TIMEOUT_MS;

/// A typist's node refreshes other nodes at most this often.
pub(crate) const REFRESH_MS: i64 = 1_000;
/// A remote typist is stopped this long after the last word from its node: the timeout,
/// plus the refresh spacing, plus room for the origin's own stop to arrive first.
const REMOTE_TIMEOUT_MS: i64 = TYPING_TIMEOUT_MS + REFRESH_MS + 1_000;

/// Typists on other nodes shown to this node's subscribers, with when their node last
/// spoke of them.
#[derive(Default)]
pub(crate) struct RemoteTyping {
    shown: HashMap<(RoomId, UserId), i64>,
}

impl RemoteTyping {
    /// Another node says the user is typing (`active`, also a refresh) or stopped.
    /// Returns the event this node's subscribers must hear, if any.
    pub(crate) fn heard(
        &mut self,
        room: RoomId,
        user: UserId,
        active: bool,
        now: i64,
    ) -> Option<bool> {
        if active {
            self.shown
                .insert((room, user), now)
                .is_none()
                .then_some(true)
        } else {
            self.shown.remove(&(room, user)).map(|_| false)
        }
    }

    /// Stops the typists whose node went quiet; returns them.
    pub(crate) fn sweep(&mut self, now: i64) -> Vec<(RoomId, UserId)> {
        let mut stopped = Vec::new();
        self.shown.retain(|pair, heard| {
            let alive = now - *heard < REMOTE_TIMEOUT_MS;
            if !alive {
                stopped.push(*pair);
            }
            alive
        });
        stopped
    }
}

/// When this node last told the others about each of its typists.
#[derive(Default)]
pub(crate) struct Refreshes {
    told: HashMap<(RoomId, UserId), i64>,
}

impl Refreshes {
    /// An event about the typist was published now.
    pub(crate) fn published(&mut self, room: RoomId, user: UserId, active: bool, now: i64) {
        if active {
            self.told.insert((room, user), now);
        } else {
            self.told.remove(&(room, user));
        }
    }

    /// The typist refreshed: true when the other nodes are due a refresh.
    pub(crate) fn due(&mut self, room: RoomId, user: UserId, now: i64) -> bool {
        match self.told.get_mut(&(room, user)) {
            Some(at) if now - *at >= REFRESH_MS => {
                *at = now;
                true
            }
            _ => false,
        }
    }

    /// Forgets typists not refreshed for longer than the timeout (they were stopped).
    pub(crate) fn sweep(&mut self, now: i64) {
        self.told.retain(|_, at| now - *at < REMOTE_TIMEOUT_MS);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    fn ids() -> (RoomId, UserId) {
        (RoomId(Uuid::now_v7()), UserId(Uuid::now_v7()))
    }

    #[test]
    fn remote_start_is_shown_once_and_stop_once() {
        let (r, u) = ids();
        let mut t = RemoteTyping::default();
        assert_eq!(t.heard(r, u, true, 0), Some(true));
        assert_eq!(t.heard(r, u, true, 900), None, "a refresh is not an event");
        assert_eq!(t.heard(r, u, false, 1_000), Some(false));
        assert_eq!(t.heard(r, u, false, 1_100), None, "stopped already");
    }

    #[test]
    fn remote_typist_lapses_when_its_node_goes_quiet() {
        let (r, u) = ids();
        let mut t = RemoteTyping::default();
        t.heard(r, u, true, 0);
        t.heard(r, u, true, 3_000);
        assert!(t.sweep(3_000 + REMOTE_TIMEOUT_MS - 1).is_empty());
        assert_eq!(t.sweep(3_000 + REMOTE_TIMEOUT_MS), vec![(r, u)]);
        assert_eq!(
            t.heard(r, u, false, 20_000),
            None,
            "the late stop is not doubled"
        );
    }

    #[test]
    fn refreshes_are_spaced_and_only_for_shown_typists() {
        let (r, u) = ids();
        let mut f = Refreshes::default();
        assert!(!f.due(r, u, 0), "nothing was published yet");
        f.published(r, u, true, 0);
        assert!(!f.due(r, u, 500));
        assert!(f.due(r, u, 1_000));
        assert!(!f.due(r, u, 1_500));
        f.published(r, u, false, 1_600);
        assert!(!f.due(r, u, 5_000));
    }
}
