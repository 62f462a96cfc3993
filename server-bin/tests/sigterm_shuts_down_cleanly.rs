mod common;

use std::time::{Duration, Instant};

use common::{Fixture, Server, new_id};
use serde_json::json;
use tungstenite::Message;
use tungstenite::protocol::frame::coding::CloseCode;

#[test]
fn sigterm_closes_with_1001_exits_0_and_acked_posts_are_on_disk() {
    let f = Fixture::new();
    let mut server = Server::start(&f, &[]);
    let mut ann = server.ws(&f.token("ann"));
    for i in 0..30 {
        ann.send(
            json!({"type": "post", "room_id": f.room, "client_message_id": new_id(),
                        "content": format!("message {i}")}),
        );
    }
    let first = ann.until("ack").0;
    assert_eq!(first["duplicate"], false);
    // SAFETY: kill only sends a signal to our own child.
    let rc = unsafe { libc::kill(server.child.id() as i32, libc::SIGTERM) };
    assert_eq!(rc, 0);
    let mut acked = 1;
    let close = loop {
        match ann.ws.read() {
            Ok(Message::Text(t)) if t.as_str().contains("\"ack\"") => acked += 1,
            Ok(Message::Close(c)) => break c.expect("close frame"),
            Ok(_) => {}
            Err(e) => panic!("no close frame: {e}"),
        }
    };
    assert_eq!(close.code, CloseCode::Away);
    let deadline = Instant::now() + Duration::from_secs(15);
    let status = loop {
        if let Some(s) = server.child.try_wait().expect("wait") {
            break s;
        }
        assert!(Instant::now() < deadline, "server did not exit");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(status.success(), "exit status {status}");
    let rooms = f.admin(&["room", "list"]);
    let head: u64 = rooms
        .split('\t')
        .nth(3)
        .and_then(|s| s.trim().parse().ok())
        .expect("head seq");
    assert!(head >= acked, "{acked} acked but only {head} on disk");
}
