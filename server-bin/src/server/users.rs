//! User-level events (unread counts, rooms joined and left), shared by all of a user's
//! connections: one engine user subscription per user, not per connection.
//!
//! Unread counts are coalesced per room. A count that changed because the user read (the
//! room's head did not move) goes to every connection of the user at the next sweep; one
//! that changed because messages arrived goes, at most every [`BUMP_EVERY`], only to
//! connections not subscribed to that room (subscribers see the messages themselves).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use bytes::Bytes;
use ember_engine::{Engine, RoomId, RoomSummary, UserEvent, UserId};

use super::feeds::{Next, UserFeed};
use super::frames::{RoomJson, ServerFrame};
use super::who::Who;

/// Unread counts raised by new messages are sent at most this often per user.
pub const BUMP_EVERY: Duration = Duration::from_secs(2);

/// What the server must do about a user's connections, learned from the user's feed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// Some of the user's sessions ended: check each connection's token again and close
    /// those refused.
    SessionsRevoked,
    /// The user was deactivated: close every connection.
    Deactivated,
}

/// What the server knows per connected user.
pub struct UserEntry {
    feed: Option<UserFeed>,
    /// Deactivated: the feed is not opened again.
    deactivated: bool,
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
            feed: UserFeed::open(engine, user),
            deactivated: false,
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

/// A frame for a user's connections.
pub struct Note {
    /// The encoded frame, shared by every connection of the user.
    pub frame: Bytes,
    /// Connections subscribed to this room skip it (they see the messages themselves).
    pub skip_subscribers_of: Option<RoomId>,
}

impl Note {
    fn new(frame: &ServerFrame<'_>, skip_subscribers_of: Option<RoomId>) -> Self {
        Self {
            frame: Bytes::from(frame.encode()),
            skip_subscribers_of,
        }
    }
}

/// What one sweep found: frames for connections, and access changes to act on.
#[derive(Default)]
pub struct Swept {
    /// Frames, with the connections they go to.
    pub notes: Vec<(Vec<Who>, Vec<Note>)>,
    /// Access changes, with the connections they concern.
    pub access: Vec<(Vec<Who>, Access)>,
}

impl Users {
    /// The user-level frames and access changes that arrived since the last sweep.
    pub fn sweep(&mut self, engine: &Engine) -> Swept {
        let mut out = Swept::default();
        for (user, entry) in &mut self.map {
            let mut access = None;
            let notes = collect(engine, *user, entry, &mut access);
            if !notes.is_empty() {
                out.notes.push((entry.conns.clone(), notes));
            }
            if let Some(access) = access {
                out.access.push((entry.conns.clone(), access));
            }
        }
        out
    }
}

/// Drains a user's subscription into coalesced notes, and notes in `access` what the
/// server must check or close.
fn collect(
    engine: &Engine,
    user: UserId,
    entry: &mut UserEntry,
    access: &mut Option<Access>,
) -> Vec<Note> {
    let mut unread: HashMap<RoomId, (u64, u64)> = HashMap::new();
    let mut notes = Vec::new();
    while let Some(feed) = &entry.feed {
        let e = match feed.next() {
            Next::Event(e) => e,
            Next::Empty => break,
            Next::Revoked => {
                *access = Some(Access::Deactivated);
                entry.deactivated = true;
                entry.feed = None;
                break;
            }
            Next::Lagged | Next::Ended => {
                // A missed `SessionsRevoked` must not leave a revoked socket open.
                access.get_or_insert(Access::SessionsRevoked);
                entry.feed = None;
                break;
            }
        };
        match e {
            UserEvent::Unread {
                room_id,
                unread: n,
                head_seq,
            } => {
                unread.insert(room_id, (n, head_seq));
            }
            UserEvent::RoomJoined(r) => notes.push(Note::new(
                &ServerFrame::RoomJoined {
                    room: RoomJson::from(&r),
                },
                None,
            )),
            UserEvent::RoomLeft { room_id } => notes.push(Note::new(
                &ServerFrame::RoomLeft { room_id: &room_id },
                None,
            )),
            UserEvent::SessionsRevoked => {
                access.get_or_insert(Access::SessionsRevoked);
            }
            _ => {}
        }
    }
    if entry.feed.is_none() && !entry.deactivated {
        entry.feed = UserFeed::open(engine, user);
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
        &ServerFrame::Unread {
            room_id: &room,
            unread,
        },
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
