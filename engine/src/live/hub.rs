//! The registry of subscriptions and the fan-out into their queues.
//!
//! Each subscription owns an unbounded queue ([`super::queue`]) that holds no slots while
//! empty; the hub enforces the bound itself: a subscriber whose queue holds `capacity`
//! events is ended with [`RecvError::Lagged`] and detached.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use parking_lot::Mutex;

use super::queue::Sink;
use super::recv::RecvError;
use super::{Change, Joiners};
use crate::events::{Event, Notification, Shared, SharedEvent, UserEvent};
use crate::ids::{RoomId, UserId};
use crate::model::{Involvement, Role, RoomSummary};

struct RoomSub {
    id: u64,
    user: UserId,
    tx: Sink<SharedEvent>,
    /// Live events that arrived while the replay was being read.
    pending: Option<Vec<SharedEvent>>,
    /// Message events up to this change sequence were in the replay: drop them.
    floor: u64,
    /// The newest change sequence value queued.
    last: u64,
}

struct UserSub {
    id: u64,
    role: Role,
    tx: Sink<UserEvent>,
    /// (read position, head seq) per room, to compute unread counts.
    reads: HashMap<RoomId, (u64, u64)>,
}

#[derive(Default)]
struct Registry {
    rooms: HashMap<RoomId, Vec<RoomSub>>,
    users: HashMap<UserId, Vec<UserSub>>,
    /// Rooms → users with a user subscription who are members.
    watching: HashMap<RoomId, HashSet<UserId>>,
    notify: Vec<(u64, Sink<Notification>)>,
}

pub(crate) struct Hub {
    reg: Mutex<Registry>,
    capacity: usize,
    next_id: AtomicU64,
    /// Set by [`Hub::close`]: whatever registers afterwards ends at once.
    closed: AtomicBool,
}

/// Queues `event` unless the queue is full; then ends the stream with `Lagged` and
/// returns false (as when nobody receives any more).
fn deliver<T>(tx: &Sink<T>, event: T, capacity: usize, resume_from: u64) -> bool {
    if tx.len() >= capacity {
        tx.end(RecvError::Lagged { resume_from });
        return false;
    }
    tx.send(event)
}

