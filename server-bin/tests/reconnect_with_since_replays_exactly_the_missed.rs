mod common;

use common::{Fixture, Server, messages, new_id};
use serde_json::json;

#[test]
fn since_replays_exactly_the_missed_changes_then_live() {
    let f = Fixture::new();
    let server = Server::start(&f, &[]);
    let (ann_token, bob_token) = (f.token("ann"), f.token("bob"));
    let mut ann = server.ws(&ann_token);
    let post = |c: &mut common::Client, text: &str| {
        c.send(
            json!({"type": "post", "room_id": f.room, "client_message_id": new_id(),
                      "content": text}),
        );
        c.until("ack").0
    };
    post(&mut ann, "before");
    let mut bob = server.ws(&bob_token);
    let (sub, _) = bob.subscribe(&f.room, None);
    let cursor = sub["head_seq"].as_u64().expect("head");
    let epoch = bob.ready["epoch"].clone();
    drop(bob);

    let a1 = post(&mut ann, "missed 1");
    let a2 = post(&mut ann, "missed 2");
    ann.send(
        json!({"type": "edit", "message_id": a1["message"]["id"], "content": "missed 1 (edited)"}),
    );
    ann.until("ack");

    let mut bob = server.ws(&bob_token);
    bob.send(json!({"type": "subscribe", "room_id": f.room, "since": cursor, "epoch": epoch}));
    let (sub, replay) = bob.until("subscribed");
    assert_eq!(sub["complete"], true);
    assert!(sub.get("reset").is_none());
    let replay = messages(&replay);
    let contents: Vec<_> = replay
        .iter()
        .map(|m| m["message"]["content"].clone())
        .collect();
    assert_eq!(
        contents,
        [json!("missed 2"), json!("missed 1 (edited)")],
        "change order, current state"
    );
    let seqs: Vec<_> = replay
        .iter()
        .map(|m| m["message"]["change_seq"].as_u64())
        .collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]));

    let live = post(&mut ann, "live");
    let next = bob.expect("message");
    assert_eq!(
        next["message"]["id"], live["message"]["id"],
        "no gap, no duplicate"
    );
    assert_eq!(a2["message"]["seq"], 3);
}

#[test]
fn a_cursor_from_another_epoch_resets_without_replay() {
    let f = Fixture::new();
    let server = Server::start(&f, &[]);
    let mut bob = server.ws(&f.token("bob"));
    bob.send(json!({"type": "subscribe", "room_id": f.room, "since": 0,
                    "epoch": "00000000-0000-0000-0000-000000000000", "ref": 9}));
    let (sub, before) = bob.until("subscribed");
    assert_eq!(sub["reset"], true);
    assert_eq!(sub["ref"], 9);
    assert!(messages(&before).is_empty());
    bob.send(json!({"type": "subscribe", "room_id": f.room, "since": 999}));
    let (sub, _) = bob.until("subscribed");
    assert_eq!(
        sub["reset"], true,
        "a cursor beyond the head is from another database"
    );
}
