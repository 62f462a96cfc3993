//! Typing indicators: started / stopped per (user, room), stopped automatically when not
//! refreshed, and at most one event per second per (user, room).

use std::collections::HashMap;

use crate::ids::{RoomId, UserId};

/// A typist is dropped after this long without a refresh.
pub(crate) const TYPING_TIMEOUT_MS: i64 = 5_000;
/// At most one typing event per (user, room) within this interval.
pub(crate) const TYPING_SPACING_MS: i64 = 1_000;

struct State {
    /// What the user says now.
    wanted: bool,
    /// What the room last heard.
    shown: bool,
    refreshed: i64,
    last_event: Option<i64>,
}

#[derive(Default)]
pub(crate) struct Typing {
    states: HashMap<(RoomId, UserId), State>,
}

impl Typing {
    /// Records what the user says; returns the event to send now, if any. A change within
    /// a second of the last event is held back and sent by [`Typing::sweep`].
    pub(crate) fn set(
        &mut self,
        room: RoomId,
        user: UserId,
        active: bool,
        now: i64,
    ) -> Option<bool> {
        let s = self.states.entry((room, user)).or_insert(State {
            wanted: false,
            shown: false,
            refreshed: now,
            last_event: None,
        });
        s.wanted = active;
        s.refreshed = now;
        due(s, now)
    }

    /// Stops typists who went quiet and sends held-back changes; returns the events.
    pub(crate) fn sweep(&mut self, now: i64) -> Vec<(RoomId, UserId, bool)> {
        let mut events = Vec::new();
        self.states.retain(|(room, user), s| {
            if s.wanted && now - s.refreshed >= TYPING_TIMEOUT_MS {
                s.wanted = false;
            }
            if let Some(active) = due(s, now) {
                events.push((*room, *user, active));
            }
            s.wanted || s.shown || s.last_event.is_some_and(|t| now - t < TYPING_SPACING_MS)
        });
        events
    }
}

fn due(s: &mut State, now: i64) -> Option<bool> {
    let spaced = s.last_event.is_none_or(|t| now - t >= TYPING_SPACING_MS);
    if s.wanted != s.shown && spaced {
        s.shown = s.wanted;
        s.last_event = Some(now);
        Some(s.shown)
    } else {
        None
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
    fn start_refresh_stop() {
        let (r, u) = ids();
        let mut t = Typing::default();
        assert_eq!(t.set(r, u, true, 0), Some(true));
        assert_eq!(t.set(r, u, true, 500), None, "a refresh is not an event");
        assert_eq!(t.set(r, u, false, 1500), Some(false));
    }

    #[test]
    fn at_most_one_event_per_second() {
        let (r, u) = ids();
        let mut t = Typing::default();
        assert_eq!(t.set(r, u, true, 0), Some(true));
        assert_eq!(t.set(r, u, false, 200), None, "held back");
        assert!(t.sweep(900).is_empty());
        assert_eq!(t.sweep(1000), vec![(r, u, false)]);
    }

    #[test]
    fn quiet_typist_stops_after_five_seconds() {
        let (r, u) = ids();
        let mut t = Typing::default();
        t.set(r, u, true, 0);
        assert!(t.sweep(4_999).is_empty());
        assert_eq!(t.sweep(5_000), vec![(r, u, false)]);
        assert!(t.sweep(10_000).is_empty());
    }
}
