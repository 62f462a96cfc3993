//! A client that floods `history` or `search` without reading costs the server at most its
//! output budget plus one reply: the server stops reading it, `/health` stays quick, and
//! the client is closed with a real 1008 close frame.

mod common;

use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::{Fixture, Server, health_latency, metric, post_big};
use serde_json::{Value, json};
use tungstenite::protocol::frame::coding::CloseCode;
use tungstenite::{Message, WebSocket};

const BUDGET: usize = 64 * 1024;
const PAGE: usize = 20;

fn flood(request: impl Fn(&str) -> Value, answer: &str) {
    let f = Fixture::new();
    let flags = [
        "--post-rate",
        "100000",
        "--max-write-buffer",
        "65536",
        "--socket-send-buffer",
        "16384",
        "--stall-timeout-ms",
        "1500",
    ];
    // Tokens first: the admin command opens the database, best before the server is busy.
    let (ann, bob) = (f.token("ann"), f.token("bob"));
    let server = Server::start(&f, &flags);
    post_big(&server, &f, &ann, PAGE);
    let request = request(&f.room);

    // One reply's size, as a reading client gets it (search waits for the indexer).
    let mut reader = server.ws(&ann);
    let mut reply = 0;
    let complete = common::eventually(10, || {
        reader.send(request.clone());
        let v = reader.until(answer).0;
        reply = v.to_string().len();
        v["messages"].as_array().map(Vec::len) == Some(PAGE)
    });
    assert!(complete, "the {answer} page never filled");

    // The client's kernel takes ~128 KiB before it is full; the server's 16 KiB send
    // buffer little: most of a reply waits in the server's queue.
    let stream = TcpStream::connect(server.addr).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    stream
        .set_write_timeout(Some(Duration::from_secs(2)))
        .expect("timeout");
    let url = format!("ws://{}/ws?token={}", server.addr, bob);
    let (mut flooder, _) = tungstenite::client(url.as_str(), stream).expect("handshake");
    let text = request.to_string();
    for _ in 0..500 {
        if flooder.send(Message::text(text.clone())).is_err() {
            break;
        }
    }

    let mut queued_max = 0;
    let mut health_max = Duration::ZERO;
    let until = Instant::now() + Duration::from_millis(1000);
    while Instant::now() < until {
        queued_max = queued_max.max(metric(server.addr, "ember_output_queued_bytes") as usize);
        health_max = health_max.max(health_latency(server.addr));
        std::thread::sleep(Duration::from_millis(20));
    }
    println!("{answer}: reply {reply} B, queued at most {queued_max} B, /health {health_max:?}");
    assert!(
        queued_max <= BUDGET + reply + 4096,
        "queued {queued_max} B > budget {BUDGET} + one reply {reply}"
    );
    assert!(queued_max > 0, "the flood queued nothing: it did not run");
    assert!(metric(server.addr, "ember_backpressure_total") >= 1);
    assert!(
        health_max < Duration::from_secs(1),
        "/health took {health_max:?} during the flood"
    );
    // Still not reading past the stall timeout: closed as slow, and the close frame comes
    // right after the reply being written when the client reads again.
    let closed = common::eventually(10, || metric(server.addr, "ember_slow_closed_total") >= 1);
    assert!(closed, "the stalled client was not closed");
    assert_eq!(close_code(&mut flooder), CloseCode::Policy);
}

/// Reads everything the server queued, then its close frame.
fn close_code(ws: &mut WebSocket<TcpStream>) -> CloseCode {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        match ws.read() {
            Ok(Message::Close(Some(c))) => return c.code,
            Ok(_) => {}
            Err(e) => panic!("no close frame: {e}"),
        }
    }
    panic!("no close frame within 30 s");
}

#[test]
fn a_history_flood_without_reading_is_bounded_by_budget_plus_one_reply() {
    flood(
        |room| json!({"type": "history", "room_id": room, "limit": PAGE}),
        "history",
    );
}

#[test]
fn a_search_flood_without_reading_is_bounded_by_budget_plus_one_reply() {
    flood(
        |_| json!({"type": "search", "query": "flood", "limit": PAGE}),
        "search_results",
    );
}
