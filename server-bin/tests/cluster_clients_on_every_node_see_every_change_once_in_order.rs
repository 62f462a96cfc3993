//! Three ember-server nodes on one PostgreSQL database and one Redis: posts, edits and
//! deletes sent to any node reach every subscriber on every node once, in order.

mod cluster_nodes;
mod common;

use cluster_nodes::{Cluster, Lcg, assert_is_the_feed, change_seq, feed, messages_until};
use common::{Client, new_id};
use serde_json::{Value, json};

/// Sends `request` and returns its ack's message.
fn acked(c: &mut Client, request: Value) -> Value {
    c.send(request.clone());
    let ack = loop {
        let v = c.next();
        assert_ne!(v["type"], "error", "{request} was refused: {v}");
        if v["type"] == "ack" {
            break v;
        }
    };
    assert!(ack["message"].is_object(), "ack: {ack}");
    ack["message"].clone()
}

#[test]
fn posts_edits_and_deletes_sent_to_random_nodes_reach_every_client_once_in_order() {
    let Some(cl) = Cluster::new(false) else {
        return;
    };
    let fast = ["--post-rate", "10000"];
    let nodes = [cl.node(&fast), cl.node(&fast), cl.node(&fast)];
    let ann = cl.token("ann");
    // Two subscribers per node.
    let mut subscribers: Vec<(String, Client)> = Vec::new();
    for (i, node) in nodes.iter().enumerate() {
        for login in ["bob", "carol"] {
            let mut c = node.ws(&cl.token(login));
            c.subscribe(&cl.room, None);
            subscribers.push((format!("{login} on node {i}"), c));
        }
    }
    // Ann's writers, one socket per node (not subscribed).
    let mut writers: Vec<Client> = nodes.iter().map(|n| n.ws(&ann)).collect();
    let mut rng = Lcg(12);
    let mut posted: Vec<Value> = Vec::new();
    let mut head = 0;
    for i in 0..150 {
        let w = &mut writers[rng.below(3)];
        // Edits and deletes go to messages not deleted yet.
        let op = if posted.is_empty() { 0 } else { rng.below(5) };
        let m = match op {
            3 => {
                let target = &posted[rng.below(posted.len())];
                acked(
                    w,
                    json!({"type": "edit", "message_id": target["id"], "content": format!("edit {i}"), "ref": i}),
                )
            }
            4 => {
                let target = posted.swap_remove(rng.below(posted.len()));
                acked(
                    w,
                    json!({"type": "delete", "message_id": target["id"], "ref": i}),
                )
            }
            _ => {
                let m = acked(
                    w,
                    json!({"type": "post", "room_id": cl.room,
                    "client_message_id": new_id(), "content": format!("post {i}"), "ref": i}),
                );
                posted.push(m.clone());
                m
            }
        };
        head = head.max(change_seq(&m));
    }
    let feed = feed(&nodes[0], &ann, &cl.room, 0);
    assert_eq!(feed.last().map(change_seq), Some(head));
    for (who, c) in &mut subscribers {
        let got = messages_until(c, head);
        assert_is_the_feed(who, &got, &feed);
    }
    eprintln!(
        "{} changes reached {} subscribers on 3 nodes once, in order",
        head,
        subscribers.len()
    );
}

#[test]
fn one_client_message_id_posted_to_two_nodes_at_once_is_one_message() {
    let Some(cl) = Cluster::new(false) else {
        return;
    };
    let a = cl.node(&[]);
    let b = cl.node(&[]);
    let bob = cl.token("bob");
    let mut watchers = [a.ws(&cl.token("carol")), b.ws(&cl.token("carol"))];
    for w in &mut watchers {
        w.subscribe(&cl.room, None);
    }
    for round in 0..20 {
        let cid = new_id();
        let post = json!({"type": "post", "room_id": cl.room, "client_message_id": cid,
            "content": format!("once {round}"), "ref": round});
        let mut on_a = a.ws(&bob);
        let mut on_b = b.ws(&bob);
        // Both sent before either answer is read.
        on_a.send(post.clone());
        on_b.send(post);
        let (ack_a, _) = on_a.until("ack");
        let (ack_b, _) = on_b.until("ack");
        assert_eq!(
            ack_a["message"], ack_b["message"],
            "both acks carry the one message"
        );
        assert_eq!(ack_a["message"]["client_message_id"], cid.as_str());
        let duplicates = [&ack_a, &ack_b]
            .iter()
            .filter(|a| a["duplicate"] == true)
            .count();
        assert_eq!(duplicates, 1, "one post, one duplicate: {ack_a} {ack_b}");
        let head = change_seq(&ack_a["message"]);
        for w in &mut watchers {
            let got = messages_until(w, head);
            assert_eq!(got, [ack_a["message"].clone()], "seen once");
        }
    }
    let feed = feed(&a, &bob, &cl.room, 0);
    assert_eq!(feed.len(), 20, "one message per client_message_id");
}
