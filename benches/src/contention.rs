//! Writes under contention: posters, editors and deleters on the writer thread while
//! readers page the changes feed, history and search, subscribers come and go, and the
//! checkpointer and the indexer run, all at once on one database. Every call must succeed:
//! a valid write never fails because another connection held a lock for a moment.
//!
//! Run for seconds by `cargo test` (`benches/tests/writes_never_fail_under_contention.rs`)
//! and for longer, in release, by `cargo bench -p ember-benches --bench contention`.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use ember_engine::{ClientMessageId, Engine, MessageId, NewPost, RoomId, UserId};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::fixture::{World, options};
use crate::text::Vocabulary;

/// What a run did; `failures` lists every call that returned an error.
#[derive(Debug, Default)]
pub struct Report {
    /// Posts, edits and deletes acknowledged.
    pub writes: u64,
    /// Pages of the changes feed, history pages and searches answered.
    pub reads: u64,
    /// Subscriptions opened (each dropped again).
    pub subscriptions: u64,
    /// Every failed call: which call, and the error.
    pub failures: Vec<String>,
}

/// Writer threads (each posts, then edits or deletes some of its own messages).
const WRITERS: usize = 4;
/// Reader threads (each pages the feed of every room, reads history and searches).
const READERS: usize = 2;
/// Rooms written to.
const ROOMS: usize = 4;
/// Threads that start short read transactions back to back (one room's head each): each
/// start reads the WAL index, which is where a writer's lock upgrade used to collide.
const POKERS: usize = 4;

/// Runs the scenario on a fresh database in `dir` for `duration`, then checks that every
/// room's feed is gapless and holds every acknowledged message.
pub fn run(dir: &std::path::Path, duration: Duration) -> Report {
    let engine = Engine::open(options(&dir.join("contention.db"))).expect("open the database");
    let world = World::create(&engine, WRITERS + READERS + 1, ROOMS).expect("users and rooms");
    let stop = AtomicBool::new(false);
    let report = Mutex::new(Report::default());
    let acked: Mutex<HashMap<MessageId, RoomId>> = Mutex::new(HashMap::new());
    let subscriptions = AtomicU64::new(0);
    let fail = |what: &str, e: ember_engine::Error| {
        if let Ok(mut r) = report.lock() {
            r.failures.push(format!("{what}: {e}"));
        }
    };
    std::thread::scope(|s| {
        // Stops every thread however the scope ends, a panicking thread included.
        let _stop = StopOnDrop(&stop);
        for w in 0..WRITERS {
            let (engine, world, stop, report, acked) = (&engine, &world, &stop, &report, &acked);
            s.spawn(move || {
                let user = world.users[1 + w];
                let writes = write(engine, user, &world.rooms, w as u64, stop, &fail, acked);
                if let Ok(mut r) = report.lock() {
                    r.writes += writes;
                }
            });
        }
        for r in 0..READERS {
            let (engine, world, stop, report) = (&engine, &world, &stop, &report);
            s.spawn(move || {
                let user = world.users[1 + WRITERS + r];
                let reads = read(engine, user, &world.rooms, stop, &fail);
                if let Ok(mut rep) = report.lock() {
                    rep.reads += reads;
                }
            });
        }
        for p in 0..POKERS {
            let (engine, world, stop, report) = (&engine, &world, &stop, &report);
            s.spawn(move || {
                let user = world.users[0];
                let room = world.rooms[p % world.rooms.len()];
                let mut reads = 0;
                while !stop.load(Ordering::Acquire) {
                    match engine.room(user, room) {
                        Ok(_) => reads += 1,
                        Err(e) => fail("room", e),
                    }
                }
                if let Ok(mut rep) = report.lock() {
                    rep.reads += reads;
                }
            });
        }
        let (engine, world, stop, subscriptions) = (&engine, &world, &stop, &subscriptions);
        s.spawn(move || {
            let user = world.users[0];
            let mut i = 0;
            while !stop.load(Ordering::Acquire) {
                let room = world.rooms[i % world.rooms.len()];
                match engine.subscribe(user, room, Some(0)) {
                    Ok(sub) => drop(sub),
                    Err(e) => fail("subscribe", e),
                }
                subscriptions.fetch_add(1, Ordering::Relaxed);
                i += 1;
                std::thread::sleep(Duration::from_millis(1));
            }
        });
        std::thread::sleep(duration);
    });
    let mut report = report.into_inner().unwrap_or_else(|p| p.into_inner());
    report.subscriptions = subscriptions.into_inner();
    let acked = acked.into_inner().unwrap_or_else(|p| p.into_inner());
    check_feeds(&engine, world.users[0], &world.rooms, &acked, &mut report);
    report
}

