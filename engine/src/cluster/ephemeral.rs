//! Presence and typing between the nodes of a cluster. A worker thread keeps this node's
//! presence in Redis ([`super::presence`]) and publishes its presence and typing events on
//! one channel every node listens to (through the [`super::broker::Broker`]'s subscriber);
//! what other nodes publish there is shown to this node's subscribers. Callers never wait
//! on Redis: they hand the worker a note and return. While Redis is unreachable the node
//! behaves as a node alone (its own users' presence and typing, told to its own
//! subscribers); around an outage a presence event may be told twice, never lost for good.

use std::collections::HashSet;
use std::str::FromStr;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};
use parking_lot::Mutex;

use super::Cluster;
use super::broker::{BrokerEvent, frame};
use super::link::{self, Link};
use super::presence::ClusterPresence;
use super::typing::{Refreshes, RemoteTyping};
use crate::error::{Error, Result};
use crate::events::Event;
use crate::ids::{RoomId, UserId};
use crate::live::Live;

/// What a caller hands the worker.
enum Note {
    Presence {
        room: RoomId,
        user: UserId,
        online: bool,
    },
    Typing {
        room: RoomId,
        user: UserId,
        active: bool,
    },
    Stop,
}

/// This node's part in the cluster's presence and typing.
pub(crate) struct Ephemeral {
    notes: Sender<Note>,
    presence: Arc<ClusterPresence>,
    /// For [`Ephemeral::online`], asked on the caller's thread.
    query: Link,
    refreshes: Mutex<Refreshes>,
    worker: Mutex<Option<JoinHandle<()>>>,
}

impl Ephemeral {
    /// Joins the cluster on the Redis at `url` as engine `origin` of the database with
    /// `epoch`: this node's presence entries lapse within `lapse` after it stops refreshing
    /// them. Redis need not be up yet.
    pub(crate) fn start(
        url: &str,
        epoch: &str,
        origin: i64,
        lapse: Duration,
        live: Arc<Live>,
        cluster: &Cluster,
    ) -> Result<Ephemeral> {
        let bad = |e: redis::RedisError| Error::validation("broker", e.to_string());
        let node = origin.to_string();
        // Outside the namespace the cluster's change listener hears (`ember:<epoch>:`).
        let channel = format!("ember:ephemeral:{epoch}");
        let lapse_ms = (lapse.as_millis() as u64).max(30);
        let presence = Arc::new(ClusterPresence::new(
            &format!("ember:{epoch}:"),
            &node,
            lapse_ms * 2 / 3,
        ));
        let remote = Arc::new(Mutex::new(RemoteTyping::default()));
        let shown = live.clone();
        let heard = remote.clone();
        cluster.broker().listen(
            channel.clone(),
            Box::new(move |event| {
                if let BrokerEvent::Message { payload, .. } = event {
                    show(&shown, &heard, payload);
                }
            }),
        );
        cluster.broker().subscribe(channel.clone());
        let (tx, rx) = crossbeam_channel::unbounded();
        let worker = Worker {
            link: Link::new(url, link::BACKGROUND).map_err(bad)?,
            presence: presence.clone(),
            live,
            remote,
            origin,
            channel,
            held: HashSet::new(),
            // An entry lives 2/3 of the TTL and is refreshed every 1/3, so a dead node's
            // users are offline within the TTL (with the sweep every 1/6, at most 1 s).
            refresh_every: Duration::from_millis(lapse_ms / 3),
            sweep_every: Duration::from_millis((lapse_ms / 6).clamp(5, 1000)),
        };
        let worker = std::thread::Builder::new()
            .name("ember-cluster".into())
            .spawn(move || worker.run(&rx))
            .map_err(|e| Error::Storage(format!("cannot start a thread: {e}")))?;
        Ok(Ephemeral {
            notes: tx,
            presence,
            query: Link::new(url, link::CALLER).map_err(bad)?,
            refreshes: Mutex::new(Refreshes::default()),
            worker: Mutex::new(Some(worker)),
        })
    }

