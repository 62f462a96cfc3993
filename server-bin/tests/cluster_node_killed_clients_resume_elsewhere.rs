//! `kill -9` of one node under load: its clients reconnect to another node with `since`
//! and get every change they missed, once, in order; no acknowledged post is lost; the dead
//! node's users go offline in the room within the presence TTL.

mod cluster_nodes;
mod common;

use std::sync::mpsc;
use std::time::{Duration, Instant};

use cluster_nodes::{Cluster, assert_is_the_feed, change_seq, feed, messages_until};
use common::new_id;
use serde_json::{Value, json};
use tungstenite::Message;

const TTL_MS: u64 = 2_000;
const POSTS: usize = 300;

#[test]
fn a_killed_nodes_clients_resume_elsewhere_and_its_users_go_offline() {
    let Some(cl) = Cluster::new(false) else {
        return;
    };
    let ttl = TTL_MS.to_string();
    let flags = ["--presence-ttl-ms", &ttl, "--ping-interval-ms", "300"];
    let mut victim = cl.node(&flags);
    let poster_node = cl.node(&[&flags[..], &["--post-rate", "10000"]].concat());
    let refuge = cl.node(&flags);
    // Carol watches from the node that stays; bob is on the node that dies.
    let mut carol = refuge.ws(&cl.token("carol"));
    carol.subscribe(&cl.room, None);
    let bob_token = cl.token("bob");
    let mut bob = victim.ws(&bob_token);
    let bob_id = bob.ready["user"]["id"].clone();
    bob.subscribe(&cl.room, None);
    let online = loop {
        let v = carol.next();
        if v["type"] == "presence" && v["user_id"] == bob_id {
            break v;
        }
    };
    assert_eq!(online["online"], true);

    // Ann posts through a node that stays.
    let ann = cl.token("ann");
    let (acks_tx, acks) = mpsc::channel::<Value>();
    let poster = {
        let mut via_poster = poster_node.ws(&ann);
        let room = cl.room.clone();
        std::thread::spawn(move || {
            for i in 0..POSTS {
                via_poster.send(json!({"type": "post", "room_id": room,
                    "client_message_id": new_id(), "content": format!("post {i}")}));
                let (ack, _) = via_poster.until("ack");
                let _ = acks_tx.send(ack["message"].clone());
                std::thread::sleep(Duration::from_millis(5));
            }
        })
    };
    // Bob reads until about a third has passed, then his node dies.
    let mut got: Vec<Value> = messages_until(&mut bob, (POSTS / 3) as u64);
    let _ = bob
        .ws
        .get_ref()
        .set_read_timeout(Some(Duration::from_millis(200)));
    victim.child.kill().expect("kill -9 the node");
    let killed = Instant::now();
    let _ = victim.child.wait();
    // What was already on bob's socket still counts; then the socket ends.
    loop {
        match bob.ws.read() {
            Ok(Message::Text(t)) => {
                let v: Value = serde_json::from_str(t.as_str()).expect("json");
                if v["type"] == "message" {
                    got.push(v["message"].clone());
                }
            }
            Ok(_) => {}
            Err(_) => break,
        }
        assert!(
            killed.elapsed() < Duration::from_secs(5),
            "the dead node's socket never ended"
        );
    }
    // He reconnects to another node with the last change he saw.
    let since = got.last().map_or(0, change_seq);
    let mut bob = refuge.ws(&bob_token);
    let (sub, replayed) = bob.subscribe(&cl.room, Some(since));
    assert_eq!(sub["complete"], true);
    got.extend(
        replayed
            .into_iter()
            .filter(|v| v["type"] == "message")
            .map(|v| v["message"].clone()),
    );

    // The dead node's user goes offline within the TTL. (Bob's new socket on the refuge
    // makes him online again afterwards: the offline must come first.)
    let offline = loop {
        let v = carol.next();
        if v["type"] == "presence" && v["user_id"] == bob_id {
            break v;
        }
    };
    let lapsed = killed.elapsed();
    assert_eq!(
        offline["online"], false,
        "bob went offline first: {offline}"
    );
    assert!(
        lapsed < Duration::from_millis(TTL_MS + 500),
        "offline after {lapsed:?}"
    );

    poster.join().expect("the poster");
    let acked: Vec<Value> = acks.try_iter().collect();
    assert_eq!(acked.len(), POSTS);
    let head = acked.iter().map(change_seq).max().unwrap_or(0);
    if got.last().map_or(0, change_seq) < head {
        got.extend(messages_until(&mut bob, head));
    }
    let feed = feed(&refuge, &ann, &cl.room, 0);
    for m in &acked {
        assert!(
            feed.iter().any(|f| f["id"] == m["id"]),
            "acked post lost: {m}"
        );
    }
    assert_is_the_feed("bob", &got, &feed);
    eprintln!("the dead node's user went offline {lapsed:?} after the kill (TTL {TTL_MS} ms)");
}
