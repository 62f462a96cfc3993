//! Exactly-once posting: a `(room, client_message_id)` pair makes one message, however
//! often, from however many threads, and across restarts it is posted.

mod common;

use std::collections::HashMap;

use ember_engine::{ClientMessageId, Error, Message, NewPost, RoomKind};
use proptest::prelude::*;

const ROOMS: usize = 3;
const USERS: usize = 3;
const KEYS: usize = 6;

/// One attempt of the property test: `user` posts with client id number `key` in `room`.
#[derive(Clone, Debug)]
struct Attempt {
    room: usize,
    key: usize,
    user: usize,
    variant: u8,
}

fn attempts() -> impl Strategy<Value = Vec<Attempt>> {
    let attempt =
        (0..ROOMS, 0..KEYS, 0..USERS, 0..3u8).prop_map(|(room, key, user, variant)| Attempt {
            room,
            key,
            user,
            variant,
        });
    prop::collection::vec(attempt, 1..60)
}

/// Invariant: every distinct `(room, client_message_id)` pair yields exactly one message; a
/// retry by its author returns that message unchanged with `duplicate: true`, a reuse by
/// anyone else is refused; each room's seqs are exactly 1..=n for its n distinct pairs.
fn one_message_per_pair_and_retries_return_the_original() {
    let db = common::open();
    let users: Vec<_> = (0..USERS)
        .map(|i| common::member(&db, &format!("user{i}")))
        .collect();
    let others: Vec<_> = users[1..].iter().map(|u| u.id).collect();
    common::check_property(32, attempts(), |attempts| {
        // Fresh rooms for every case; the same client ids in all of them, since a pair is
        // (room, id), not the id alone.
        let rooms: Vec<_> = (0..ROOMS)
            .map(|i| {
                db.create_room(users[0].id, RoomKind::Closed, &format!("room {i}"), &others)
                    .unwrap()
            })
            .collect();
        let keys: Vec<_> = (0..KEYS).map(|_| ClientMessageId::new_v7()).collect();
        let mut originals: HashMap<(usize, usize), Message> = HashMap::new();
        let mut count = [0u64; ROOMS];

        for a in &attempts {
            let result = db.post(NewPost {
                user: users[a.user].id,
                room: rooms[a.room].id,
                client_message_id: keys[a.key],
                content: format!(
                    "room {} key {} by {} take {}",
                    a.room, a.key, a.user, a.variant
                ),
            });
            match originals.get(&(a.room, a.key)) {
                Some(original) if original.creator_id == users[a.user].id => {
                    let posted = result.expect("a retry by the author is answered");
                    prop_assert!(
                        posted.duplicate,
                        "retry {a:?} was not flagged as a duplicate"
                    );
                    prop_assert_eq!(
                        &posted.message,
                        original,
                        "retry {:?} changed the message",
                        a
                    );
                }
                Some(_) => match result {
                    Err(Error::Validation {
                        field: "client_message_id",
                        ..
                    }) => {}
                    other => prop_assert!(false, "reuse by another user {a:?} gave {other:?}"),
                },
                None => {
                    let posted = result.expect("a first post is accepted");
                    count[a.room] += 1;
                    prop_assert!(!posted.duplicate, "first post {a:?} flagged as a duplicate");
                    prop_assert_eq!(posted.message.seq, count[a.room], "seq of {:?}", a);
                    prop_assert_eq!(posted.message.client_message_id, keys[a.key]);
                    prop_assert_eq!(posted.message.creator_id, users[a.user].id);
                    originals.insert((a.room, a.key), posted.message);
                }
            }
        }

        for (r, room) in rooms.iter().enumerate() {
            let stored = common::history_in_pages(&db, users[1].id, room.id, 4);
            let seqs: Vec<u64> = stored.iter().map(|m| m.seq).collect();
            prop_assert_eq!(
                seqs,
                (1..=count[r]).collect::<Vec<_>>(),
                "seqs of room {}",
                r
            );
            for m in &stored {
                let key = keys.iter().position(|k| *k == m.client_message_id).unwrap();
                prop_assert_eq!(Some(m), originals.get(&(r, key)), "stored message differs");
            }
            prop_assert_eq!(db.room(users[2].id, room.id).unwrap().head_seq, count[r]);
        }
        Ok(())
    });
}
common::both_stores!(one_message_per_pair_and_retries_return_the_original);

fn concurrent_retries_of_the_same_ids_make_one_message_each() {
    const THREADS: usize = 8;
    const IDS: usize = 20;
    let db = common::open();
    let ann = common::member(&db, "ann");
    let room = db
        .create_room(ann.id, RoomKind::Open, "Lobby", &[])
        .unwrap();
    let ids: Vec<_> = (0..IDS).map(|_| ClientMessageId::new_v7()).collect();

    let answers: Vec<Vec<(Message, bool)>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..THREADS)
            .map(|t| {
                let (db, ids) = (&db, &ids);
                s.spawn(move || {
                    ids.iter()
                        .enumerate()
                        .map(|(i, &cmid)| {
                            let posted = db
                                .post(NewPost {
                                    user: ann.id,
                                    room: room.id,
                                    client_message_id: cmid,
                                    content: format!("message {i} from thread {t}"),
                                })
                                .expect("post");
                            (posted.message, posted.duplicate)
                        })
                        .collect()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });

    let stored = common::history(&db, ann.id, room.id);
    assert_eq!(stored.len(), IDS, "one message per client id");
    for (i, cmid) in ids.iter().enumerate() {
        let original = stored
            .iter()
            .find(|m| m.client_message_id == *cmid)
            .unwrap_or_else(|| panic!("client id {i} has no message"));
        let firsts = answers.iter().filter(|a| !a[i].1).count();
        assert_eq!(firsts, 1, "exactly one thread created message {i}");
        for a in &answers {
            assert_eq!(&a[i].0, original, "every thread got the original of {i}");
        }
    }
}
common::both_stores!(concurrent_retries_of_the_same_ids_make_one_message_each);

fn the_same_client_id_in_two_rooms_makes_two_messages() {
    let db = common::open();
    let ann = common::member(&db, "ann");
    let one = db.create_room(ann.id, RoomKind::Open, "One", &[]).unwrap();
    let two = db.create_room(ann.id, RoomKind::Open, "Two", &[]).unwrap();
    let cmid = ClientMessageId::new_v7();
    let post = |room| NewPost {
        user: ann.id,
        room,
        client_message_id: cmid,
        content: "hello".into(),
    };
    let a = db.post(post(one.id)).unwrap();
    let b = db.post(post(two.id)).unwrap();
    assert!(!a.duplicate && !b.duplicate);
    assert_ne!(a.message.id, b.message.id);
    assert_eq!((a.message.room_id, b.message.room_id), (one.id, two.id));
}
common::both_stores!(the_same_client_id_in_two_rooms_makes_two_messages);

fn a_retry_after_reopening_returns_the_original() {
    let mut db = common::open();
    let ann = common::member(&db, "ann");
    let room = db
        .create_room(ann.id, RoomKind::Open, "Lobby", &[])
        .unwrap();
    let post = common::new_post(ann.id, room.id, "before the restart");
    let first = db.post(post.clone()).unwrap();
    db.reopen();
    let retry = db
        .post(NewPost {
            content: "changed after the restart".into(),
            ..post
        })
        .unwrap();
    assert!(retry.duplicate);
    assert_eq!(retry.message, first.message);
    assert_eq!(common::history(&db, ann.id, room.id).len(), 1);
}
common::both_stores!(a_retry_after_reopening_returns_the_original);