    /// The user's first connection on this node opened (`online`) or its last one closed
    /// or lapsed: the room hears of it when the cluster as a whole changed.
    pub(crate) fn presence_changed(&self, room: RoomId, user: UserId, online: bool) {
        let _ = self.notes.send(Note::Presence { room, user, online });
    }

    /// This node told its subscribers that the user started or stopped typing: the other
    /// nodes hear it too.
    pub(crate) fn typing_changed(&self, room: RoomId, user: UserId, active: bool, now: i64) {
        self.refreshes.lock().published(room, user, active, now);
        let _ = self.notes.send(Note::Typing { room, user, active });
    }

    /// The user is still typing: the other nodes hear it at most once a second.
    pub(crate) fn typing_refreshed(&self, room: RoomId, user: UserId, now: i64) {
        if self.refreshes.lock().due(room, user, now) {
            let _ = self.notes.send(Note::Typing {
                room,
                user,
                active: true,
            });
        }
    }

    /// Forgets typists that stopped long ago.
    pub(crate) fn sweep(&self, now: i64) {
        self.refreshes.lock().sweep(now);
    }

    /// The users online in the room on any node; `None` while Redis is unreachable.
    pub(crate) fn online(&self, room: RoomId) -> Option<Vec<UserId>> {
        self.presence.online(&self.query, room)
    }

    /// Lets go of this node's presence (the rooms hear its users leave) and stops the
    /// worker. Idempotent.
    pub(crate) fn stop(&self) {
        let _ = self.notes.send(Note::Stop);
        if let Some(thread) = self.worker.lock().take() {
            if thread.join().is_err() {
                log::error!("the cluster presence thread panicked");
            }
        }
    }
}

struct Worker {
    link: Link,
    presence: Arc<ClusterPresence>,
    live: Arc<Live>,
    remote: Arc<Mutex<RemoteTyping>>,
    origin: i64,
    channel: String,
    /// The (room, user) pairs this node holds in Redis.
    held: HashSet<(RoomId, UserId)>,
    refresh_every: Duration,
    sweep_every: Duration,
}

impl Worker {
    fn run(mut self, rx: &Receiver<Note>) {
        let mut next_refresh = Instant::now() + self.refresh_every;
        let mut next_sweep = Instant::now() + self.sweep_every;
        loop {
            let wait = next_refresh
                .min(next_sweep)
                .saturating_duration_since(Instant::now());
            match rx.recv_timeout(wait) {
                Ok(Note::Presence { room, user, online }) => self.presence(room, user, online),
                Ok(Note::Typing { room, user, active }) => {
                    self.publish(&Wire::Typing { room, user, active });
                }
                Ok(Note::Stop) | Err(RecvTimeoutError::Disconnected) => break,
                Err(RecvTimeoutError::Timeout) => {}
            }
            if Instant::now() >= next_refresh {
                self.refresh();
                next_refresh = Instant::now() + self.refresh_every;
            }
            if Instant::now() >= next_sweep {
                self.sweep();
                next_sweep = Instant::now() + self.sweep_every;
            }
        }
        for (room, user) in std::mem::take(&mut self.held) {
            self.presence(room, user, false);
        }
    }

    fn presence(&mut self, room: RoomId, user: UserId, online: bool) {
        let changed = if online {
            self.held.insert((room, user));
            self.presence.join(&self.link, room, user)
        } else {
            self.held.remove(&(room, user));
            self.presence.leave(&self.link, room, user)
        };
        match changed {
            Some(true) => self.tell(room, user, online),
            Some(false) => {}
            // Redis is unreachable: this node alone decides for its own subscribers.
            None => self.live.hub.publish(Event::Presence {
                room_id: room,
                user_id: user,
                online,
            }),
        }
    }

    /// Tells this node's subscribers and the other nodes.
    fn tell(&self, room: RoomId, user: UserId, online: bool) {
        self.live.hub.publish(Event::Presence {
            room_id: room,
            user_id: user,
            online,
        });
        self.publish(&Wire::Presence { room, user, online });
    }

