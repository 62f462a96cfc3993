//! While Redis is away, each engine keeps accepting posts and delivering its own commits
//! to its own subscribers at once, and reads the other engines' changes from the store
//! (about every second), in order, once; when Redis returns, live delivery resumes.

mod cluster_support;
mod common;

use std::time::{Duration, Instant};

use cluster_support::{assert_is_the_feed, assert_no_more, node, receive_until, services};
use common::{member, new_post, open_room};

#[test]
fn without_redis_own_commits_arrive_at_once_and_others_from_the_store() {
    let Some((db, mut redis)) = services(true) else {
        return;
    };
    let a = node(&db, &redis);
    let b = node(&db, &redis);
    let ann = member(&a, "ann");
    let room = open_room(&a, ann.id, "Lobby");
    let on_a = a.subscribe(ann.id, room, None).expect("subscribe on A");
    let on_b = b.subscribe(ann.id, room, None).expect("subscribe on B");
    a.post(new_post(ann.id, room, "with Redis")).expect("post");
    receive_until(&on_a, 1, Duration::from_secs(10));
    receive_until(&on_b, 1, Duration::from_secs(10));

    redis.stop();
    // Let both engines notice (the subscriber's next read fails at once on loopback).
    std::thread::sleep(Duration::from_millis(200));
    let posted = Instant::now();
    a.post(new_post(ann.id, room, "without Redis"))
        .expect("posting needs no Redis");
    let own = receive_until(&on_a, 2, Duration::from_secs(1));
    let own_took = posted.elapsed();
    assert_eq!(own.messages.len(), 1);
    let other = receive_until(&on_b, 2, Duration::from_secs(5));
    let other_took = posted.elapsed();
    assert_eq!(other.messages.len(), 1);

    redis.start();
    for i in 0..5 {
        a.post(new_post(ann.id, room, &format!("back {i}")))
            .expect("post");
    }
    for sub in [&on_a, &on_b] {
        let got = receive_until(sub, 7, Duration::from_secs(10));
        assert_is_the_feed(&a, ann.id, room, 2, &got);
        assert_no_more(sub, Duration::from_millis(200));
    }
    eprintln!(
        "without Redis: own commit delivered in {own_took:?}, the other engine's in {other_took:?}"
    );
}
