//! Many HTTP clients asking for a large message page and never reading: the total queued
//! output stays under the global bound plus one reply, later requests get `503
//! overloaded` instead of being built, and `/health` stays quick.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::{Fixture, Server, health_latency, metric, post_big, small_receive_buffer};

const MAX_OUTPUT: usize = 2 * 1024 * 1024;
const CLIENTS: usize = 30;

#[test]
fn non_reading_http_clients_are_bounded_by_the_global_output_limit() {
    let f = Fixture::new();
    let max_output = MAX_OUTPUT.to_string();
    let flags = [
        "--post-rate",
        "100000",
        "--max-output",
        &max_output,
        "--socket-send-buffer",
        "16384",
    ];
    // Tokens first: the admin command opens the database, best before the server is busy.
    let (ann, bob) = (f.token("ann"), f.token("bob"));
    let server = Server::start(&f, &flags);
    post_big(&server, &f, &ann, 20);
    let token = bob;
    let request = format!(
        "GET /api/rooms/{}/messages?limit=20 HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer {token}\r\n\r\n",
        f.room
    );
    let reply = common::raw_http(server.addr, request.as_bytes()).len();

    let mut clients = Vec::new();
    for _ in 0..CLIENTS {
        let mut s = TcpStream::connect(server.addr).expect("connect");
        small_receive_buffer(&s);
        s.write_all(request.as_bytes()).expect("write");
        clients.push(s);
    }
    let mut queued_max = 0;
    let mut health_max = Duration::ZERO;
    let until = Instant::now() + Duration::from_millis(1000);
    while Instant::now() < until {
        queued_max = queued_max.max(metric(server.addr, "ember_output_queued_bytes") as usize);
        health_max = health_max.max(health_latency(server.addr));
        std::thread::sleep(Duration::from_millis(20));
    }
    println!("reply {reply} B, queued at most {queued_max} B, /health {health_max:?}");
    assert!(
        queued_max <= MAX_OUTPUT + reply + 4096,
        "queued {queued_max} B > bound {MAX_OUTPUT} + one reply {reply}"
    );
    assert!(
        queued_max > reply,
        "the clients queued nothing: the test did not run"
    );
    assert!(
        health_max < Duration::from_secs(1),
        "/health took {health_max:?}"
    );

    // Past the bound, WebSocket history is refused the same way; cheap requests are not.
    let mut ws = server.ws(&ann);
    ws.send(serde_json::json!({"type": "history", "room_id": f.room, "limit": 20, "ref": 1}));
    let refused = ws.expect("error");
    assert_eq!(
        (refused["code"].as_str(), refused["ref"].as_i64()),
        (Some("overloaded"), Some(1))
    );
    ws.send(serde_json::json!({"type": "ping", "ref": 2}));
    assert_eq!(ws.expect("pong")["ref"], 2);

    let (mut ok, mut overloaded) = (0, 0);
    for mut s in clients {
        s.set_read_timeout(Some(Duration::from_secs(5)))
            .expect("timeout");
        // The status line and, for a refusal, its short JSON body.
        let mut answer = Vec::new();
        let mut chunk = [0u8; 4096];
        while answer.len() < 256 {
            match s.read(&mut chunk) {
                Ok(0) | Err(_) => break,
                Ok(n) => answer.extend_from_slice(&chunk[..n]),
            }
        }
        let text = String::from_utf8_lossy(&answer);
        if text.starts_with("HTTP/1.1 200") {
            ok += 1;
        } else if text.starts_with("HTTP/1.1 503") && text.contains("\"overloaded\"") {
            overloaded += 1;
        } else {
            panic!("unexpected answer {:?}", &text[..text.len().min(200)]);
        }
    }
    assert!(
        ok >= 1 && overloaded >= 1,
        "{ok} pages, {overloaded} refused"
    );
    assert_eq!(
        metric(server.addr, "ember_overloaded_total"),
        overloaded + 1
    );
}
