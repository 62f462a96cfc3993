//! Taking access away reaches sockets already open, whether the change is made through the
//! server's API or by the admin CLI in another process on the same database: a deactivated
//! user's sockets close with 4003, a revoked session's with 4001 (others of the same user
//! stay open), and a member removed from a room gets `unsubscribed` with reason `revoked`
//! and no more of the room's messages.

mod common;

use std::time::{Duration, Instant};

use common::{Client, Fixture, Server, http, new_id};
use serde_json::json;
use tungstenite::protocol::frame::coding::CloseCode;

/// Well above the second the server needs, for a loaded machine.
const PROMPTLY: Duration = Duration::from_secs(3);

/// The close frame `c` gets, and how long it took from `since`.
fn closed(c: &mut Client, since: Instant) -> (CloseCode, Duration) {
    let frame = c.close_frame().expect("a close frame with a code");
    (frame.code, since.elapsed())
}

fn subscribed(f: &Fixture, server: &Server, login: &str) -> (Client, String) {
    let token = f.token(login);
    let mut c = server.ws(&token);
    c.subscribe(&f.room, None);
    (c, token)
}

#[test]
fn deactivation_from_the_cli_closes_the_users_sockets() {
    let f = Fixture::new();
    let server = Server::start(&f, &[]);
    let (mut bob1, _) = subscribed(&f, &server, "bob");
    let (mut bob2, _) = subscribed(&f, &server, "bob");
    let (mut ann, _) = subscribed(&f, &server, "ann");
    let t = Instant::now();
    f.admin(&["user", "deactivate", "bob"]);
    for bob in [&mut bob1, &mut bob2] {
        let (code, took) = closed(bob, t);
        assert_eq!(code, CloseCode::from(4003), "deactivated");
        assert!(took < PROMPTLY, "closed after {took:?}");
        eprintln!("deactivation reached the socket in {took:?}");
    }
    // Ann's socket is untouched.
    ann.send(json!({"type": "ping", "ref": "p"}));
    assert_eq!(ann.expect("pong")["ref"], "p");
}

#[test]
fn revoking_a_session_from_the_cli_closes_its_sockets_only() {
    let f = Fixture::new();
    let server = Server::start(&f, &[]);
    let (mut revoked, token) = subscribed(&f, &server, "bob");
    let (mut other, _) = subscribed(&f, &server, "bob");
    let t = Instant::now();
    f.admin(&["token", "revoke", &token]);
    let (code, took) = closed(&mut revoked, t);
    assert_eq!(code, CloseCode::from(4001), "session ended");
    assert!(took < PROMPTLY, "closed after {took:?}");
    eprintln!("a session revoked by the CLI reached its socket in {took:?}");
    // Bob's other session goes on.
    other.send(json!({"type": "ping", "ref": "p"}));
    assert_eq!(other.expect("pong")["ref"], "p");
}

#[test]
fn revoking_every_session_from_the_cli_closes_every_socket() {
    let f = Fixture::new();
    let server = Server::start(&f, &[]);
    let (mut first, _) = subscribed(&f, &server, "bob");
    let (mut second, _) = subscribed(&f, &server, "bob");
    let t = Instant::now();
    assert_eq!(f.admin(&["token", "revoke-all", "bob"]), "2");
    for bob in [&mut first, &mut second] {
        let (code, took) = closed(bob, t);
        assert_eq!(code, CloseCode::from(4001));
        assert!(took < PROMPTLY, "closed after {took:?}");
    }
}

#[test]
fn logout_through_the_api_closes_the_sockets_of_that_token() {
    let f = Fixture::new();
    let server = Server::start(&f, &[]);
    let (mut bob, token) = subscribed(&f, &server, "bob");
    let t = Instant::now();
    let (status, _) = http(
        server.addr,
        "DELETE",
        "/api/session",
        &[("Authorization", &format!("Bearer {token}"))],
        b"",
    );
    assert_eq!(status, 204);
    let (code, took) = closed(&mut bob, t);
    assert_eq!(code, CloseCode::from(4001));
    assert!(took < PROMPTLY, "closed after {took:?}");
    eprintln!("a logout through the API reached the socket in {took:?}");
}

#[test]
fn removal_from_a_room_by_the_cli_ends_the_subscription() {
    let f = Fixture::new();
    let plans = f.admin(&[
        "room", "add", "Plans", "--kind", "closed", "--member", "ann", "--member", "bob",
    ]);
    let server = Server::start(&f, &[]);
    let mut bob = server.ws(&f.token("bob"));
    bob.subscribe(&plans, None);
    let mut ann = server.ws(&f.token("ann"));
    let t = Instant::now();
    f.admin(&["room", "member", "remove", &plans, "bob"]);
    let (gone, _) = bob.until("unsubscribed");
    let took = t.elapsed();
    assert_eq!(gone["room_id"], plans.as_str());
    assert_eq!(gone["reason"], "revoked");
    assert!(took < PROMPTLY, "ended after {took:?}");
    eprintln!("a removal by the CLI reached the subscription in {took:?}");
    // What is posted afterwards does not reach bob; his socket stays open.
    ann.send(
        json!({"type": "post", "room_id": plans, "client_message_id": new_id(),
                    "content": "after bob left", "ref": 1}),
    );
    ann.expect("ack");
    bob.send(json!({"type": "ping", "ref": "p"}));
    let (pong, before) = bob.until("pong");
    assert_eq!(pong["ref"], "p");
    assert!(
        before.iter().all(|v| v["type"] != "message"),
        "bob got a message after removal: {before:?}"
    );
}
