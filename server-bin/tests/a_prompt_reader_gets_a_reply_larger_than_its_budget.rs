//! One reply may exceed a connection's output budget: it is queued whole, so a client that
//! reads promptly gets a history page of 20 × 40 KB through a 16 KiB budget.

mod common;

use common::{Fixture, Server, http, post_big};
use serde_json::{Value, json};

#[test]
fn a_history_page_bigger_than_the_budget_arrives_whole_over_websocket_and_http() {
    let f = Fixture::new();
    let flags = ["--post-rate", "100000", "--max-write-buffer", "16384"];
    // Tokens first: the admin command opens the database, best before the server is busy.
    let (ann, bob) = (f.token("ann"), f.token("bob"));
    let server = Server::start(&f, &flags);
    post_big(&server, &f, &ann, 20);

    let mut c = server.ws(&bob);
    for round in 0..3 {
        c.send(json!({"type": "history", "room_id": f.room, "limit": 20, "ref": round}));
        let page = c.expect("history");
        assert_eq!(page["ref"], round);
        let messages = page["messages"].as_array().expect("messages");
        assert_eq!(messages.len(), 20);
        assert_eq!(messages[0]["content"], common::big_content(0));
    }
    c.send(json!({"type": "ping", "ref": "after"}));
    assert_eq!(
        c.expect("pong")["ref"],
        "after",
        "the connection stays usable"
    );

    let token = bob;
    let auth = format!("Bearer {token}");
    let path = format!("/api/rooms/{}/messages?limit=20", f.room);
    let (status, body) = http(server.addr, "GET", &path, &[("Authorization", &auth)], b"");
    assert_eq!(status, 200);
    let page: Value = serde_json::from_str(&body).expect("json");
    assert_eq!(page.as_array().map(Vec::len), Some(20));
}
