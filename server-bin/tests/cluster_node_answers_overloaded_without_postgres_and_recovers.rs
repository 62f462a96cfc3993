//! A node that loses PostgreSQL answers `overloaded` (the engine's `Unavailable`) within a
//! bounded time, keeps its sockets, and accepts posts again by itself once PostgreSQL is back.

mod cluster_nodes;
mod common;

use std::time::{Duration, Instant};

use cluster_nodes::{Cluster, Redis, pg};
use common::{Client, new_id};
use serde_json::{Value, json};

/// Posts once through `c`; the ack or the error frame.
fn post(c: &mut Client, room: &str, cid: &str) -> Value {
    c.send(json!({"type": "post", "room_id": room, "client_message_id": cid, "content": "hi"}));
    loop {
        let v = c.next();
        if v["type"] == "ack" || v["type"] == "error" {
            return v;
        }
    }
}

#[test]
fn a_node_without_postgres_answers_overloaded_and_recovers_by_itself() {
    common::watchdog::arm();
    let Some(redis) = Redis::find(false) else {
        return;
    };
    let Some(server) = pg::private_cluster() else {
        return;
    };
    let cl = Cluster::on(pg::Database::create(&server.admin_url()), redis);
    let node = cl.node(&[]);
    let mut bob = node.ws(&cl.token("bob"));
    bob.subscribe(&cl.room, None);
    bob.ws
        .get_ref()
        .set_read_timeout(Some(Duration::from_secs(20)))
        .expect("timeout");
    assert_eq!(post(&mut bob, &cl.room, &new_id())["type"], "ack");

    server.stop();
    let t = Instant::now();
    let cid = new_id();
    let refused = post(&mut bob, &cl.room, &cid);
    let took = t.elapsed();
    assert_eq!(refused["type"], "error", "{refused}");
    assert_eq!(refused["code"], "overloaded", "{refused}");
    assert!(took < Duration::from_secs(8), "answered after {took:?}");

    server.start();
    let back = Instant::now();
    // The same post again (a client retries with its client_message_id): stored once.
    let ack = loop {
        let v = post(&mut bob, &cl.room, &cid);
        if v["type"] == "ack" {
            break v;
        }
        assert_eq!(v["code"], "overloaded", "{v}");
        assert!(
            back.elapsed() < Duration::from_secs(15),
            "never recovered: {v}"
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(ack["duplicate"], false, "the refused post was not stored");
    eprintln!(
        "without PostgreSQL: overloaded after {took:?}; posting again {:?} after the restart",
        back.elapsed()
    );
}
