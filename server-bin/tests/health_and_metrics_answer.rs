mod common;

use common::{Fixture, Server, http, new_id};
use serde_json::{Value, json};

#[test]
fn health_metrics_and_the_web_page() {
    let f = Fixture::new();
    let server = Server::start(&f, &[]);
    let (status, body) = http(server.addr, "GET", "/health", &[], b"");
    assert_eq!(status, 200);
    let v: Value = serde_json::from_str(&body).expect("json");
    assert_eq!(v["status"], "ok");
    assert!(v["uptime_s"].is_u64());

    let mut c = server.ws(&f.token("ann"));
    c.send(json!({"type": "subscribe", "room_id": f.room, "since": null}));
    c.until("subscribed");
    c.send(
        json!({"type": "post", "room_id": f.room, "client_message_id": new_id(), "content": "hi"}),
    );
    c.until("ack");
    let (status, text) = http(server.addr, "GET", "/metrics", &[], b"");
    assert_eq!(status, 200);
    for line in [
        "ember_posts_total 1",
        "ember_websockets 1",
        "ember_ack_latency_seconds_count 1",
    ] {
        assert!(text.lines().any(|l| l == line), "{line} missing in\n{text}");
    }
    assert!(text.contains("ember_writer_transactions_total"));
    // The subscriber's copy of the message is timed from its publication.
    let delivered = "ember_delivery_latency_seconds_count 1";
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        let (_, text) = http(server.addr, "GET", "/metrics", &[], b"");
        if text.lines().any(|l| l == delivered) {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{delivered} missing in\n{text}"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }

    let (status, page) = http(server.addr, "GET", "/", &[], b"");
    assert_eq!(status, 200);
    assert!(
        page.contains("src=\"/app.js\""),
        "the page loads the client"
    );
    let (status, script) = http(server.addr, "GET", "/conn.js", &[], b"");
    assert_eq!(status, 200);
    assert!(script.contains("WebSocket"), "the client speaks WebSocket");
    let (status, _) = http(server.addr, "GET", "/nope", &[], b"");
    assert_eq!(status, 404);
}