    /// Publishes at once (not through the broker's queue), so that a closing node's
    /// offline events leave before it stops.
    fn publish(&self, wire: &Wire) {
        let payload = frame(self.origin, wire.encode().as_bytes());
        let _: Option<i64> = self.link.run("publish", |c| {
            redis::cmd("PUBLISH")
                .arg(&self.channel)
                .arg(&payload)
                .query(c)
        });
    }

    fn refresh(&mut self) {
        let pairs: Vec<_> = self.held.iter().copied().collect();
        // Pairs that lapsed meanwhile (a stall, or Redis lost its data) come back online.
        for (room, user) in self
            .presence
            .refresh(&self.link, &pairs)
            .unwrap_or_default()
        {
            self.tell(room, user, true);
        }
    }

    fn sweep(&mut self) {
        for (room, user) in self.presence.sweep(&self.link).unwrap_or_default() {
            self.tell(room, user, false);
        }
        let now = self.live.clock.now_ms();
        let stopped = self.remote.lock().sweep(now);
        for (room_id, user_id) in stopped {
            self.live.hub.publish(Event::Typing {
                room_id,
                user_id,
                active: false,
            });
        }
    }
}

/// Shows another node's event to this node's subscribers (on the broker's thread).
fn show(live: &Live, remote: &Mutex<RemoteTyping>, payload: &[u8]) {
    let Some(wire) = std::str::from_utf8(payload).ok().and_then(Wire::decode) else {
        log::warn!("cluster: dropped a malformed presence or typing publication");
        return;
    };
    match wire {
        Wire::Presence { room, user, online } => live.hub.publish(Event::Presence {
            room_id: room,
            user_id: user,
            online,
        }),
        Wire::Typing { room, user, active } => {
            let shown = remote.lock().heard(room, user, active, live.clock.now_ms());
            if let Some(active) = shown {
                live.hub.publish(Event::Typing {
                    room_id: room,
                    user_id: user,
                    active,
                });
            }
        }
    }
}

/// A presence or typing event as it crosses Redis: `p|room|user|1` (the broker's frame
/// carries the sending engine).
#[derive(Debug, PartialEq)]
enum Wire {
    Presence {
        room: RoomId,
        user: UserId,
        online: bool,
    },
    Typing {
        room: RoomId,
        user: UserId,
        active: bool,
    },
}

impl Wire {
    fn encode(&self) -> String {
        let (kind, room, user, on) = match self {
            Wire::Presence { room, user, online } => ('p', room, user, online),
            Wire::Typing { room, user, active } => ('t', room, user, active),
        };
        format!("{kind}|{room}|{user}|{}", u8::from(*on))
    }

    /// The event; `None` for anything else.
    fn decode(text: &str) -> Option<Wire> {
        let mut parts = text.split('|');
        let kind = parts.next()?;
        let room = RoomId::from_str(parts.next()?).ok()?;
        let user = UserId::from_str(parts.next()?).ok()?;
        let on = match parts.next()? {
            "1" => true,
            "0" => false,
            _ => return None,
        };
        if parts.next().is_some() {
            return None;
        }
        let wire = match kind {
            "p" => Wire::Presence {
                room,
                user,
                online: on,
            },
            "t" => Wire::Typing {
                room,
                user,
                active: on,
            },
            _ => return None,
        };
        Some(wire)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    #[test]
    fn wire_round_trips_and_refuses_garbage() {
        let room = RoomId(Uuid::now_v7());
        let user = UserId(Uuid::now_v7());
        for wire in [
            Wire::Presence {
                room,
                user,
                online: true,
            },
            Wire::Typing {
                room,
                user,
                active: false,
            },
        ] {
            let text = wire.encode();
            assert_eq!(Wire::decode(&text), Some(wire));
        }
        for bad in ["", "p", "x|a|b|1", "p|not-a-uuid|x|1"] {
            assert_eq!(Wire::decode(bad), None, "{bad}");
        }
        let extra = format!("p|{room}|{user}|1|more");
        assert_eq!(Wire::decode(&extra), None);
    }
}
