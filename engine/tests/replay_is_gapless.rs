//! Gapless replay: paging the changes feed, even while others post, edit and delete, ends
//! with the reader holding the current state of every message.

mod common;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};

use ember_engine::{Engine, Message, MessageId, RoomId, RoomKind, User, UserId};
use proptest::prelude::*;

const ROOMS: usize = 2;
const MAX_WRITERS: usize = 4;

/// What one writer thread does next.
#[derive(Clone, Copy, Debug)]
enum Action {
    /// Post a new message in room `room % ROOMS`.
    Post { room: usize },
    /// Edit the writer's `pick`-th live message (modulo their count); posts when none.
    Edit { pick: usize },
    /// Delete the writer's `pick`-th live message (modulo their count); posts when none.
    Delete { pick: usize },
}

fn scripts() -> impl Strategy<Value = Vec<Vec<Action>>> {
    let action = prop_oneof![
        3 => (0..ROOMS).prop_map(|room| Action::Post { room }),
        2 => any::<usize>().prop_map(|pick| Action::Edit { pick }),
        1 => any::<usize>().prop_map(|pick| Action::Delete { pick }),
    ];
    prop::collection::vec(prop::collection::vec(action, 1..30), 2..=MAX_WRITERS)
}

/// Runs a writer's script; returns every message it created and the last version it was
/// acknowledged for each.
fn write(
    db: &Engine,
    user: UserId,
    rooms: &[RoomId],
    script: &[Action],
) -> HashMap<MessageId, Message> {
    let mut acked: HashMap<MessageId, Message> = HashMap::new();
    let mut live: Vec<MessageId> = Vec::new();
    for (step, action) in script.iter().enumerate() {
        let message = match *action {
            Action::Edit { pick } if !live.is_empty() => {
                let id = live[pick % live.len()];
                db.edit_message(user, id, &format!("edit at step {step}"))
                    .expect("edit")
            }
            Action::Delete { pick } if !live.is_empty() => {
                let id = live.swap_remove(pick % live.len());
                db.delete_message(user, id).expect("delete")
            }
            Action::Post { room } => post(db, user, rooms[room % ROOMS], step, &mut live),
            Action::Edit { pick } | Action::Delete { pick } => {
                post(db, user, rooms[pick % ROOMS], step, &mut live)
            }
        };
        acked.insert(message.id, message);
    }
    acked
}

fn post(
    db: &Engine,
    user: UserId,
    room: RoomId,
    step: usize,
    live: &mut Vec<MessageId>,
) -> Message {
    let message = common::post(db, user, room, &format!("post at step {step}"));
    live.push(message.id);
    message
}

/// The reader's view of one room's feed.
#[derive(Default)]
struct Replica {
    cursor: u64,
    seen: HashMap<MessageId, Message>,
}

impl Replica {
    /// Pages from the cursor until the feed says nothing more is left, checking that
    /// change_seqs only grow and that an exhausted feed ends at the room's head.
    fn drain(&mut self, db: &Engine, user: UserId, room: RoomId) {
        loop {
            let page = db
                .changes_since(user, room, self.cursor, 3)
                .expect("changes_since");
            for m in page.messages {
                assert_eq!(m.room_id, room, "a change from another room");
                assert!(
                    m.change_seq > self.cursor,
                    "change_seq {} after {}: not strictly increasing",
                    m.change_seq,
                    self.cursor
                );
                self.cursor = m.change_seq;
                self.seen.insert(m.id, m);
            }
            if !page.more {
                assert_eq!(
                    self.cursor, page.head_change_seq,
                    "the feed ran out before the room's head: a gap"
                );
                return;
            }
        }
    }
}

/// Runs one writer thread per script and a reader paging every room's feed until one
/// full drain after the writers stopped. Returns the writers' last acknowledgement of each
/// message they created, and the reader's replicas, one per room.
fn replay_while_writing(
    db: &Engine,
    reader: UserId,
    writers: &[User],
    rooms: &[RoomId],
    scripts: &[Vec<Action>],
) -> (HashMap<MessageId, Message>, Vec<Replica>) {
    let stop = AtomicBool::new(false);
    std::thread::scope(|s| {
        let reading = s.spawn(|| {
            let mut replicas: Vec<Replica> = rooms.iter().map(|_| Replica::default()).collect();
            loop {
                // Read the flag first: a drain that starts after the writers stopped sees
                // everything they committed.
                let last = stop.load(Ordering::Acquire);
                for (replica, &room) in replicas.iter_mut().zip(rooms) {
                    replica.drain(db, reader, room);
                }
                if last {
                    return replicas;
                }
            }
        });
        let writing: Vec<_> = writers
            .iter()
            .zip(scripts)
            .map(|(w, script)| s.spawn(move || write(db, w.id, rooms, script)))
            .collect();
        // Stops the reader however this scope ends: were a writer to panic, the scope would
        // otherwise wait forever for a reader that waits for the flag.
        let stop_reader = common::SetOnDrop(&stop);
        let mut acked = HashMap::new();
        for w in writing {
            acked.extend(w.join().expect("writer thread"));
        }
        drop(stop_reader);
        (acked, reading.join().expect("reader thread"))
    })
}

