mod common;

use common::{Fixture, Server, http, new_id};
use serde_json::Value;

#[test]
fn bots_and_scripts_post_and_read_with_plain_http() {
    let f = Fixture::new();
    // `bot add` prints the key, a tab, and the webhook secret.
    let added = f.admin(&["bot", "add", "Hubot", "--room", "Lobby"]);
    let (key, secret) = added.split_once('\t').expect("key<TAB>secret");
    assert_eq!((key.len(), secret.len()), (64, 64), "{added}");
    let server = Server::start(&f, &[]);
    let path = format!("/api/rooms/{}/messages", f.room);
    let bot_auth = format!("Bot {key}");
    let plain = [
        ("Authorization", bot_auth.as_str()),
        ("Content-Type", "text/plain"),
    ];
    let (status, body) = http(server.addr, "POST", &path, &plain, b"hello from a bot");
    assert_eq!(status, 201, "{body}");
    let m: Value = serde_json::from_str(&body).expect("json");
    assert_eq!(m["content"], "hello from a bot");

    let token = f.token("ann");
    let bearer = format!("Bearer {token}");
    let json_headers = [
        ("Authorization", bearer.as_str()),
        ("Content-Type", "application/json"),
    ];
    let body = format!(
        r#"{{"content":"from a script","client_message_id":"{}"}}"#,
        new_id()
    );
    let (status, first) = http(server.addr, "POST", &path, &json_headers, body.as_bytes());
    assert_eq!(status, 201);
    let (status, again) = http(server.addr, "POST", &path, &json_headers, body.as_bytes());
    assert_eq!(status, 200, "a retry answers with the original");
    assert_eq!(first, again);

    let (status, list) = http(
        server.addr,
        "GET",
        &format!("{path}?limit=10"),
        &[("Authorization", &bearer)],
        b"",
    );
    assert_eq!(status, 200);
    let list: Value = serde_json::from_str(&list).expect("json");
    let contents: Vec<_> = list
        .as_array()
        .expect("array")
        .iter()
        .map(|m| m["content"].clone())
        .collect();
    assert_eq!(contents, ["hello from a bot", "from a script"]);

    let (status, err) = http(server.addr, "POST", &path, &[], b"anonymous");
    assert_eq!(status, 401);
    let err: Value = serde_json::from_str(&err).expect("json");
    assert_eq!(err["error"]["code"], "unauthenticated");
    let (status, _) = http(
        server.addr,
        "POST",
        "/api/rooms/nope/messages",
        &plain,
        b"x",
    );
    assert_eq!(status, 400);
    let other = format!("/api/rooms/{}/messages", new_id());
    let (status, _) = http(server.addr, "POST", &other, &plain, b"x");
    assert!(status == 404 || status == 403, "unknown room: {status}");
    let big = vec![b'a'; 70 * 1024];
    let (status, _) = http(server.addr, "POST", &path, &plain, &big);
    assert_eq!(status, 413);
}
