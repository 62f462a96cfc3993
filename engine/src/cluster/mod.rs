//! The cluster: engines on one shared store, joined over Redis PUB/SUB, each delivering
//! every engine's committed changes to its own subscribers with the guarantees of one
//! engine (each change once, per-room `change_seq` order, no duplicate at the
//! replay→live handover).
//!
//! - **Publishing.** After COMMIT the dispatcher thread hands each change to the
//!   [`broker::Broker`], whose own thread publishes it ([`wire`]: JSON, one change per
//!   publication); commits and local delivery never wait on Redis. Message changes, sounds
//!   and membership announcements go to the room's channel (`ember:<epoch>:room:<id>`);
//!   joins, read positions and involvement to one channel every engine hears
//!   (`ember:<epoch>:users`). Access changes (a member removed, a user deactivated,
//!   sessions revoked) are not published: every engine reads them from the store's access
//!   log ([`crate::live`]'s watch), within 100 ms.
//! - **Only rooms with local subscribers cost anything.** An engine subscribes to a room's
//!   channel while it has room subscriptions there or user subscriptions of its members,
//!   and unsubscribes ≤ 250 ms after the last one went. Chosen over one shared channel
//!   filtered on receipt by measurement (`tests/cluster_measurements.rs`,
//!   `one_stream_versus_room_channels`, 2026-11-30, this 2-core machine): receiving and
//!   decoding a 350-byte publication costs a node 9–14 µs, so with one stream every node
//!   would pay that for every change of the whole cluster (10k changes/s ≈ 10–14% of a
//!   core per node, growing with the cluster), while Redis's PUBLISH cost did not grow
//!   with the number of channels subscribed (20k publications: 188 ms with 1000 channels
//!   subscribed, 273 ms with one). A room channel costs one SUBSCRIBE (applied within
//!   10 ms) and one store read when a room gets its first subscriber here.
//! - **Order and gap fill.** Each room with room subscriptions has a [`reorder::Reorder`]
//!   buffer: a change ahead of a missing one is held; a gap that does not close within
//!   [`reorder::GAP_MS`], an own commit ahead of a missing one, a new channel subscription
//!   and every broker reconnect (or a loss another engine announced) make the engine read
//!   the room's changes feed from the store after the last delivered change
//!   ([`crate::store::backend::Reads::room_changes`]). While Redis is away, the feeds of
//!   rooms with subscribers are read every second, so other engines' changes still arrive.
//! - **The handover.** A subscription opens its room's buffer before it registers (so
//!   nothing is delivered around it), then anchors it at its replay's end: the buffer
//!   delivers from the lowest anchor of the subscriptions opening together; the hub drops
//!   what a subscription already had.
//! - **User-level changes** (joins, read positions, involvement) have no sequence: they are
//!   applied as they come; after a broker reconnect every user subscription reads its room
//!   list again, and whatever changed meanwhile (new rooms, unread counts) is sent.
//! - Remote changes reach subscriptions only: plugins and the notification stream hear
//!   the commits of the engine that made them, once in the cluster.

pub(crate) mod broker;
mod ephemeral;
mod link;
pub(crate) mod presence;
pub(crate) mod ratelimit;
pub(crate) mod reorder;
pub(crate) mod typing;
pub(crate) mod wire;

pub(crate) use ephemeral::Ephemeral;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender};
use parking_lot::Mutex;

use crate::error::Result;
use crate::events::{Event, Shared, SharedEvent};
use crate::ids::RoomId;
use crate::live::{Change, Live};
use crate::store::backend::Reads;
use broker::{Broker, BrokerEvent};
use reorder::{Reorder, Sequenced};
use wire::{Scope, Wire};

/// How often the feeds of rooms with subscribers are read while Redis is away.
const POLL_WHILE_AWAY: Duration = Duration::from_secs(1);
/// How long a failed store read waits before it is tried again.
const READ_RETRY: Duration = Duration::from_millis(100);
/// Most bytes of other engines' publications waiting for the dispatcher; beyond it they
/// are dropped and the store read instead (as after a lost publication).
const INBOX_BYTES: usize = 64 << 20;

/// What the broker's thread hands the dispatcher.
pub(crate) enum Inbound {
    /// Another engine committed this (published in that many bytes).
    Remote(Change, usize),
    /// A room's channel is subscribed now.
    Subscribed(RoomId),
    /// Publications may have been lost.
    Resync,
    /// Something needs the dispatcher's attention (a buffer anchored).
    Wake,
}

