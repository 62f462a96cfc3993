mod common;

use common::{Fixture, Server, http};
use serde_json::Value;

const UPGRADE: [(&str, &str); 4] = [
    ("Upgrade", "websocket"),
    ("Connection", "Upgrade"),
    ("Sec-WebSocket-Version", "13"),
    ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
];

#[test]
fn unknown_missing_and_revoked_tokens_get_401() {
    let f = Fixture::new();
    let server = Server::start(&f, &[]);
    let (status, body) = http(server.addr, "GET", "/ws?token=nope", &UPGRADE, b"");
    assert_eq!(status, 401);
    let v: Value = serde_json::from_str(&body).expect("json");
    assert_eq!(v["error"]["code"], "unauthenticated");
    let (status, _) = http(server.addr, "GET", "/ws", &UPGRADE, b"");
    assert_eq!(status, 401);

    let token = f.token("bob");
    let mut headers = UPGRADE.to_vec();
    let auth = format!("Bearer {token}");
    headers.push(("Authorization", &auth));
    let (status, _) = http(server.addr, "GET", "/ws", &headers, b"");
    assert_eq!(status, 101, "a good token in the header upgrades");

    let (status, _) = http(
        server.addr,
        "DELETE",
        "/api/session",
        &[("Authorization", &auth)],
        b"",
    );
    assert_eq!(status, 204);
    let (status, _) = http(server.addr, "GET", "/ws", &headers, b"");
    assert_eq!(status, 401, "a revoked token is refused");
}

#[test]
fn login_gives_a_token_that_opens_a_websocket() {
    let f = Fixture::new();
    let server = Server::start(&f, &[]);
    let body = br#"{"login":"bob","password":"bob-password"}"#;
    let (status, text) = http(server.addr, "POST", "/api/login", &[], body);
    assert_eq!(status, 200, "{text}");
    let v: Value = serde_json::from_str(&text).expect("json");
    assert_eq!(v["user"]["name"], "Bob");
    let token = v["token"].as_str().expect("token");
    let c = server.ws(token);
    assert_eq!(c.ready["user"]["role"], "member");

    let bad = br#"{"login":"bob","password":"wrong-password"}"#;
    let (status, _) = http(server.addr, "POST", "/api/login", &[], bad);
    assert_eq!(status, 401);
}
