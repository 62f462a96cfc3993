//! The posting rate limit holds per user across the cluster (kept in Redis), and while
//! Redis is unreachable posts are still accepted under each node's own limit.

mod cluster_nodes;
mod common;

use std::time::{Duration, Instant};

use cluster_nodes::Cluster;
use common::{Client, new_id};
use serde_json::{Value, json};

/// Posts once through `c`; the ack or the error frame.
fn post(c: &mut Client, room: &str) -> Value {
    c.send(
        json!({"type": "post", "room_id": room, "client_message_id": new_id(), "content": "hi"}),
    );
    loop {
        let v = c.next();
        if v["type"] == "ack" || v["type"] == "error" {
            return v;
        }
    }
}

#[test]
fn a_users_posting_rate_is_shared_by_every_node_and_fails_open_without_redis() {
    let Some(mut cl) = Cluster::new(true) else {
        return;
    };
    // 1 post/s, a burst of 2 (`--post-rate` sets the burst to twice the rate).
    let flags = ["--post-rate", "1"];
    let nodes = [cl.node(&flags), cl.node(&flags), cl.node(&flags)];
    let bob = cl.token("bob");
    let mut sockets: Vec<Client> = nodes.iter().map(|n| n.ws(&bob)).collect();
    let started = Instant::now();
    let answers: Vec<Value> = (0..9)
        .map(|i| post(&mut sockets[i % 3], &cl.room))
        .collect();
    let took = started.elapsed();
    let acked = answers.iter().filter(|a| a["type"] == "ack").count();
    let limited: Vec<&Value> = answers.iter().filter(|a| a["type"] == "error").collect();
    // Per node, 2 each would pass (6); shared, the burst plus what refilled meanwhile.
    let refilled = took.as_secs_f64().floor() as usize;
    assert!(
        acked >= 2 && acked <= 2 + refilled,
        "{acked} of 9 posts accepted in {took:?} across 3 nodes: {answers:?}"
    );
    for e in &limited {
        assert_eq!(e["code"], "rate_limited", "{e}");
        assert!(
            e["retry_after_ms"]
                .as_u64()
                .is_some_and(|ms| ms > 0 && ms <= 1_000),
            "{e}"
        );
    }

    // Redis goes away: posting goes on, each node limiting by itself.
    cl.redis.stop();
    std::thread::sleep(Duration::from_millis(2_100));
    let answers: Vec<Value> = (0..3).map(|_| post(&mut sockets[0], &cl.room)).collect();
    let acked = answers.iter().filter(|a| a["type"] == "ack").count();
    assert!(acked >= 1, "posts are accepted without Redis: {answers:?}");
    cl.redis.start();
}
