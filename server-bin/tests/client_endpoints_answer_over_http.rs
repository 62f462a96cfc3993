//! The endpoints the web client uses beside the WebSocket: the session check, a room's
//! members, the messages around one, and opening a direct conversation (which the other
//! person's connection learns about as `room_joined`).

mod common;

use common::{Fixture, Server, http};
use serde_json::Value;

fn json(body: &str) -> Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {body}"))
}

#[test]
fn client_endpoints_answer_over_http() {
    let f = Fixture::new();
    let server = Server::start(&f, &[]);
    let ann = format!("Bearer {}", f.token("ann"));
    let auth = [("Authorization", ann.as_str())];

    let (status, body) = http(server.addr, "GET", "/api/session", &auth, b"");
    assert_eq!(status, 200, "{body}");
    assert_eq!(json(&body)["user"]["login"], "ann");
    let refused = [("Authorization", "Bearer 00")];
    let (status, _) = http(server.addr, "GET", "/api/session", &refused, b"");
    assert_eq!(status, 401);

    let members_path = format!("/api/rooms/{}/members", f.room);
    let (status, body) = http(server.addr, "GET", &members_path, &auth, b"");
    assert_eq!(status, 200, "{body}");
    let members = json(&body);
    let names: Vec<&str> = members
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|m| m["name"].as_str())
        .collect();
    assert!(
        names.contains(&"Ann") && names.contains(&"Bob"),
        "{names:?}"
    );
    let bob_id = members
        .as_array()
        .and_then(|l| l.iter().find(|m| m["login"] == "bob"))
        .and_then(|m| m["id"].as_str())
        .expect("bob")
        .to_owned();

    let post_path = format!("/api/rooms/{}/messages", f.room);
    let plain = [
        ("Authorization", ann.as_str()),
        ("Content-Type", "text/plain"),
    ];
    let mut ids = Vec::new();
    for i in 0..9 {
        let (status, body) = http(
            server.addr,
            "POST",
            &post_path,
            &plain,
            format!("m{i}").as_bytes(),
        );
        assert_eq!(status, 201, "{body}");
        ids.push(json(&body)["id"].as_str().expect("id").to_owned());
    }
    let around = format!("/api/messages/{}/around?n=2", ids[4]);
    let (status, body) = http(server.addr, "GET", &around, &auth, b"");
    assert_eq!(status, 200, "{body}");
    let contents: Vec<String> = json(&body)
        .as_array()
        .expect("list")
        .iter()
        .map(|m| m["content"].as_str().unwrap_or("").to_owned())
        .collect();
    assert_eq!(contents, ["m2", "m3", "m4", "m5", "m6"]);

    let mut bob = server.ws(&f.token("bob"));
    let body = format!(r#"{{"user_id":"{bob_id}"}}"#);
    let (status, first) = http(server.addr, "POST", "/api/direct", &auth, body.as_bytes());
    assert_eq!(status, 200, "{first}");
    let room = json(&first);
    assert_eq!(room["kind"], "direct");
    let joined = bob.expect("room_joined");
    assert_eq!(joined["room_id"], room["room_id"]);
    let (status, again) = http(server.addr, "POST", "/api/direct", &auth, body.as_bytes());
    assert_eq!(status, 200);
    assert_eq!(
        json(&again)["room_id"],
        room["room_id"],
        "one direct room per pair"
    );
}