impl Sequenced for SharedEvent {
    fn change_seq(&self) -> u64 {
        self.event().change_seq().unwrap_or(0)
    }
    fn bytes(&self) -> usize {
        let content = match self.event() {
            Event::MessageCreated(m) | Event::MessageEdited(m) | Event::MessageDeleted(m) => {
                m.content.len()
            }
            _ => 0,
        };
        content + 256
    }
}

#[derive(Default)]
struct State {
    rooms: HashMap<RoomId, Reorder<SharedEvent>>,
    /// Rooms whose channel this engine asked the broker for.
    channels: HashSet<RoomId>,
    /// Rooms whose buffer may want a store read.
    attention: HashSet<RoomId>,
}

/// One engine's membership in a cluster.
pub(crate) struct Cluster {
    broker: Broker,
    state: Mutex<State>,
    inbox: Receiver<Inbound>,
    wake: Sender<Inbound>,
    users: String,
    room_prefix: String,
    start: Instant,
    /// Until when store reads are paused after a failure.
    retry_at: Mutex<Option<Instant>>,
    last_poll: Mutex<Instant>,
    /// Store reads made to fill gaps.
    reads: AtomicU64,
    /// Bytes of publications in the inbox.
    inbox_bytes: Arc<AtomicUsize>,
    /// A resync is in the inbox (one is enough).
    resync_queued: Arc<AtomicBool>,
}

impl Cluster {
    /// Joins the cluster on `url` (a `redis://` URL), in the namespace of the database's
    /// epoch, as engine `origin`.
    pub(crate) fn start(url: &str, epoch: &str, origin: i64) -> Result<Cluster> {
        let broker = Broker::start(url, epoch, origin)?;
        let (wake, inbox) = crossbeam_channel::unbounded();
        let users = broker.channel("users");
        let room_prefix = broker.channel("room:");
        let prefix = room_prefix.clone();
        let inbox_bytes = Arc::new(AtomicUsize::new(0));
        let resync_queued = Arc::new(AtomicBool::new(false));
        let sending = Inbox {
            tx: wake.clone(),
            bytes: inbox_bytes.clone(),
            resync_queued: resync_queued.clone(),
        };
        broker.listen(
            broker.channel(""),
            Box::new(move |event| listen(&sending, &prefix, event)),
        );
        broker.subscribe(users.clone());
        Ok(Cluster {
            broker,
            state: Mutex::new(State::default()),
            inbox,
            wake,
            users,
            room_prefix,
            start: Instant::now(),
            retry_at: Mutex::new(None),
            last_poll: Mutex::new(Instant::now()),
            reads: AtomicU64::new(0),
            inbox_bytes,
            resync_queued,
        })
    }

    /// How many store reads filled gaps so far.
    pub(crate) fn store_reads(&self) -> u64 {
        self.reads.load(Ordering::Relaxed)
    }

    /// The connection to Redis PUB/SUB (presence and typing use it too).
    pub(crate) fn broker(&self) -> &Broker {
        &self.broker
    }

    /// What the dispatcher waits on besides the writer.
    pub(crate) fn inbox(&self) -> &Receiver<Inbound> {
        &self.inbox
    }

    fn now(&self) -> u64 {
        self.start.elapsed().as_millis() as u64
    }

    fn room_channel(&self, room: RoomId) -> String {
        format!("{}{room}", self.room_prefix)
    }

    /// Stops the broker's threads.
    pub(crate) fn stop(&self) {
        self.broker.stop();
    }

    /// Publishes a committed change for the other engines (returns at once).
    pub(crate) fn publish(&self, change: &Change) {
        let Some((scope, wire)) = Wire::from_change(change) else {
            return;
        };
        let channel = match scope {
            Scope::Room(room) => self.room_channel(room),
            Scope::Users => self.users.clone(),
        };
        self.broker.publish(channel, wire.encode());
    }

    /// A subscription to `room` is about to register: hold the room's changes until it
    /// [`Cluster::anchor`]s, and listen to the room's channel.
    pub(crate) fn open(&self, room: RoomId) {
        let mut st = self.state.lock();
        st.rooms.entry(room).or_default().open();
        if st.channels.insert(room) {
            self.broker.subscribe(self.room_channel(room));
        }
    }

    /// The subscription registered and read its starting point `at`.
    pub(crate) fn anchor(&self, live: &Live, room: RoomId, at: u64) {
        self.settle(live, room, Some(at));
    }

