//! Presence and typing across ember-server nodes on one PostgreSQL database and one Redis.

mod cluster_nodes;
mod common;

use std::time::{Duration, Instant};

use cluster_nodes::Cluster;
use common::Client;
use serde_json::{Value, json};

/// What `c` heard about `user` (presence and typing frames) until a ping round trip and
/// `settle` more: a cross-node event has had time to arrive.
fn heard_about(c: &mut Client, user: &Value, settle: Duration) -> Vec<Value> {
    std::thread::sleep(settle);
    c.send(json!({"type": "ping", "ref": "p"}));
    let (_, frames) = c.until("pong");
    frames
        .into_iter()
        .filter(|v| (v["type"] == "presence" || v["type"] == "typing") && v["user_id"] == *user)
        .map(|v| {
            let mut v = v;
            v.as_object_mut().map(|o| o.remove("room_id"));
            v
        })
        .collect()
}

fn presence(user: &Value, online: bool) -> Value {
    json!({"type": "presence", "user_id": user, "online": online})
}

#[test]
fn a_user_on_two_nodes_is_online_once_and_offline_after_the_last_socket() {
    let Some(cl) = Cluster::new(false) else {
        return;
    };
    let a = cl.node(&[]);
    let b = cl.node(&[]);
    let settle = Duration::from_millis(500);
    // Observers: ann on node A, carol on node B.
    let mut ann = a.ws(&cl.token("ann"));
    ann.subscribe(&cl.room, None);
    let mut carol = b.ws(&cl.token("carol"));
    carol.subscribe(&cl.room, None);
    let bob_token = cl.token("bob");

    let mut bob_a = a.ws(&bob_token);
    let bob = bob_a.ready["user"]["id"].clone();
    bob_a.subscribe(&cl.room, None);
    assert_eq!(heard_about(&mut ann, &bob, settle), [presence(&bob, true)]);
    assert_eq!(
        heard_about(&mut carol, &bob, settle),
        [presence(&bob, true)]
    );

    // A second socket on the other node: bob is online already, nobody hears it again;
    // that node lists him online (he is connected to the room, on node A).
    let mut bob_b = b.ws(&bob_token);
    let (sub, _) = bob_b.subscribe(&cl.room, None);
    assert!(sub["online"].as_array().is_some_and(|o| o.contains(&bob)));
    let mut dave = b.ws(&cl.token("ann"));
    let (sub, _) = dave.subscribe(&cl.room, None);
    assert!(
        sub["online"]
            .as_array()
            .is_some_and(|o| o.contains(&bob) && o.contains(&carol.ready["user"]["id"])),
        "node B lists the users of both nodes: {sub}"
    );
    assert_eq!(heard_about(&mut ann, &bob, settle), Vec::<Value>::new());
    assert_eq!(heard_about(&mut carol, &bob, settle), Vec::<Value>::new());

    // The first socket closes: bob is still connected on node B.
    drop(bob_a);
    assert_eq!(heard_about(&mut ann, &bob, settle), Vec::<Value>::new());
    assert_eq!(heard_about(&mut carol, &bob, settle), Vec::<Value>::new());

    // The last one closes: every node hears him go, once.
    drop(bob_b);
    assert_eq!(heard_about(&mut ann, &bob, settle), [presence(&bob, false)]);
    assert_eq!(
        heard_about(&mut carol, &bob, settle),
        [presence(&bob, false)]
    );
}

#[test]
fn typing_crosses_nodes_and_stops_after_five_seconds() {
    let Some(cl) = Cluster::new(false) else {
        return;
    };
    let a = cl.node(&[]);
    let b = cl.node(&[]);
    let mut carol = b.ws(&cl.token("carol"));
    carol.subscribe(&cl.room, None);
    let mut bob = a.ws(&cl.token("bob"));
    let bob_id = bob.ready["user"]["id"].clone();
    bob.subscribe(&cl.room, None);

    bob.send(json!({"type": "typing", "room_id": cl.room, "active": true}));
    let started = Instant::now();
    let typing = loop {
        let v = carol.next();
        if v["type"] == "typing" && v["user_id"] == bob_id {
            break v;
        }
    };
    assert_eq!(typing["active"], true);
    let crossed = started.elapsed();
    assert!(
        crossed < Duration::from_secs(1),
        "typing crossed in {crossed:?}"
    );
    // Bob says nothing more: the typing stops by itself after 5 s, heard once.
    carol
        .ws
        .get_ref()
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let stopped = loop {
        let v = carol.next();
        if v["type"] == "typing" && v["user_id"] == bob_id {
            break v;
        }
    };
    let after = started.elapsed();
    assert_eq!(stopped["active"], false);
    assert!(
        after >= Duration::from_millis(4_500) && after < Duration::from_millis(7_000),
        "stopped after {after:?}"
    );
    let heard = heard_about(&mut carol, &bob_id, Duration::from_millis(1_500));
    assert!(
        heard.iter().all(|v| v["type"] != "typing"),
        "the stop is not doubled: {heard:?}"
    );
    eprintln!("typing crossed nodes in {crossed:?}, stopped after {after:?}");
}
