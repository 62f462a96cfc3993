//! A client flooding pings without reading: pongs count in its output queue, so the server
//! stops reading it at the budget, and after the stall timeout closes it with a 1008 close
//! frame that really reaches it.

mod common;

use std::io::Write;
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::{Fixture, Server, metric, small_receive_buffer};
use tungstenite::Message;
use tungstenite::protocol::frame::coding::CloseCode;

/// A masked client ping with a 100-byte payload (mask 0: the payload is sent as is).
fn ping_frame() -> Vec<u8> {
    let mut f = vec![0x89, 0x80 | 100, 0, 0, 0, 0];
    f.extend_from_slice(&[b'p'; 100]);
    f
}

#[test]
fn a_ping_flood_is_bounded_and_closed_with_a_1008_frame() {
    let f = Fixture::new();
    let flags = [
        "--max-write-buffer",
        "16384",
        "--socket-send-buffer",
        "16384",
        "--stall-timeout-ms",
        "500",
    ];
    let bob = f.token("bob");
    let server = Server::start(&f, &flags);
    let stream = TcpStream::connect(server.addr).expect("connect");
    small_receive_buffer(&stream);
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    stream
        .set_write_timeout(Some(Duration::from_millis(500)))
        .expect("timeout");
    let url = format!("ws://{}/ws?token={}", server.addr, bob);
    let (mut ws, _) = tungstenite::client(url.as_str(), stream).expect("handshake");

    // Ping until the server stops reading (our writes time out) or 20 MB were sent.
    let burst: Vec<u8> = (0..100).flat_map(|_| ping_frame()).collect();
    let mut sent = 0usize;
    while sent < 20_000_000 && ws.get_mut().write_all(&burst).is_ok() {
        sent += burst.len();
    }
    assert!(
        sent < 20_000_000,
        "the server kept reading pings it could not answer"
    );
    let queued = metric(server.addr, "ember_output_queued_bytes");
    assert!(queued <= 16384 + 4096, "{queued} B queued for pongs");
    assert!(metric(server.addr, "ember_backpressure_total") >= 1);

    let closed = common::eventually(10, || metric(server.addr, "ember_slow_closed_total") >= 1);
    assert!(closed, "the flooding client was not closed");
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut pongs = 0;
    let close = loop {
        assert!(
            Instant::now() < deadline,
            "no close frame after {pongs} pongs"
        );
        match ws.read() {
            Ok(Message::Pong(_)) => pongs += 1,
            Ok(Message::Close(c)) => break c.expect("a close frame with a code"),
            Ok(other) => assert!(other.is_text(), "unexpected {other:?}"),
            Err(e) => panic!("no close frame after {pongs} pongs: {e}"),
        }
    };
    assert_eq!(close.code, CloseCode::Policy);
    assert!(pongs > 0, "pongs came before the close");
}
