//! A subscription replays every change after its cursor and then goes live with no gap
//! and no duplicate, even while other threads post, edit and delete.

mod common;

use std::collections::HashMap;
use std::time::Duration;

use common::*;
use ember_engine::{Engine, Event, Message, MessageId, RoomId, RoomKind, UserId};
use proptest::prelude::*;

/// Posts, edits and deletes in `room` as `user`, `ops` times.
fn churn(engine: Engine, user: UserId, room: RoomId, seed: u64, ops: usize) {
    let mut mine: Vec<MessageId> = Vec::new();
    let mut n = seed;
    for _ in 0..ops {
        n = n
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        match (n >> 33) % 5 {
            0 if !mine.is_empty() => {
                let id = mine[(n as usize >> 7) % mine.len()];
                let _ = engine.edit_message(user, id, &format!("edited {n}"));
            }
            1 if !mine.is_empty() => {
                let id = mine.swap_remove((n as usize >> 7) % mine.len());
                engine.delete_message(user, id).expect("delete");
            }
            _ => mine.push(post(&engine, user, room, &format!("post {n}")).id),
        }
    }
}

/// Reads until the stream stays quiet for a while.
fn drain(sub: &ember_engine::Subscription) -> Vec<Event> {
    let mut out = Vec::new();
    while let Ok(e) = sub.events().recv_timeout(Duration::from_millis(200)) {
        out.push(e.event().clone());
    }
    out
}

fn message_of(e: &Event) -> Option<&Message> {
    match e {
        Event::MessageCreated(m) | Event::MessageEdited(m) | Event::MessageDeleted(m) => Some(m),
        _ => None,
    }
}

fn subscribing_mid_stream_sees_every_change_once_in_order() {
    let db = open();
    let ann = member(&db, "ann");
    let bob = member(&db, "bob");
    let room = db
        .create_room(ann.id, RoomKind::Open, "Lobby", &[])
        .unwrap();
    for i in 0..20 {
        post(&db, ann.id, room.id, &format!("before {i}"));
    }
    check_property(
        12,
        (0u64..=20, 0u64..20, 10usize..60),
        |(since, delay_ms, ops)| {
            let writers: Vec<_> = [ann.id, bob.id]
                .into_iter()
                .enumerate()
                .map(|(i, u)| {
                    let e = db.engine.clone();
                    std::thread::spawn(move || churn(e, u, room.id, since * 31 + i as u64, ops))
                })
                .collect();
            std::thread::sleep(Duration::from_millis(delay_ms));
            let sub = db.subscribe(bob.id, room.id, Some(since)).unwrap();
            prop_assert!(sub.complete());
            for w in writers {
                w.join().unwrap();
            }
            let events = drain(&sub);
            let seen: Vec<&Message> = events.iter().filter_map(message_of).collect();
            // Strictly increasing change sequence values: in order, no duplicates.
            for pair in seen.windows(2) {
                prop_assert!(
                    pair[0].change_seq < pair[1].change_seq,
                    "out of order or repeated: {} then {}",
                    pair[0].change_seq,
                    pair[1].change_seq
                );
            }
            prop_assert!(seen.iter().all(|m| m.change_seq > since));
            // Every change after the handover arrived live, one event each.
            let head = db.room(bob.id, room.id).unwrap().head_change_seq;
            let live: Vec<u64> = seen
                .iter()
                .map(|m| m.change_seq)
                .filter(|c| *c > sub.head_change_seq())
                .collect();
            let expected: Vec<u64> = (sub.head_change_seq() + 1..=head).collect();
            prop_assert_eq!(live, expected);
            // The last version seen of each message is its final state, and none is missing.
            let mut last: HashMap<MessageId, &Message> = HashMap::new();
            for m in &seen {
                last.insert(m.id, m);
            }
            let truth = db
                .changes_since(bob.id, room.id, since, ember_engine::MAX_CHANGES_PAGE)
                .unwrap();
            prop_assert!(!truth.more);
            prop_assert_eq!(last.len(), truth.messages.len());
            for m in &truth.messages {
                prop_assert_eq!(last.get(&m.id).copied(), Some(m));
            }
            Ok(())
        },
    );
}
common::both_stores!(subscribing_mid_stream_sees_every_change_once_in_order);

fn without_a_cursor_the_subscription_starts_live_at_the_head() {
    let db = open();
    let ann = member(&db, "ann");
    let room = db
        .create_room(ann.id, RoomKind::Open, "Lobby", &[])
        .unwrap();
    post(&db, ann.id, room.id, "old");
    let sub = db.subscribe(ann.id, room.id, None).unwrap();
    assert_eq!(sub.head_change_seq(), 1);
    let m = post(&db, ann.id, room.id, "new");
    let first = sub.events().recv_timeout(Duration::from_secs(5)).unwrap();
    assert_eq!(first.event(), &Event::MessageCreated(m));
    assert!(
        sub.events()
            .recv_timeout(Duration::from_millis(100))
            .is_err(),
        "only the new message"
    );
}
common::both_stores!(without_a_cursor_the_subscription_starts_live_at_the_head);

fn a_long_replay_is_paged_not_truncated() {
    let db = open_with(|o| o.replay_cap = 10);
    let ann = member(&db, "ann");
    let room = db
        .create_room(ann.id, RoomKind::Open, "Lobby", &[])
        .unwrap();
    for i in 0..25 {
        post(&db, ann.id, room.id, &format!("m{i}"));
    }
    let mut cursor = 0;
    let mut pages = 0;
    loop {
        let sub = db.subscribe(ann.id, room.id, Some(cursor)).unwrap();
        pages += 1;
        // The replay is queued before subscribe returns.
        let got: Vec<u64> = sub
            .events()
            .try_iter()
            .filter_map(|e| e.event().change_seq())
            .collect();
        assert_eq!(
            got.first(),
            Some(&(cursor + 1)),
            "each page starts right after the cursor"
        );
        cursor = *got.last().unwrap();
        if sub.complete() {
            break;
        }
        assert!(
            sub.events().recv_timeout(Duration::from_secs(5)).is_err(),
            "an incomplete page ends"
        );
    }
    assert_eq!((pages, cursor), (3, 25));
}
common::both_stores!(a_long_replay_is_paged_not_truncated);

fn a_cursor_beyond_the_head_is_refused() {
    let db = open();
    let ann = member(&db, "ann");
    let room = db
        .create_room(ann.id, RoomKind::Open, "Lobby", &[])
        .unwrap();
    post(&db, ann.id, room.id, "one");
    assert!(matches!(
        db.subscribe(ann.id, room.id, Some(5)),
        Err(ember_engine::Error::Validation { field: "since", .. })
    ));
}
common::both_stores!(a_cursor_beyond_the_head_is_refused);

fn non_members_cannot_subscribe() {
    let db = open();
    let ann = member(&db, "ann");
    let eve = member(&db, "eve");
    let room = db
        .create_room(ann.id, RoomKind::Closed, "Secret", &[])
        .unwrap();
    assert!(matches!(
        db.subscribe(eve.id, room.id, None),
        Err(ember_engine::Error::Forbidden(_))
    ));
    assert_eq!(
        db.subscription_counts(),
        (0, 0),
        "a refused subscription leaves nothing behind"
    );
}
common::both_stores!(non_members_cannot_subscribe);