/// Invariant: a reader that pages `changes_since` with a small limit while writers post,
/// edit and delete, then once more after they stop, (1) sees change_seqs strictly
/// increasing within each room, (2) misses no message that was created, and (3) holds as
/// the last version of each message its final state, as `messages_before` and `message`
/// report it and as its writer was last acknowledged.
fn a_reader_paging_during_writes_ends_with_every_final_state() {
    let db = common::open();
    let reader = common::member(&db, "reader");
    let writers: Vec<_> = (0..MAX_WRITERS)
        .map(|i| common::member(&db, &format!("writer{i}")))
        .collect();
    common::check_property(32, scripts(), |scripts| {
        // Fresh rooms for every case, so each case replays from an empty feed.
        let rooms: Vec<RoomId> = (0..ROOMS)
            .map(|i| {
                db.create_room(reader.id, RoomKind::Open, &format!("room {i}"), &[])
                    .unwrap()
                    .id
            })
            .collect();
        let writers = &writers[..scripts.len()];
        let (acked, replicas) = replay_while_writing(&db, reader.id, writers, &rooms, &scripts);

        let mut seen = HashMap::new();
        for (replica, &room) in replicas.into_iter().zip(&rooms) {
            let fin = common::history(&db, reader.id, room);
            let seqs: Vec<u64> = fin.iter().map(|m| m.seq).collect();
            prop_assert_eq!(
                seqs,
                (1..=fin.len() as u64).collect::<Vec<_>>(),
                "history has gaps"
            );
            prop_assert_eq!(
                replica.seen.len(),
                fin.len(),
                "reader saw a different set of messages"
            );
            for m in &fin {
                prop_assert_eq!(
                    replica.seen.get(&m.id),
                    Some(m),
                    "reader's last version is not final"
                );
                prop_assert_eq!(&db.message(reader.id, m.id).unwrap(), m);
            }
            seen.extend(replica.seen);
        }
        prop_assert_eq!(seen.len(), acked.len(), "messages created vs messages seen");
        for (id, last_ack) in &acked {
            prop_assert_eq!(
                seen.get(id),
                Some(last_ack),
                "the last acknowledgement is not final"
            );
        }
        Ok(())
    });
}
common::both_stores!(a_reader_paging_during_writes_ends_with_every_final_state);

fn a_page_holds_the_current_state_of_each_changed_message() {
    let db = common::open();
    let ann = common::member(&db, "ann");
    let room = common::open_room(&db, ann.id, "Lobby");
    let posted: Vec<_> = (1..=4)
        .map(|i| common::post(&db, ann.id, room, &format!("m{i}")))
        .collect();
    let edited = db.edit_message(ann.id, posted[1].id, "m2, edited").unwrap();
    let deleted = db.delete_message(ann.id, posted[2].id).unwrap();
    assert_eq!((edited.change_seq, deleted.change_seq), (5, 6));
    assert!(
        deleted.deleted && deleted.content.is_empty(),
        "a tombstone: {deleted:?}"
    );
    assert_eq!((deleted.id, deleted.seq), (posted[2].id, posted[2].seq));

    let first = db.changes_since(ann.id, room, 0, 2).unwrap();
    assert_eq!(first.messages, vec![posted[0].clone(), posted[3].clone()]);
    assert!(first.more);
    assert_eq!(first.head_change_seq, 6);
    let rest = db
        .changes_since(ann.id, room, posted[3].change_seq, 2)
        .unwrap();
    assert_eq!(rest.messages, vec![edited, deleted]);
    assert!(!rest.more);
    let done = db.changes_since(ann.id, room, 6, 2).unwrap();
    assert!(done.messages.is_empty() && !done.more);
    let beyond = db.changes_since(ann.id, room, u64::MAX, 1000).unwrap();
    assert!(beyond.messages.is_empty() && !beyond.more);
}
common::both_stores!(a_page_holds_the_current_state_of_each_changed_message);

fn rooms_have_separate_change_sequences() {
    let db = common::open();
    let ann = common::member(&db, "ann");
    let one = common::open_room(&db, ann.id, "One");
    let two = common::open_room(&db, ann.id, "Two");
    for i in 0..3 {
        common::post(&db, ann.id, one, &format!("one {i}"));
    }
    let m = common::post(&db, ann.id, two, "two");
    assert_eq!((m.seq, m.change_seq), (1, 1));
    let feed = db.changes_since(ann.id, two, 0, 10).unwrap();
    assert_eq!(feed.messages, vec![m]);
    assert_eq!(feed.head_change_seq, 1);
}
common::both_stores!(rooms_have_separate_change_sequences);
