//! User-level events (unread counts, rooms joined and left), shared by all of a user's
//! connections: one engine user subscription per user, not per connection.
//!
//! Unread counts are coalesced per room. A count that changed because the user read (the
//! room's head did not move) goes to every connection of the user at the next sweep; one
//! that changed because messages arrived goes, at most every [`BUMP_EVERY`], only to
//! connections not subscribed to that room (subscribers see the messages themselves).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use ember_engine::{
    Engine, RoomId, RoomSummary, TryRecvError, UserEvent, UserId, UserSubscription,
};
use serde_json::json;
use tungstenite::Utf8Bytes;

use super::event_loop::Server;
use super::worker::Who;

/// Unread counts raised by new messages are sent at most this often per user.
pub const BUMP_EVERY: Duration = Duration::from_secs(2);

/// What the server knows per connected user.
pub struct UserEntry {
    sub: Option<UserSubscription>,
    conns: Vec<Who>,
    /// Last (unread, head seq) seen per room.
    seen: HashMap<RoomId, (u64, u64)>,
    /// Counts raised by new messages, not sent yet.
    bumps: HashMap<RoomId, u64>,
    /// When raised counts go out next: on the user's own phase, kept while quiet.
    next_bumps: Instant,
}

/// Every connected user.
#[derive(Default)]
pub struct Users {
    map: HashMap<UserId, UserEntry>,
}

impl Users {
    /// Registers a connection of `user` whose room list is `rooms`.
    pub fn add(&mut self, engine: &Engine, who: Who, user: UserId, rooms: &[RoomSummary]) {
        let entry = self.map.entry(user).or_insert_with(|| UserEntry {
            sub: engine.subscribe_user(user).ok(),
            conns: Vec::new(),
            seen: rooms
                .iter()
                .map(|r| (r.room.id, (r.unread, r.room.head_seq)))
                .collect(),
            bumps: HashMap::new(),
            next_bumps: first_bumps(user),
        });
        entry.conns.push(who);
    }

    /// Forgets a connection; the user's subscription ends with their last one.
    pub fn remove(&mut self, who: Who, user: UserId) {
        if let Some(entry) = self.map.get_mut(&user) {
            entry.conns.retain(|c| *c != who);
            if entry.conns.is_empty() {
                self.map.remove(&user);
            }
        }
    }
}

/// The first time a user's raised counts go out: within [`BUMP_EVERY`], by the user's id.
fn first_bumps(user: UserId) -> Instant {
    let spread = BUMP_EVERY.as_millis() as u64;
    let offset = (u128::from_le_bytes(*user.as_bytes()) % u128::from(spread)) as u64;
    Instant::now() + Duration::from_millis(offset)
}

/// A frame for a user's connections; `room` set when subscribers of it may skip it.
struct Note {
    frame: Utf8Bytes,
    skip_subscribers_of: Option<RoomId>,
}

impl Note {
    /// Encoded once, shared by every connection of the user.
    fn new(frame: &serde_json::Value, skip_subscribers_of: Option<RoomId>) -> Self {
        Self {
            frame: frame.to_string().into(),
            skip_subscribers_of,
        }
    }
}

impl Server {
    /// Forwards the user-level events that arrived since the last sweep.
    pub(crate) fn sweep_users(&mut self) {
        let users: Vec<UserId> = self.users.map.keys().copied().collect();
        for user in users {
            let Some(entry) = self.users.map.get_mut(&user) else {
                continue;
            };
            let notes = collect(&self.engine, user, entry);
            if notes.is_empty() {
                continue;
            }
            for who in entry.conns.clone() {
                self.with_ws(who, |s, _, w| {
                    for n in &notes {
                        let skip = n
                            .skip_subscribers_of
                            .is_some_and(|r| w.subs.iter().any(|sub| sub.room == r));
                        if !skip {
                            w.send_text(n.frame.clone());
                            s.metrics.frames_out += 1;
                        }
                    }
                    true
                });
            }
        }
    }
}

/// Drains a user's subscription into coalesced notes.
fn collect(engine: &Engine, user: UserId, entry: &mut UserEntry) -> Vec<Note> {
    let mut unread: HashMap<RoomId, (u64, u64)> = HashMap::new();
    let mut notes = Vec::new();
    while let Some(sub) = &entry.sub {
        match sub.events().try_recv() {
            Ok(e) => match e {
                UserEvent::Unread {
                    room_id,
                    unread: n,
                    head_seq,
                } => {
                    unread.insert(room_id, (n, head_seq));
                }
                UserEvent::RoomJoined(r) => notes.push(Note::new(
                    &json!({"type": "room_joined", "room_id": r.room.id.to_string(),
                            "name": r.room.name, "kind": r.room.kind.as_str(),
                            "unread": r.unread, "head_seq": r.room.head_seq}),
                    None,
                )),
                UserEvent::RoomLeft { room_id } => notes.push(Note::new(
                    &json!({"type": "room_left", "room_id": room_id.to_string()}),
                    None,
                )),
                _ => {}
            },
            Err(TryRecvError::Empty) => break,
            // Lagged, revoked (deactivated) or closed: subscribe again below.
            Err(_) => entry.sub = None,
        }
    }
    if entry.sub.is_none() {
        entry.sub = engine.subscribe_user(user).ok();
    }
    for (room, (n, head)) in unread {
        let before = entry.seen.insert(room, (n, head));
        if before == Some((n, head)) {
            continue;
        }
        if before.is_some_and(|(_, h)| h == head) {
            entry.bumps.remove(&room);
            notes.push(unread_note(room, n, None));
        } else {
            entry.bumps.insert(room, n);
        }
    }
    let now = Instant::now();
    if now >= entry.next_bumps {
        entry.next_bumps = next_on_phase(entry.next_bumps, now);
        for (room, n) in entry.bumps.drain() {
            notes.push(unread_note(room, n, Some(room)));
        }
    }
    notes
}

/// The first time after `now` that is a whole number of [`BUMP_EVERY`] after `due`: the
/// user's phase survives quiet spells and late sweeps, so users never fall into step.
fn next_on_phase(due: Instant, now: Instant) -> Instant {
    let periods = (now.saturating_duration_since(due).as_nanos() / BUMP_EVERY.as_nanos()) + 1;
    due + BUMP_EVERY * u32::try_from(periods).unwrap_or(u32::MAX)
}

fn unread_note(room: RoomId, unread: u64, skip_subscribers_of: Option<RoomId>) -> Note {
    Note::new(
        &json!({"type": "unread", "room_id": room.to_string(), "unread": unread}),
        skip_subscribers_of,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bump_times_keep_their_phase_through_quiet_spells() {
        let due = Instant::now();
        let ms = Duration::from_millis;
        // On time, late within a period, and after a long quiet spell: always on the grid.
        assert_eq!(next_on_phase(due, due), due + BUMP_EVERY);
        assert_eq!(next_on_phase(due, due + ms(130)), due + BUMP_EVERY);
        let later = next_on_phase(due, due + BUMP_EVERY * 7 + ms(5));
        assert_eq!(later, due + BUMP_EVERY * 8);
    }

    #[test]
    fn users_start_on_different_phases() {
        let starts: std::collections::HashSet<u128> = (0..20)
            .map(|_| {
                let at = first_bumps(UserId::from_bytes(*uuid::Uuid::now_v7().as_bytes()));
                at.saturating_duration_since(Instant::now()).as_millis() / 100
            })
            .collect();
        // 20 random users over 20 slots of 100 ms: far more than a couple of slots.
        assert!(starts.len() >= 6, "{starts:?}");
    }
}
