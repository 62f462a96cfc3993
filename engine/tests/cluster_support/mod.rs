//! What the cluster tests share: a Redis (the harness's, or a throw-away `redis-server` of
//! the test's own), engines of one cluster on one PostgreSQL database, and a subscriber
//! that records what it receives.
//!
//! Redis comes from `EMBER_TEST_REDIS_URL` when set (as `scripts/test` exports), else a
//! `redis-server` started on a free port when the binary exists, else the test prints a
//! skip line and passes, unless `EMBER_REQUIRE_REDIS=1`.

#![allow(dead_code)]

use std::time::{Duration, Instant};

use ember_engine::{Engine, Event, Message, RecvTimeoutError, RoomId, Subscription, UserId};

use crate::common;

pub use crate::common::redis::Redis;

/// PostgreSQL and Redis for a cluster test, or `None` after the skip lines.
pub fn services(own_redis: bool) -> Option<(common::pg::Database, Redis)> {
    let redis = if own_redis {
        Redis::own()
    } else {
        Redis::any()
    }?;
    if !common::pg::available() {
        return None;
    }
    Some((common::pg::Database::create_shared(), redis))
}

/// An engine of the cluster on `db` over `redis`.
pub fn node(db: &common::pg::Database, redis: &Redis) -> Engine {
    let mut opts = common::options(std::path::Path::new(&db.url));
    opts.broker = Some(redis.url.clone());
    Engine::open(opts).expect("open a cluster engine")
}

/// Everything a room subscription received, in order.
pub struct Recorded {
    pub messages: Vec<Message>,
}

/// Receives from `sub` until it has seen change `head` (or fails after `patience`).
pub fn receive_until(sub: &Subscription, head: u64, patience: Duration) -> Recorded {
    let deadline = Instant::now() + patience;
    let mut messages: Vec<Message> = Vec::new();
    while messages.last().map_or(0, |m| m.change_seq) < head {
        let left = deadline.saturating_duration_since(Instant::now());
        match sub.events().recv_timeout(left) {
            Ok(e) => match e.event() {
                Event::MessageCreated(m) | Event::MessageEdited(m) | Event::MessageDeleted(m) => {
                    messages.push(m.clone())
                }
                _ => {}
            },
            Err(RecvTimeoutError::Timeout) => panic!(
                "only reached change {} of {head} within {patience:?}",
                messages.last().map_or(0, |m| m.change_seq)
            ),
            Err(e) => panic!("the subscription ended: {e:?}"),
        }
    }
    Recorded { messages }
}

/// Asserts that `sub` receives no message change within `quiet` (nothing doubled).
pub fn assert_no_more(sub: &Subscription, quiet: Duration) {
    let deadline = Instant::now() + quiet;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match sub.events().recv_timeout(left) {
            Ok(e) => assert!(e.event().change_seq().is_none(), "an extra {:?}", e.event()),
            Err(RecvTimeoutError::Timeout) => return,
            Err(e) => panic!("the subscription ended: {e:?}"),
        }
    }
}

/// Asserts that `got` (received after change `since`) is the store's changes feed after
/// `since`: strictly increasing change sequence (each change once, in order), and each
/// message's last received state is its state in the feed.
pub fn assert_is_the_feed(engine: &Engine, user: UserId, room: RoomId, since: u64, got: &Recorded) {
    let seqs: Vec<u64> = got.messages.iter().map(|m| m.change_seq).collect();
    assert!(
        seqs.windows(2).all(|p| p[0] < p[1]),
        "received out of order or twice: {seqs:?}"
    );
    assert!(
        seqs.first().is_none_or(|s| *s > since),
        "received a change from before the start"
    );
    let mut feed = Vec::new();
    let mut cursor = since;
    loop {
        let page = engine
            .changes_since(user, room, cursor, ember_engine::MAX_CHANGES_PAGE)
            .expect("read the changes feed");
        cursor = page.messages.last().map_or(cursor, |m| m.change_seq);
        feed.extend(page.messages);
        if !page.more {
            break;
        }
    }
    let mut last = std::collections::HashMap::new();
    for m in &got.messages {
        last.insert(m.id, m.clone());
    }
    let mut seen: Vec<Message> = last.into_values().collect();
    seen.sort_by_key(|m| m.change_seq);
    assert_eq!(seen.len(), feed.len(), "messages received vs in the feed");
    assert_eq!(
        seen, feed,
        "the last state received of each message is the feed's"
    );
}