    /// The subscription failed before it anchored.
    pub(crate) fn cancel(&self, live: &Live, room: RoomId) {
        self.settle(live, room, None);
    }

    fn settle(&self, live: &Live, room: RoomId, at: Option<u64>) {
        let now = self.now();
        let mut out = Vec::new();
        let mut st = self.state.lock();
        let Some(buf) = st.rooms.get_mut(&room) else {
            return;
        };
        match at {
            Some(at) => buf.anchor(at, now, &mut out),
            None => buf.cancel(now, &mut out),
        }
        st.attention.insert(room);
        // Delivered under the lock: the room's order holds across threads.
        for e in out {
            live.hub.publish_shared(e);
        }
        drop(st);
        let _ = self.wake.send(Inbound::Wake);
    }

    /// Delivers one of this engine's committed message changes through the room's buffer
    /// (at once when nothing before it is missing; else after a store read).
    pub(crate) fn deliver_local(&self, live: &Live, reader: &dyn Reads, shared: &SharedEvent) {
        let Some(room) = shared.event().room_id() else {
            return;
        };
        let mut st = self.state.lock();
        let Some(buf) = st.rooms.get_mut(&room) else {
            live.hub.publish_shared(shared.clone());
            return;
        };
        let mut out = Vec::new();
        buf.arrive(shared.clone(), true, self.now(), &mut out);
        for e in out {
            live.hub.publish_shared(e);
        }
        st.attention.insert(room);
        self.serve_locked(&mut st, live, reader);
    }

    /// Handles what the broker's thread handed over.
    pub(crate) fn inbound(&self, live: &Live, reader: &dyn Reads, inbound: Inbound) {
        if let Inbound::Remote(_, bytes) = &inbound {
            self.inbox_bytes.fetch_sub(*bytes, Ordering::AcqRel);
        }
        match inbound {
            Inbound::Remote(Change::Room(event), _) => self.remote_event(live, event),
            Inbound::Remote(change, _) => live.hub.apply(change),
            Inbound::Subscribed(room) => {
                let mut st = self.state.lock();
                if let Some(buf) = st.rooms.get_mut(&room) {
                    buf.resync();
                    st.attention.insert(room);
                }
            }
            Inbound::Resync => {
                self.resync_queued.store(false, Ordering::Release);
                self.resync_rooms();
                refresh_user_subs(live, reader);
            }
            Inbound::Wake => {}
        }
    }

    fn remote_event(&self, live: &Live, event: Event) {
        let Some(room) = event.room_id() else {
            return;
        };
        let shared = Shared::new(event);
        if shared.event().change_seq().is_none() {
            // Sounds and membership announcements have no place in the sequence.
            live.hub.publish_shared(shared);
            return;
        }
        let mut st = self.state.lock();
        let State {
            rooms,
            channels,
            attention,
        } = &mut *st;
        match rooms.get_mut(&room) {
            Some(buf) => {
                let mut out = Vec::new();
                buf.arrive(shared, false, self.now(), &mut out);
                for e in out {
                    live.hub.publish_shared(e);
                }
                attention.insert(room);
            }
            // Only user subscriptions watch the room: unread counts need no order.
            None if channels.contains(&room) => live.hub.publish_shared(shared),
            None => {}
        }
    }

    fn resync_rooms(&self) {
        let mut st = self.state.lock();
        let State {
            rooms, attention, ..
        } = &mut *st;
        for (room, buf) in rooms.iter_mut() {
            buf.resync();
            attention.insert(*room);
        }
    }

    /// Makes the store reads that are due; returns how long until the next may be.
    pub(crate) fn serve(&self, live: &Live, reader: &dyn Reads) -> Option<Duration> {
        let mut st = self.state.lock();
        self.serve_locked(&mut st, live, reader)
    }

