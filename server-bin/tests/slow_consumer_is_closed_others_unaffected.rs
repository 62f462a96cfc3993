mod common;

use common::{Fixture, Server, new_id};
use serde_json::json;
use tungstenite::protocol::frame::coding::CloseCode;

const POSTS: usize = 600;

#[test]
fn a_client_that_stops_reading_is_closed_with_1008_and_others_get_everything() {
    let f = Fixture::new();
    let flags = [
        "--post-rate",
        "100000",
        "--max-write-buffer",
        "16384",
        "--stall-timeout-ms",
        "300",
        "--socket-send-buffer",
        "32768",
    ];
    let server = Server::start(&f, &flags);
    let mut bob =
        common::Client::connect_with(server.addr, &f.token("bob"), common::small_receive_buffer);
    bob.subscribe(&f.room, None);
    let mut ann = server.ws(&f.token("ann"));
    ann.subscribe(&f.room, None);
    let reader = std::thread::spawn(move || {
        let mut seen = 0;
        while seen < POSTS {
            if ann.next()["type"] == "message" {
                seen += 1;
            }
        }
        seen
    });
    let mut poster = server.ws(&f.token("ann"));
    let content = "z".repeat(4000);
    for batch in 0..POSTS / 50 {
        for i in 0..50 {
            poster.send(
                json!({"type": "post", "room_id": f.room, "client_message_id": new_id(),
                               "content": format!("{batch}/{i} {content}")}),
            );
        }
        for _ in 0..50 {
            let (ack, _) = poster.until("ack");
            assert_eq!(ack["duplicate"], false);
        }
    }
    assert_eq!(
        reader.join().expect("reader"),
        POSTS,
        "the reading client got every message"
    );
    let close = bob.close_frame().expect("close frame");
    assert_eq!(close.code, CloseCode::Policy);
}
