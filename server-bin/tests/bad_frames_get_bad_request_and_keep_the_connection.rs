mod common;

use common::{Fixture, Server};
use serde_json::json;
use tungstenite::Message;
use tungstenite::protocol::frame::coding::CloseCode;

#[test]
fn malformed_unknown_incomplete_and_binary_frames_get_bad_request() {
    let f = Fixture::new();
    let server = Server::start(&f, &[]);
    let mut c = server.ws(&f.token("bob"));
    let bad = [
        "{not json".to_owned(),
        json!({"type": "fly", "ref": 1}).to_string(),
        json!({"type": "post", "room_id": f.room, "ref": "r"}).to_string(),
        json!({"type": "subscribe", "room_id": "not-a-uuid"}).to_string(),
    ];
    for text in &bad {
        c.ws.send(Message::text(text.clone())).expect("send");
        let err = c.next();
        assert_eq!(err["type"], "error", "{text}");
        assert_eq!(err["code"], "bad_request", "{text}");
    }
    c.ws.send(Message::binary(vec![1, 2, 3])).expect("send");
    assert_eq!(c.next()["code"], "bad_request");
    c.send(json!({"type": "post", "room_id": f.room, "ref": "r"}));
    assert_eq!(c.next()["ref"], "r", "the ref of a bad frame is echoed");
    c.send(json!({"type": "ping"}));
    assert_eq!(c.next()["type"], "pong", "the connection is still alive");
}

#[test]
fn a_70_kib_frame_closes_with_1009() {
    let f = Fixture::new();
    let server = Server::start(&f, &[]);
    let mut c = server.ws(&f.token("bob"));
    let big = "x".repeat(70 * 1024);
    c.ws.send(Message::text(big)).expect("send");
    let close = c.close_frame().expect("a close frame");
    assert_eq!(close.code, CloseCode::Size);
}
