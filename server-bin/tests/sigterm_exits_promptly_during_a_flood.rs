//! SIGTERM is honoured at once even while a client floods requests without reading: its
//! unsent output is dropped and the server exits 0 within about a second.

mod common;

use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::{Fixture, Server, metric, post_big, small_receive_buffer};
use serde_json::json;
use tungstenite::Message;

#[test]
fn sigterm_during_a_history_flood_exits_within_seconds() {
    let f = Fixture::new();
    let (ann, bob) = (f.token("ann"), f.token("bob"));
    let flags = ["--post-rate", "100000", "--socket-send-buffer", "16384"];
    let mut server = Server::start(&f, &flags);
    post_big(&server, &f, &ann, 20);

    let stream = TcpStream::connect(server.addr).expect("connect");
    small_receive_buffer(&stream);
    stream
        .set_write_timeout(Some(Duration::from_secs(2)))
        .expect("timeout");
    let url = format!("ws://{}/ws?token={bob}", server.addr);
    let (mut flooder, _) = tungstenite::client(url.as_str(), stream).expect("handshake");
    let request = json!({"type": "history", "room_id": f.room, "limit": 20}).to_string();
    for _ in 0..300 {
        if flooder.send(Message::text(request.clone())).is_err() {
            break;
        }
    }
    let flooding = common::eventually(5, || {
        metric(server.addr, "ember_output_queued_bytes") > 256 * 1024
    });
    assert!(flooding, "the flood queued nothing");

    // SAFETY: kill only sends a signal to our own child.
    let rc = unsafe { libc::kill(server.child.id() as i32, libc::SIGTERM) };
    assert_eq!(rc, 0);
    let asked = Instant::now();
    let status = loop {
        if let Some(s) = server.child.try_wait().expect("wait") {
            break s;
        }
        assert!(
            asked.elapsed() < Duration::from_secs(4),
            "the server did not exit within 4 s of SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    println!("exited {:?} after SIGTERM", asked.elapsed());
    assert!(status.success(), "exit status {status}");
    drop(flooder);
}
