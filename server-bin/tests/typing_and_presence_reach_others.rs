mod common;

use std::time::{Duration, Instant};

use common::{Fixture, Server};
use serde_json::json;

#[test]
fn typing_and_presence_reach_others_and_a_vanished_client_goes_offline() {
    let f = Fixture::new();
    let fast = [
        "--ping-interval-ms",
        "300",
        "--idle-timeout-ms",
        "2500",
        "--presence-ttl-ms",
        "2500",
    ];
    let server = Server::start(&f, &fast);
    let mut ann = server.ws(&f.token("ann"));
    let ann_id = ann.ready["user"]["id"].clone();
    let (sub, _) = ann.subscribe(&f.room, None);
    assert_eq!(sub["online"], json!([ann_id]));

    let mut bob = server.ws(&f.token("bob"));
    let bob_id = bob.ready["user"]["id"].clone();
    let (sub, _) = bob.subscribe(&f.room, None);
    assert_eq!(sub["online"].as_array().map(Vec::len), Some(2));
    let online = ann.until("presence").0;
    assert_eq!(
        online,
        json!({"type": "presence", "room_id": f.room, "user_id": bob_id, "online": true})
    );

    bob.send(json!({"type": "typing", "room_id": f.room, "active": true}));
    let typing = ann.until("typing").0;
    assert_eq!(typing["user_id"], bob_id);
    assert_eq!(typing["active"], true);
    bob.send(json!({"type": "ping", "ref": 1}));
    let (_, before_pong) = bob.until("pong");
    assert!(
        before_pong.iter().all(|f| f["type"] != "typing"),
        "no echo of one's own typing"
    );

    // Bob vanishes: the socket stays open but he never answers again.
    let started = Instant::now();
    let offline = loop {
        let v = ann.next();
        if v["type"] == "presence" && v["online"] == false {
            break v;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "bob never went offline"
        );
    };
    assert_eq!(offline["user_id"], bob_id);
    // Ann, who keeps answering pings, is still connected and present.
    ann.send(json!({"type": "ping"}));
    ann.until("pong");
    drop(bob);
}
