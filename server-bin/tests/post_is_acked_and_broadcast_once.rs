mod common;

use common::{Fixture, Server, messages, new_id};
use serde_json::json;

#[test]
fn post_is_acked_and_every_subscriber_gets_it_once() {
    let f = Fixture::new();
    let server = Server::start(&f, &[]);
    let mut ann = server.ws(&f.token("ann"));
    let mut bob = server.ws(&f.token("bob"));
    assert_eq!(ann.ready["user"]["name"], "Ann");
    assert_eq!(ann.ready["rooms"][0]["id"], f.room.as_str());
    let (sub, _) = ann.subscribe(&f.room, None);
    assert_eq!(sub["ref"], "sub");
    assert_eq!(sub["complete"], true);
    bob.subscribe(&f.room, None);

    let cid = new_id();
    ann.send(
        json!({"type": "post", "room_id": f.room, "client_message_id": cid,
                    "content": "hello bob", "ref": 42}),
    );
    let mut ann_frames = Vec::new();
    let ack = loop {
        let v = ann.next();
        if v["type"] == "ack" {
            break v;
        }
        ann_frames.push(v);
    };
    assert_eq!(ack["ref"], 42);
    assert_eq!(ack["duplicate"], false);
    assert_eq!(ack["message"]["content"], "hello bob");
    assert_eq!(ack["message"]["client_message_id"], cid.as_str());
    let bob_msg = bob.expect("message");
    assert_eq!(bob_msg["message"], ack["message"]);

    // A second post: each side sees each message exactly once, in order.
    ann.send(
        json!({"type": "post", "room_id": f.room, "client_message_id": new_id(),
                    "content": "second"}),
    );
    let (_, more) = ann.until("ack");
    ann_frames.extend(more);
    let second = bob.expect("message");
    assert_eq!(second["message"]["content"], "second");
    ann.send(json!({"type": "ping", "ref": "p"}));
    let (pong, rest) = ann.until("pong");
    assert_eq!(pong["ref"], "p");
    ann_frames.extend(rest);
    let got: Vec<_> = messages(&ann_frames)
        .iter()
        .map(|m| m["message"]["content"].as_str().unwrap_or("").to_owned())
        .collect();
    assert_eq!(got, ["hello bob", "second"]);
}
