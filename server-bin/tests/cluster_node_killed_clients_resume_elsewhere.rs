//! `kill -9` of one node under load: its clients reconnect to another node with `since`
//! and get every change they missed, once, in order; no acknowledged post is lost; the dead
//! node's users go offline in the room within the presence TTL.

mod cluster_nodes;
mod common;

use std::sync::mpsc;
use std::time::{Duration, Instant};

use cluster_nodes::{Cluster, assert_is_the_feed, change_seq, feed, messages_until};
use common::{Client, new_id};
use serde_json::{Value, json};
use tungstenite::Message;

const TTL_MS: u64 = 2_000;
const POSTS: usize = 300;

/// Reads `c` (answering its pings) until the socket ends; presence frames go to `tx`.
fn keep_reading(mut c: Client, tx: Option<mpsc::Sender<(Instant, Value)>>) {
    while let Ok(m) = c.ws.read() {
        let Message::Text(t) = m else { continue };
        let Ok(v) = serde_json::from_str::<Value>(t.as_str()) else {
            continue;
        };
        if let Some(tx) = &tx {
            if v["type"] == "presence" && tx.send((Instant::now(), v)).is_err() {
                return;
            }
        }
    }
}

/// The next presence frame about `user` from `rx`, with when it arrived.
fn presence_of(rx: &mpsc::Receiver<(Instant, Value)>, user: &Value) -> (Instant, Value) {
    loop {
        let (at, v) = rx
            .recv_timeout(Duration::from_secs(10))
            .expect("a presence frame within 10 s");
        if v["user_id"] == *user {
            return (at, v);
        }
    }
}

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
    // Carol watches presence from a node that stays (read all along, so she stays present).
    let mut carol = refuge.ws(&cl.token("carol"));
    carol.subscribe(&cl.room, None);
    let (presence_tx, presence) = mpsc::channel();
    std::thread::spawn(move || keep_reading(carol, Some(presence_tx)));
    // Ann is present only on the node that dies, and never comes back.
    let ann = cl.token("ann");
    let mut ann_on_victim = victim.ws(&ann);
    let ann_id = ann_on_victim.ready["user"]["id"].clone();
    ann_on_victim.subscribe(&cl.room, None);
    std::thread::spawn(move || keep_reading(ann_on_victim, None));
    assert_eq!(presence_of(&presence, &ann_id).1["online"], true);
    // Bob reads on the node that dies, then moves.
    let bob_token = cl.token("bob");
    let mut bob = victim.ws(&bob_token);
    let bob_id = bob.ready["user"]["id"].clone();
    bob.subscribe(&cl.room, None);
    assert_eq!(presence_of(&presence, &bob_id).1["online"], true);

    // Ann posts through a node that stays.
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
    // Bob reads about a third, then his node dies.
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
    // He reconnects to another node with the last change he saw, and reads to the end.
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
    // Posts are the only changes: the last one is change POSTS.
    if got.last().map_or(0, change_seq) < POSTS as u64 {
        got.extend(messages_until(&mut bob, POSTS as u64));
    }
    poster.join().expect("the poster");
    let acked: Vec<Value> = acks.try_iter().collect();
    assert_eq!(acked.len(), POSTS);
    let feed = feed(&refuge, &ann, &cl.room, 0);
    for m in &acked {
        assert!(
            feed.iter().any(|f| f["id"] == m["id"]),
            "acked post lost: {m}"
        );
    }
    assert_is_the_feed("bob", &got, &feed);

    // The dead node's user went offline within the TTL; bob, who moved, never did.
    let (at, offline) = presence_of(&presence, &ann_id);
    assert_eq!(offline["online"], false);
    let lapsed = at.duration_since(killed);
    assert!(
        lapsed <= Duration::from_millis(TTL_MS),
        "offline {lapsed:?} after the kill"
    );
    let bob_frames: Vec<Value> = presence
        .try_iter()
        .filter(|(_, v)| v["user_id"] == bob_id)
        .map(|(_, v)| v)
        .collect();
    assert!(
        bob_frames.iter().all(|v| v["online"] != false),
        "bob moved nodes within the TTL and stays online: {bob_frames:?}"
    );
    eprintln!("the dead node's user went offline {lapsed:?} after the kill (TTL {TTL_MS} ms)");
}
