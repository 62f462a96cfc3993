//! A Redis restart under load loses whatever was in flight (PUB/SUB is at-most-once); the
//! engines reconnect by themselves and fill every gap from the store, so no subscriber on
//! either engine misses a change or receives one twice. Also: while Redis is away, each
//! engine keeps serving its own posts and subscribers.

mod cluster_support;
mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use cluster_support::{assert_is_the_feed, assert_no_more, node, receive_until, services};
use common::{SetOnDrop, member, new_post, open_room};

const PATIENCE: Duration = Duration::from_secs(30);

#[test]
fn no_subscriber_misses_or_doubles_a_change_across_a_redis_restart() {
    let Some((db, mut redis)) = services(true) else {
        return;
    };
    let a = node(&db, &redis);
    let b = node(&db, &redis);
    let ann = member(&a, "ann");
    let bob = member(&a, "bob");
    let rooms = [open_room(&a, ann.id, "One"), open_room(&a, ann.id, "Two")];
    let mut subs = Vec::new();
    for room in rooms {
        for (engine, user) in [(&a, ann.id), (&b, bob.id)] {
            let sub = engine.subscribe(user, room, None).expect("subscribe");
            subs.push((room, sub.head_change_seq(), sub));
        }
    }
    let stop = AtomicBool::new(false);
    let posted_while_away = std::thread::scope(|s| {
        let _stop_posting = SetOnDrop(&stop);
        for (engine, user) in [(&a, ann.id), (&b, bob.id)] {
            let stop = &stop;
            s.spawn(move || {
                let mut i = 0;
                while !stop.load(Ordering::Acquire) {
                    let room = rooms[i % rooms.len()];
                    engine
                        .post(new_post(user, room, &format!("load {i}")))
                        .expect("posting goes on whatever Redis does");
                    i += 1;
                    std::thread::sleep(Duration::from_millis(2));
                }
            });
        }
        std::thread::sleep(Duration::from_millis(700));
        redis.stop();
        let before = a.room(ann.id, rooms[0]).expect("room").head_change_seq;
        std::thread::sleep(Duration::from_millis(500));
        let after = a.room(ann.id, rooms[0]).expect("room").head_change_seq;
        redis.start();
        std::thread::sleep(Duration::from_millis(700));
        stop.store(true, Ordering::Release);
        after - before
    });
    assert!(posted_while_away > 0, "posts went on while Redis was away");
    let started = Instant::now();
    for (room, since, sub) in &subs {
        let head = a.room(ann.id, *room).expect("room").head_change_seq;
        let got = receive_until(sub, head, PATIENCE);
        assert_is_the_feed(&a, ann.id, *room, *since, &got);
    }
    for (_, _, sub) in &subs {
        assert_no_more(sub, Duration::from_millis(200));
    }
    eprintln!(
        "caught up {:?} after posting stopped; gap-fill store reads: A {}, B {}",
        started.elapsed(),
        a.cluster_store_reads(),
        b.cluster_store_reads()
    );
}
