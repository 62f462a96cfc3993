//! `kill -9` of ember-server under WebSocket load, twenty times: after every restart each
//! acknowledged message is there once, the room's seqs have no gap, and posting the same
//! `client_message_id`s again answers `duplicate: true` with the original message.

mod common;

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use common::{Client, Fixture, Server, new_id};
use ember_engine::{Engine, Options};
use serde_json::{Value, json};
use tungstenite::Message;

const ROUNDS: usize = 20;
const CLIENTS: usize = 2;
const POSTS_PER_CLIENT: usize = 40;

/// Sends every post at once (pipelined), then records each ack until the connection dies.
fn post_until_killed(
    mut c: Client,
    room: &str,
    round: usize,
    acked: &AtomicUsize,
) -> HashMap<String, Value> {
    let mut sent = Vec::new();
    for i in 0..POSTS_PER_CLIENT {
        let cid = new_id();
        let post = json!({"type": "post", "room_id": room, "client_message_id": cid,
                          "content": format!("round {round} post {i}"), "ref": i});
        if c.ws.send(Message::text(post.to_string())).is_err() {
            break;
        }
        sent.push(cid);
    }
    let mut acks = HashMap::new();
    while let Ok(frame) = c.ws.read() {
        let Message::Text(t) = frame else { continue };
        let v: Value = serde_json::from_str(t.as_str()).expect("json");
        if v["type"] == "ack" {
            assert_eq!(v["duplicate"], false, "a fresh id acked as a retry: {v}");
            let message = v["message"].clone();
            let cid = message["client_message_id"]
                .as_str()
                .expect("cid")
                .to_owned();
            assert!(sent.contains(&cid), "an ack for a post never sent: {v}");
            acks.insert(cid, message);
            acked.fetch_add(1, Ordering::Relaxed);
        } else {
            assert_ne!(v["type"], "error", "a post failed: {v}");
        }
    }
    acks
}

#[test]
fn every_acked_post_survives_twenty_kills_once_and_retries_are_duplicates() {
    let f = Fixture::new();
    let token = f.token("ann");
    let mut all_acked: HashMap<String, Value> = HashMap::new();
    for round in 0..ROUNDS {
        let server = Server::start(&f, &["--post-rate", "1000000"]);
        let acked = Arc::new(AtomicUsize::new(0));
        let clients: Vec<_> = (0..CLIENTS)
            .map(|_| {
                let c = server.ws(&token);
                let (room, acked) = (f.room.clone(), acked.clone());
                std::thread::spawn(move || post_until_killed(c, &room, round, &acked))
            })
            .collect();
        // Kill at a different point each round: after a few acks, or when all came back.
        let kill_after = 1 + (round * 7) % (CLIENTS * POSTS_PER_CLIENT);
        let deadline = Instant::now() + Duration::from_secs(10);
        while acked.load(Ordering::Relaxed) < kill_after && Instant::now() < deadline {
            std::thread::sleep(Duration::from_micros(200));
        }
        drop(server); // SIGKILL, then wait for it
        for c in clients {
            all_acked.extend(c.join().expect("client thread"));
        }

        // Every acked message is in the database once, and the room has no gap.
        let db = Engine::open(Options::new(&f.db)).expect("open the killed database");
        let ann = db.user_by_login("ann").expect("ann").id;
        let room = f.room.parse().expect("room id");
        let mut history = Vec::new();
        let mut before = None;
        loop {
            let page = db.messages_before(ann, room, before, 100).expect("history");
            let Some(first) = page.first() else { break };
            before = Some(first.seq);
            history.splice(0..0, page);
        }
        let seqs: Vec<u64> = history.iter().map(|m| m.seq).collect();
        assert_eq!(
            seqs,
            (1..=seqs.len() as u64).collect::<Vec<_>>(),
            "round {round}: a gap"
        );
        let mut by_cid: HashMap<String, usize> = HashMap::new();
        for m in &history {
            *by_cid.entry(m.client_message_id.to_string()).or_default() += 1;
        }
        for (cid, message) in &all_acked {
            assert_eq!(
                by_cid.get(cid),
                Some(&1),
                "round {round}: acked {cid} is not there once"
            );
            let stored = history
                .iter()
                .find(|m| m.client_message_id.to_string() == *cid);
            assert_eq!(
                stored.map(|m| m.id.to_string()),
                message["id"].as_str().map(str::to_owned),
                "round {round}: acked {cid} has another id"
            );
        }
        db.close();
    }
    assert!(
        all_acked.len() >= ROUNDS,
        "too few acks to mean anything: {}",
        all_acked.len()
    );

    // Retrying every acked post returns the original, marked duplicate.
    let server = Server::start(&f, &["--post-rate", "1000000"]);
    let mut c = server.ws(&token);
    for (i, (cid, original)) in all_acked.iter().enumerate() {
        c.send(
            json!({"type": "post", "room_id": f.room, "client_message_id": cid,
                      "content": "retried", "ref": i}),
        );
        let ack = c.expect("ack");
        assert_eq!(
            ack["duplicate"], true,
            "a retry of {cid} made a new message"
        );
        assert_eq!(
            &ack["message"], original,
            "a retry of {cid} returned another message"
        );
    }
}