    fn serve_locked(&self, st: &mut State, live: &Live, reader: &dyn Reads) -> Option<Duration> {
        if let Some(at) = *self.retry_at.lock() {
            if Instant::now() < at {
                return Some(at - Instant::now());
            }
        }
        let now = self.now();
        let mut next: Option<u64> = None;
        let rooms: Vec<RoomId> = st.attention.iter().copied().collect();
        for room in rooms {
            let Some(buf) = st.rooms.get_mut(&room) else {
                st.attention.remove(&room);
                continue;
            };
            while let Some(since) = buf.due(now) {
                self.reads.fetch_add(1, Ordering::Relaxed);
                let page = match reader.room_changes(room, since, crate::MAX_CHANGES_PAGE) {
                    Ok(page) => page,
                    Err(e) => {
                        log::warn!("cluster: cannot read room {room}'s changes: {e}");
                        *self.retry_at.lock() = Some(Instant::now() + READ_RETRY);
                        return Some(READ_RETRY);
                    }
                };
                let upto = match (page.more, page.messages.last()) {
                    (true, Some(last)) => last.change_seq,
                    _ => page.head_change_seq,
                };
                let complete = !page.more || page.messages.is_empty();
                let changes = page
                    .messages
                    .into_iter()
                    .map(|m| Shared::new(crate::engine::replay_event(m)))
                    .collect();
                let mut out = Vec::new();
                buf.filled(since, changes, upto, complete, now, &mut out);
                for e in out {
                    live.hub.publish_shared(e);
                }
            }
            match buf.deadline() {
                Some(d) => next = Some(next.map_or(d, |n| n.min(d))),
                None => {
                    st.attention.remove(&room);
                }
            }
        }
        next.map(|d| Duration::from_millis(d.saturating_sub(now)))
    }

    /// Housekeeping every dispatcher tick: forgets rooms nobody here subscribes to any
    /// more, follows the rooms user subscriptions watch, and reads the feeds while Redis
    /// is away.
    pub(crate) fn tick(&self, live: &Live) {
        let interest = live.hub.interest();
        let mut st = self.state.lock();
        let State {
            rooms,
            channels,
            attention,
        } = &mut *st;
        rooms.retain(|room, buf| live.hub.has_room_subs(*room) || !buf.idle());
        for room in &interest {
            if channels.insert(*room) {
                self.broker.subscribe(self.room_channel(*room));
            }
        }
        channels.retain(|room| {
            let keep = interest.contains(room) || rooms.contains_key(room);
            if !keep {
                self.broker.unsubscribe(self.room_channel(*room));
            }
            keep
        });
        if !self.broker.connected() && self.last_poll.lock().elapsed() >= POLL_WHILE_AWAY {
            *self.last_poll.lock() = Instant::now();
            for (room, buf) in rooms.iter_mut() {
                buf.resync();
                attention.insert(*room);
            }
        }
    }
}

/// After a possible loss, every user subscription reads its room list again.
fn refresh_user_subs(live: &Live, reader: &dyn Reads) {
    for (user, id) in live.hub.user_subs() {
        match reader.room_list(user) {
            Ok(rooms) => live.hub.reconcile_user_sub(user, id, &rooms),
            Err(e) => log::warn!("cluster: cannot refresh {user}'s room list: {e}"),
        }
    }
}

/// The sending side of the dispatcher's inbox, as the broker's listener holds it.
struct Inbox {
    tx: Sender<Inbound>,
    bytes: Arc<AtomicUsize>,
    resync_queued: Arc<AtomicBool>,
}

impl Inbox {
    fn resync(&self) {
        if !self.resync_queued.swap(true, Ordering::AcqRel) {
            let _ = self.tx.send(Inbound::Resync);
        }
    }
}

/// The broker's listener: decodes on the broker's thread, hands over to the dispatcher.
fn listen(inbox: &Inbox, room_prefix: &str, event: BrokerEvent<'_>) {
    let queued = &inbox.bytes;
    let inbound = match event {
        BrokerEvent::Message {
            channel, payload, ..
        } => {
            let bytes = payload.len();
            if queued.fetch_add(bytes, Ordering::AcqRel) + bytes > INBOX_BYTES {
                queued.fetch_sub(bytes, Ordering::AcqRel);
                log::warn!("cluster: the dispatcher is behind; reading the store instead");
                inbox.resync();
                return;
            }
            let change = Wire::decode(payload)
                .map_err(|e| e.to_string())
                .and_then(|w| w.into_change().ok_or_else(|| "unknown value".to_owned()));
            match change {
                Ok(change) => Inbound::Remote(change, bytes),
                Err(e) => {
                    queued.fetch_sub(bytes, Ordering::AcqRel);
                    log::warn!("cluster: dropped a malformed publication on {channel}: {e}");
                    return;
                }
            }
        }
        BrokerEvent::Subscribed { channel } => {
            let Some(room) = channel
                .strip_prefix(room_prefix)
                .and_then(|id| id.parse().ok())
            else {
                return;
            };
            Inbound::Subscribed(room)
        }
        BrokerEvent::Resync => {
            inbox.resync();
            return;
        }
    };
    let _ = inbox.tx.send(inbound);
}
