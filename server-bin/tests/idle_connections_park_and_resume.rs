mod common;

use std::time::Duration;

use common::{Fixture, Server, new_id};
use serde_json::json;

#[test]
fn a_connection_idle_long_enough_to_park_still_sends_and_receives() {
    let f = Fixture::new();
    let server = Server::start(&f, &[]);
    let mut ann = server.ws(&f.token("ann"));
    let mut bob = server.ws(&f.token("bob"));
    ann.subscribe(&f.room, None);
    bob.subscribe(&f.room, None);
    std::thread::sleep(Duration::from_millis(2800)); // both are parked by now
    ann.send(
        json!({"type": "post", "room_id": f.room, "client_message_id": new_id(),
                    "content": "wake up"}),
    );
    assert_eq!(ann.until("ack").0["message"]["content"], "wake up");
    assert_eq!(bob.expect("message")["message"]["content"], "wake up");
    std::thread::sleep(Duration::from_millis(2800));
    bob.send(
        json!({"type": "post", "room_id": f.room, "client_message_id": new_id(),
                    "content": "still here"}),
    );
    assert_eq!(bob.until("ack").0["message"]["content"], "still here");
    loop {
        let m = ann.expect("message");
        if m["message"]["content"] == "still here" {
            break;
        }
        assert_eq!(
            m["message"]["content"], "wake up",
            "only her own earlier message before"
        );
    }
}