impl Hub {
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            reg: Mutex::new(Registry::default()),
            capacity: capacity.max(1),
            next_id: AtomicU64::new(1),
            closed: AtomicBool::new(false),
        }
    }

    /// Ends every subscription with [`RecvError::Closed`] (each still delivers what was
    /// queued first) and ends any registered later at once. Called when the engine closes,
    /// whatever handles are still alive.
    pub(crate) fn close(&self) {
        let taken = {
            let mut reg = self.reg.lock();
            self.closed.store(true, Ordering::Release);
            std::mem::take(&mut *reg)
        };
        // Dropping the sinks (outside the lock: wakers run) ends their streams.
        drop(taken);
    }

    /// Ends `tx` at once when the hub is closed; the caller holds the registry lock, so a
    /// concurrent [`Hub::close`] either sees the registration or this sees the flag.
    fn refuse_if_closed<T>(&self, tx: &Sink<T>) -> bool {
        let closed = self.closed.load(Ordering::Acquire);
        if closed {
            tx.end(RecvError::Closed);
        }
        closed
    }

    pub(crate) fn capacity(&self) -> usize {
        self.capacity
    }

    fn id(&self) -> u64 {
        self.next_id.fetch_add(1, Ordering::Relaxed)
    }

    /// Registers a room subscription that buffers live events until [`Hub::go_live`].
    pub(crate) fn add_pending(&self, room: RoomId, user: UserId, tx: Sink<SharedEvent>) -> u64 {
        let id = self.id();
        let mut reg = self.reg.lock();
        if self.refuse_if_closed(&tx) {
            return id;
        }
        reg.rooms.entry(room).or_default().push(RoomSub {
            id,
            user,
            tx,
            pending: Some(Vec::new()),
            floor: 0,
            last: 0,
        });
        id
    }

    /// Queues the replay, then the buffered live events newer than `floor`, and switches
    /// the subscription to live delivery. With `keep_live: false` (an incomplete replay) the
    /// subscription is removed after its replay instead. Returns false when the subscription
    /// was revoked meanwhile.
    pub(crate) fn go_live(
        &self,
        room: RoomId,
        id: u64,
        replay: Vec<Event>,
        floor: u64,
        keep_live: bool,
    ) -> bool {
        let mut reg = self.reg.lock();
        let Some(subs) = reg.rooms.get_mut(&room) else {
            return false;
        };
        let Some(at) = subs.iter().position(|s| s.id == id) else {
            return false;
        };
        let sub = &mut subs[at];
        for e in replay {
            sub.tx.send(Shared::new(e));
        }
        sub.floor = floor;
        sub.last = floor;
        let buffered = sub.pending.take().unwrap_or_default();
        if !keep_live {
            subs.swap_remove(at);
            return true;
        }
        let capacity = self.capacity;
        let mut alive = true;
        for e in buffered {
            alive = alive && offer(sub, &e, capacity);
        }
        if !alive {
            subs.swap_remove(at);
        }
        true
    }

    pub(crate) fn remove_room_sub(&self, room: RoomId, id: u64) {
        let mut reg = self.reg.lock();
        if let Some(subs) = reg.rooms.get_mut(&room) {
            subs.retain(|s| s.id != id);
            if subs.is_empty() {
                reg.rooms.remove(&room);
            }
        }
    }

    /// Registers a user subscription with the user's rooms and read positions.
    pub(crate) fn add_user_sub(
        &self,
        user: UserId,
        role: Role,
        rooms: &[RoomSummary],
        tx: Sink<UserEvent>,
    ) -> u64 {
        let id = self.id();
        let mut reg = self.reg.lock();
        if self.refuse_if_closed(&tx) {
            return id;
        }
        for r in rooms {
            reg.watching.entry(r.room.id).or_default().insert(user);
        }
        let reads = rooms
            .iter()
            .map(|r| (r.room.id, (r.last_read_seq, r.room.head_seq)))
            .collect();
        reg.users.entry(user).or_default().push(UserSub {
            id,
            role,
            tx,
            reads,
        });
        id
    }

    /// Brings a new user subscription up to date with a room list read after it was
    /// registered: whatever changed between the two reads is sent as events.
    pub(crate) fn reconcile_user_sub(&self, user: UserId, id: u64, rooms: &[RoomSummary]) {
        let mut reg = self.reg.lock();
        for r in rooms {
            reg.watching.entry(r.room.id).or_default().insert(user);
        }
        let Some(sub) = reg
            .users
            .get_mut(&user)
            .and_then(|subs| subs.iter_mut().find(|s| s.id == id))
        else {
            return;
        };
        let mut events = Vec::new();
        let mut current = HashSet::new();
        for r in rooms {
            current.insert(r.room.id);
            let now = (r.last_read_seq, r.room.head_seq);
            match sub.reads.insert(r.room.id, now) {
                None => events.push(UserEvent::RoomJoined(r.clone())),
                Some(before) if before != now => events.push(UserEvent::Unread {
                    room_id: r.room.id,
                    unread: r.unread,
                    head_seq: r.room.head_seq,
                }),
                Some(_) => {}
            }
        }
        let gone: Vec<RoomId> = sub
            .reads
            .keys()
            .filter(|k| !current.contains(k))
            .copied()
            .collect();
        for room_id in &gone {
            sub.reads.remove(room_id);
            events.push(UserEvent::RoomLeft { room_id: *room_id });
        }
        for e in events {
            sub.tx.send(e);
        }
    }

    pub(crate) fn remove_user_sub(&self, user: UserId, id: u64) {
        let mut reg = self.reg.lock();
        let Some(subs) = reg.users.get_mut(&user) else {
            return;
        };
        let mut gone = Vec::new();
        subs.retain(|s| {
            if s.id == id {
                gone.extend(s.reads.keys().copied());
            }
            s.id != id
        });
        if subs.is_empty() {
            reg.users.remove(&user);
            for room in gone {
                unwatch(&mut reg.watching, room, user);
            }
        }
    }

    pub(crate) fn add_notify(&self, tx: Sink<Notification>) -> u64 {
        let id = self.id();
        let mut reg = self.reg.lock();
        if !self.refuse_if_closed(&tx) {
            reg.notify.push((id, tx));
        }
        id
    }

    pub(crate) fn remove_notify(&self, id: u64) {
        self.reg.lock().notify.retain(|(i, _)| *i != id);
    }

    pub(crate) fn wants_notifications(&self) -> bool {
        !self.reg.lock().notify.is_empty()
    }

    pub(crate) fn notify(&self, note: Notification) {
        let capacity = self.capacity;
        self.reg
            .lock()
            .notify
            .retain(|(_, tx)| deliver(tx, note.clone(), capacity, 0));
    }

    /// True when any room or user subscription is live (worth watching other processes).
    pub(crate) fn has_subscribers(&self) -> bool {
        let reg = self.reg.lock();
        !reg.rooms.is_empty() || !reg.users.is_empty()
    }

    /// True when the room has room subscriptions here.
    pub(crate) fn has_room_subs(&self, room: RoomId) -> bool {
        self.reg.lock().rooms.contains_key(&room)
    }

    /// The rooms anyone here listens to: with room subscriptions, or watched by a member's
    /// user subscription.
    pub(crate) fn interest(&self) -> HashSet<RoomId> {
        let reg = self.reg.lock();
        reg.rooms
            .keys()
            .chain(reg.watching.keys())
            .copied()
            .collect()
    }

    /// Every user subscription: (user, id).
    pub(crate) fn user_subs(&self) -> Vec<(UserId, u64)> {
        let reg = self.reg.lock();
        reg.users
            .iter()
            .flat_map(|(user, subs)| subs.iter().map(move |s| (*user, s.id)))
            .collect()
    }

    /// Fans a room-level event out to the room's subscribers.
    pub(crate) fn publish(&self, event: Event) {
        self.publish_shared(Shared::new(event));
    }

    /// Fans an already shared room-level event out to the room's subscribers.
    pub(crate) fn publish_shared(&self, shared: SharedEvent) {
        let room = shared.event().room_id();
        let mut reg = self.reg.lock();
        if let Some(room) = room {
            self.fan_out_room(&mut reg, room, &shared);
        }
        if let Event::MessageCreated(m) = shared.event() {
            self.bump_unread(&mut reg, m.room_id, m.seq, m.creator_id);
        }
    }

    fn fan_out_room(&self, reg: &mut Registry, room: RoomId, event: &SharedEvent) {
        let Some(subs) = reg.rooms.get_mut(&room) else {
            return;
        };
        let capacity = self.capacity;
        subs.retain_mut(|sub| match &mut sub.pending {
            Some(buffer) => {
                buffer.push(event.clone());
                true
            }
            None => offer(sub, event, capacity),
        });
        if subs.is_empty() {
            reg.rooms.remove(&room);
        }
    }

    fn bump_unread(&self, reg: &mut Registry, room: RoomId, head: u64, author: UserId) {
        let Some(users) = reg.watching.get(&room) else {
            return;
        };
        let users: Vec<UserId> = users.iter().copied().collect();
        for user in users {
            self.user_event(reg, user, |sub| {
                let (read, known_head) = sub.reads.entry(room).or_insert((0, 0));
                if user == author {
                    *read = head;
                }
                *known_head = head;
                Some(UserEvent::Unread {
                    room_id: room,
                    unread: head.saturating_sub(*read),
                    head_seq: head,
                })
            });
        }
    }

    /// Sends each of `user`'s user subscriptions the event `make` builds for it.
    fn user_event(
        &self,
        reg: &mut Registry,
        user: UserId,
        mut make: impl FnMut(&mut UserSub) -> Option<UserEvent>,
    ) {
        let Some(subs) = reg.users.get_mut(&user) else {
            return;
        };
        let capacity = self.capacity;
        subs.retain_mut(|sub| match make(sub) {
            Some(e) => deliver(&sub.tx, e, capacity, 0),
            None => true,
        });
        if subs.is_empty() {
            reg.users.remove(&user);
        }
    }

    /// Applies one committed change.
    pub(crate) fn apply(&self, change: Change) {
        match change {
            Change::Room(event) => self.publish(event),
            Change::Joined {
                room,
                users,
                involvement,
                new_room,
            } => {
                let mut reg = self.reg.lock();
                let joined: Vec<UserId> = match users {
                    Joiners::Users(users) => users,
                    Joiners::AllPeople => reg
                        .users
                        .iter()
                        .filter(|(_, subs)| subs.iter().any(|s| s.role != Role::Bot))
                        .map(|(u, _)| *u)
                        .collect(),
                };
                for user in joined {
                    // A new room's first members are not news to its (racing) subscribers.
                    if !new_room {
                        let event = Shared::new(Event::MembershipChanged {
                            room_id: room.id,
                            user_id: user,
                            joined: true,
                        });
                        self.fan_out_room(&mut reg, room.id, &event);
                    }
                    if reg.users.contains_key(&user) {
                        reg.watching.entry(room.id).or_default().insert(user);
                    }
                    self.user_event(&mut reg, user, |sub| {
                        // Already known when the subscription read its room list after the
                        // commit: no second RoomJoined.
                        if sub.reads.contains_key(&room.id) {
                            return None;
                        }
                        sub.reads.insert(room.id, (room.head_seq, room.head_seq));
                        Some(UserEvent::RoomJoined(RoomSummary {
                            room: room.clone(),
                            involvement,
                            unread: 0,
                            last_read_seq: room.head_seq,
                        }))
                    });
                }
            }
            Change::Left { room_id, user_id } => {
                let mut reg = self.reg.lock();
                self.revoke_room_subs(&mut reg, room_id, user_id);
                let event = Shared::new(Event::MembershipChanged {
                    room_id,
                    user_id,
                    joined: false,
                });
                self.fan_out_room(&mut reg, room_id, &event);
                unwatch(&mut reg.watching, room_id, user_id);
                self.user_event(&mut reg, user_id, |sub| {
                    sub.reads.remove(&room_id);
                    Some(UserEvent::RoomLeft { room_id })
                });
            }
            Change::Read {
                room_id,
                user_id,
                last_read_seq,
                head_seq,
            } => {
                let mut reg = self.reg.lock();
                self.user_event(&mut reg, user_id, |sub| {
                    sub.reads.insert(room_id, (last_read_seq, head_seq));
                    Some(UserEvent::Unread {
                        room_id,
                        unread: head_seq.saturating_sub(last_read_seq),
                        head_seq,
                    })
                });
            }
            Change::Involvement {
                room_id,
                user_id,
                involvement,
            } => {
                let mut reg = self.reg.lock();
                self.user_event(&mut reg, user_id, |_| {
                    Some(UserEvent::InvolvementChanged {
                        room_id,
                        involvement,
                    })
                });
            }
            Change::SessionsRevoked { user_id } => {
                let mut reg = self.reg.lock();
                self.user_event(&mut reg, user_id, |_| Some(UserEvent::SessionsRevoked));
            }
            Change::Deactivated { user_id } => {
                let mut reg = self.reg.lock();
                let rooms: Vec<RoomId> = reg.rooms.keys().copied().collect();
                for room in rooms {
                    self.revoke_room_subs(&mut reg, room, user_id);
                }
                if let Some(subs) = reg.users.remove(&user_id) {
                    for sub in subs {
                        sub.tx.end(RecvError::Revoked);
                        for room in sub.reads.keys() {
                            unwatch(&mut reg.watching, *room, user_id);
                        }
                    }
                }
            }
        }
    }

    fn revoke_room_subs(&self, reg: &mut Registry, room: RoomId, user: UserId) {
        let Some(subs) = reg.rooms.get_mut(&room) else {
            return;
        };
        subs.retain(|s| {
            if s.user == user {
                s.tx.end(RecvError::Revoked);
                false
            } else {
                true
            }
        });
        if subs.is_empty() {
            reg.rooms.remove(&room);
        }
    }

    /// Live subscriptions right now: (room, user) pairs.
    pub(crate) fn counts(&self) -> (usize, usize) {
        let reg = self.reg.lock();
        (
            reg.rooms.values().map(Vec::len).sum(),
            reg.users.values().map(Vec::len).sum(),
        )
    }

    /// Whether `user`'s involvement lets them be notified: used by the notifier.
    pub(crate) fn notifiable(involvement: Involvement, mentioned: bool) -> bool {
        involvement == Involvement::Everything
            || (involvement == Involvement::Mentions && mentioned)
    }
}

/// Queues a live event for a room subscription, dropping what the replay already had (and
/// any change not newer than the last one queued). Returns false when the subscription
/// must go (lagged or dropped by its owner).
fn offer(sub: &mut RoomSub, event: &SharedEvent, capacity: usize) -> bool {
    if let Some(cs) = event.event().change_seq() {
        if cs <= sub.floor || cs <= sub.last {
            return true;
        }
        if !deliver(&sub.tx, event.clone(), capacity, sub.last) {
            return false;
        }
        sub.last = cs;
        return true;
    }
    deliver(&sub.tx, event.clone(), capacity, sub.last)
}

fn unwatch(watching: &mut HashMap<RoomId, HashSet<UserId>>, room: RoomId, user: UserId) {
    if let Some(set) = watching.get_mut(&room) {
        set.remove(&user);
        if set.is_empty() {
            watching.remove(&room);
        }
    }
}
