mod common;

use common::{Client, Fixture, Server, new_id};
use serde_json::{Value, json};

/// The ack to the last request and the `message` frame it caused, in either order.
fn ack_and_message(c: &mut Client) -> (Value, Value) {
    let (ack, before) = c.until("ack");
    let message = match before.into_iter().find(|m| m["type"] == "message") {
        Some(m) => m,
        None => c.expect("message"),
    };
    (ack, message)
}

#[test]
fn edits_and_deletes_are_acked_and_broadcast_and_others_are_forbidden() {
    let f = Fixture::new();
    let server = Server::start(&f, &[]);
    let mut bob = server.ws(&f.token("bob"));
    let mut ann = server.ws(&f.token("ann"));
    ann.subscribe(&f.room, None);
    ann.send(
        json!({"type": "post", "room_id": f.room, "client_message_id": new_id(),
                    "content": "tpyo", "ref": 1}),
    );
    let (ack, _) = ack_and_message(&mut ann);
    let posted = ack["message"].clone();

    bob.send(json!({"type": "edit", "message_id": posted["id"], "content": "mine", "ref": "x"}));
    let (err, _) = bob.until("error");
    assert_eq!(err["ref"], "x");
    assert_eq!(err["code"], "forbidden", "{err}");

    ann.send(json!({"type": "edit", "message_id": posted["id"], "content": "typo", "ref": 2}));
    let (ack, edited) = ack_and_message(&mut ann);
    assert_eq!(ack["ref"], 2);
    assert_eq!(ack["message"]["content"], "typo");
    assert!(ack["message"]["edited_at"].is_i64());
    assert_eq!(edited["message"], ack["message"]);

    ann.send(json!({"type": "delete", "message_id": posted["id"]}));
    let (ack, deleted) = ack_and_message(&mut ann);
    assert_eq!(ack["message"]["deleted"], true);
    assert_eq!(ack["message"]["content"], "");
    assert_eq!(
        ack["message"]["seq"], posted["seq"],
        "a tombstone keeps its place"
    );
    assert_eq!(deleted["message"], ack["message"]);
}