struct StopOnDrop<'a>(&'a AtomicBool);

impl Drop for StopOnDrop<'_> {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Release);
    }
}

/// Posts into the rooms in turn; every third post is edited, every seventh deleted.
fn write(
    engine: &Engine,
    user: UserId,
    rooms: &[RoomId],
    seed: u64,
    stop: &AtomicBool,
    fail: &dyn Fn(&str, ember_engine::Error),
    acked: &Mutex<HashMap<MessageId, RoomId>>,
) -> u64 {
    let vocab = Vocabulary::standard();
    let mut rng = StdRng::seed_from_u64(seed);
    let mut writes = 0;
    let mut i = 0usize;
    while !stop.load(Ordering::Acquire) {
        let room = rooms[(i + seed as usize) % rooms.len()];
        let post = NewPost {
            user,
            room,
            client_message_id: ClientMessageId::new_v7(),
            content: vocab.message(&mut rng),
        };
        let id = match engine.post(post) {
            Ok(p) => p.message.id,
            Err(e) => {
                fail("post", e);
                continue;
            }
        };
        writes += 1;
        if let Ok(mut a) = acked.lock() {
            a.insert(id, room);
        }
        if i % 3 == 0 {
            match engine.edit_message(user, id, &vocab.message(&mut rng)) {
                Ok(_) => writes += 1,
                Err(e) => fail("edit", e),
            }
        }
        if i % 7 == 0 {
            match engine.delete_message(user, id) {
                Ok(_) => writes += 1,
                Err(e) => fail("delete", e),
            }
        }
        i += 1;
        if rng.random_ratio(1, 8) {
            std::thread::sleep(Duration::from_micros(rng.random_range(0..500)));
        }
    }
    writes
}

/// Pages every room's feed with small pages, reads history and searches, until stopped.
fn read(
    engine: &Engine,
    user: UserId,
    rooms: &[RoomId],
    stop: &AtomicBool,
    fail: &dyn Fn(&str, ember_engine::Error),
) -> u64 {
    let mut cursors = vec![0u64; rooms.len()];
    let mut reads = 0;
    let words = Vocabulary::standard();
    let mut rank = 0;
    while !stop.load(Ordering::Acquire) {
        for (cursor, &room) in cursors.iter_mut().zip(rooms) {
            match engine.changes_since(user, room, *cursor, 7) {
                Ok(page) => {
                    if let Some(last) = page.messages.last() {
                        *cursor = last.change_seq;
                    }
                }
                Err(e) => fail("changes_since", e),
            }
            if let Err(e) = engine.messages_before(user, room, None, 50) {
                fail("messages_before", e);
            }
            reads += 2;
        }
        rank = (rank + 1) % 200;
        match engine.search(user, words.word(rank), 20) {
            Ok(_) => reads += 1,
            Err(e) => fail("search", e),
        }
    }
    reads
}

/// Every room's feed, paged to its end, is gapless in `seq` and holds every acknowledged
/// message of the room once.
fn check_feeds(
    engine: &Engine,
    user: UserId,
    rooms: &[RoomId],
    acked: &HashMap<MessageId, RoomId>,
    report: &mut Report,
) {
    for &room in rooms {
        let mut since = 0;
        let mut seqs = Vec::new();
        let mut ids = Vec::new();
        loop {
            let page = match engine.changes_since(user, room, since, 1000) {
                Ok(p) => p,
                Err(e) => {
                    report.failures.push(format!("final changes_since: {e}"));
                    return;
                }
            };
            for m in &page.messages {
                seqs.push(m.seq);
                ids.push(m.id);
                since = m.change_seq;
            }
            if !page.more {
                break;
            }
        }
        seqs.sort_unstable();
        if seqs != (1..=seqs.len() as u64).collect::<Vec<_>>() {
            report
                .failures
                .push(format!("room {room}: seqs not gapless"));
        }
        let expected = acked.values().filter(|&&r| r == room).count();
        if ids.len() != expected {
            report.failures.push(format!(
                "room {room}: {} messages in the feed, {expected} acknowledged",
                ids.len()
            ));
        }
    }
}
