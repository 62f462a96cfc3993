//! Two engines of one cluster (one PostgreSQL database, one Redis): posts, edits and
//! deletes made on either, concurrently, reach the room subscribers on both, each change
//! once, in `change_seq` order, and what each received is the store's changes feed; the
//! same `client_message_id` posted on both at once is one message that each subscriber sees
//! once; user subscriptions on one engine hear the unread counts of posts on the other.

mod cluster_support;
mod common;

use std::sync::Barrier;
use std::time::{Duration, Instant};

use cluster_support::{assert_is_the_feed, assert_no_more, node, receive_until, services};
use common::{member, new_post, open_room};
use ember_engine::{ClientMessageId, UserEvent};

const PATIENCE: Duration = Duration::from_secs(20);

#[test]
fn concurrent_changes_on_two_engines_reach_every_subscriber_once_in_order() {
    let Some((db, redis)) = services(false) else {
        return;
    };
    let a = node(&db, &redis);
    let b = node(&db, &redis);
    let ann = member(&a, "ann");
    let bob = member(&a, "bob");
    let room = open_room(&a, ann.id, "Lobby");
    let subs = [
        a.subscribe(ann.id, room, None).expect("subscribe on A"),
        b.subscribe(bob.id, room, None).expect("subscribe on B"),
        b.subscribe(ann.id, room, None)
            .expect("a second subscriber on B"),
    ];
    let start: Vec<u64> = subs.iter().map(|s| s.head_change_seq()).collect();

    // Each engine posts, edits and deletes from its own thread, at once.
    std::thread::scope(|s| {
        for (engine, user) in [(&a, ann.id), (&b, bob.id)] {
            s.spawn(move || {
                let mut mine = Vec::new();
                for i in 0..120 {
                    let posted = engine
                        .post(new_post(user, room, &format!("message {i}")))
                        .expect("post");
                    mine.push(posted.message.id);
                    if i % 5 == 0 {
                        engine
                            .edit_message(user, mine[i / 2], &format!("edited {i}"))
                            .expect("edit");
                    }
                    if i % 7 == 0 {
                        engine.delete_message(user, mine[i / 3]).expect("delete");
                    }
                }
            });
        }
    });
    let head = a.room(ann.id, room).expect("room").head_change_seq;
    for (sub, since) in subs.iter().zip(&start) {
        let got = receive_until(sub, head, PATIENCE);
        assert_is_the_feed(&a, ann.id, room, *since, &got);
        assert_no_more(sub, Duration::from_millis(200));
    }
}

#[test]
fn the_same_client_message_id_on_two_engines_is_one_message_seen_once() {
    let Some((db, redis)) = services(false) else {
        return;
    };
    let a = node(&db, &redis);
    let b = node(&db, &redis);
    let ann = member(&a, "ann");
    let room = open_room(&a, ann.id, "Lobby");
    let subs = [
        a.subscribe(ann.id, room, None).expect("subscribe on A"),
        b.subscribe(ann.id, room, None).expect("subscribe on B"),
    ];
    let mut post = new_post(ann.id, room, "once");
    let mut ids = Vec::new();
    for round in 0..20 {
        post.client_message_id = ClientMessageId::new_v7();
        post.content = format!("once {round}");
        let barrier = Barrier::new(2);
        let acks: Vec<_> = std::thread::scope(|s| {
            let handles: Vec<_> = [&a, &b]
                .into_iter()
                .map(|engine| {
                    let (post, barrier) = (post.clone(), &barrier);
                    s.spawn(move || {
                        barrier.wait();
                        engine.post(post).expect("post")
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("poster"))
                .collect()
        });
        assert_eq!(
            acks[0].message, acks[1].message,
            "both acks carry the one message"
        );
        assert_eq!(acks.iter().filter(|p| p.duplicate).count(), 1);
        ids.push(acks[0].message.id);
    }
    let head = a.room(ann.id, room).expect("room").head_change_seq;
    assert_eq!(head, 20, "one change per message");
    for sub in &subs {
        let got = receive_until(sub, head, PATIENCE);
        let seen: Vec<_> = got.messages.iter().map(|m| m.id).collect();
        assert_eq!(seen, ids, "each message once, in order");
        assert_no_more(sub, Duration::from_millis(300));
    }
}

#[test]
fn user_subscriptions_hear_unread_counts_of_posts_on_the_other_engine() {
    let Some((db, redis)) = services(false) else {
        return;
    };
    let a = node(&db, &redis);
    let b = node(&db, &redis);
    let ann = member(&a, "ann");
    let bob = member(&a, "bob");
    let room = open_room(&a, ann.id, "Lobby");
    let rooms = b.subscribe_user(bob.id).expect("subscribe bob on B");
    // Lets B follow the room's channel (user subscriptions are followed every 250 ms).
    std::thread::sleep(Duration::from_millis(600));
    for i in 0..5 {
        a.post(new_post(ann.id, room, &format!("hi {i}")))
            .expect("post on A");
    }
    let deadline = Instant::now() + PATIENCE;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rooms.events().recv_timeout(left) {
            Ok(UserEvent::Unread {
                room_id,
                unread: 5,
                head_seq: 5,
            }) if room_id == room => break,
            Ok(_) => {}
            Err(e) => panic!("bob's room list on B never showed 5 unread: {e:?}"),
        }
    }
    // And a room subscription started on B after those posts replays, then goes live.
    let sub = b.subscribe(bob.id, room, Some(0)).expect("subscribe on B");
    a.post(new_post(ann.id, room, "live")).expect("post on A");
    let got = receive_until(&sub, 6, PATIENCE);
    assert_eq!(got.messages.len(), 6);
    assert_no_more(&sub, Duration::from_millis(300));
}
