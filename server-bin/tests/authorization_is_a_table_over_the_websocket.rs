//! The authorization table of `engine/tests/authorization_is_a_table.rs`, through the
//! WebSocket protocol: the same rule book and the same worlds (shared, included by path),
//! each actor connecting with its session token to a real ember-server. Operations the
//! protocol has no frame for (the changes feed, membership, involvement) are left to the
//! engine's table; a deactivated user or a revoked session is refused at the upgrade.

#[path = "../../engine/tests/common/authz.rs"]
#[allow(dead_code)]
mod authz;
mod common;

use authz::{ACTORS, KINDS, OPS, Op, Outcome, Via, World, expected, world};
use common::{Client, Fixture, Server};
use ember_engine::{Engine, Options, PasswordCost};
use serde_json::{Value, json};
use tungstenite::Message;

/// The frame for `op`, or `None` when the protocol has no such operation.
fn frame(w: &World, op: Op) -> Option<Value> {
    let room = w.room.to_string();
    let own = |i: usize| {
        w.own
            .as_ref()
            .map(|o| if i == 0 { &o.0 } else { &o.1 })
            .expect("own message")
            .id
            .to_string()
    };
    Some(match op {
        Op::History => json!({"type": "history", "room_id": room, "limit": 10}),
        Op::Subscribe => json!({"type": "subscribe", "room_id": room, "since": 0}),
        Op::Post => json!({"type": "post", "room_id": room, "content": "a new one",
                           "client_message_id": common::new_id()}),
        Op::EditOwn => json!({"type": "edit", "message_id": own(0), "content": "edited"}),
        Op::DeleteOwn => json!({"type": "delete", "message_id": own(1)}),
        Op::EditOther => {
            json!({"type": "edit", "message_id": w.other.0.id.to_string(), "content": "edited"})
        }
        Op::DeleteOther => json!({"type": "delete", "message_id": w.other.1.id.to_string()}),
        Op::Search => json!({"type": "search", "query": "needle", "limit": 10}),
        Op::Typing => json!({"type": "typing", "room_id": room, "active": true}),
        Op::MarkRead => json!({"type": "read", "room_id": room, "seq": 1}),
        Op::Changes | Op::AddMember | Op::RemoveMember | Op::SetInvolvement => return None,
    })
}

/// Sends `frame` with a fresh `ref` and reads until the answer with that `ref`. Typing is
/// answered only when refused, so a ping follows it: its pong first means allowed.
fn ask(c: &mut Client, mut frame: Value, n: &mut u64, room: &str) -> Outcome {
    *n += 1;
    let reference = format!("r{n}");
    frame["ref"] = reference.clone().into();
    let typing = frame["type"] == "typing";
    let search = frame["type"] == "search";
    c.send(frame);
    let pong = format!("{reference}-ping");
    if typing {
        c.send(json!({"type": "ping", "ref": pong}));
    }
    loop {
        let v = match c.ws.read().expect("read an answer") {
            Message::Text(t) => serde_json::from_str::<Value>(t.as_str()).expect("json"),
            _ => continue,
        };
        if v["ref"] == pong.as_str() {
            return Outcome::Allowed;
        }
        if v["ref"] != reference.as_str() {
            continue;
        }
        if v["type"] == "error" {
            return match v["code"].as_str() {
                Some("forbidden") => Outcome::Forbidden,
                Some("unauthenticated") => Outcome::Unauthenticated,
                Some("validation") => Outcome::Invalid("(over the WebSocket)"),
                _ => panic!("unexpected error {v}"),
            };
        }
        if search {
            let found = v["messages"].as_array().expect("messages");
            return if found.iter().any(|m| m["room_id"] == room) {
                Outcome::Allowed
            } else {
                Outcome::Hidden
            };
        }
        return Outcome::Allowed;
    }
}

#[test]
fn every_actor_room_kind_and_operation_over_the_websocket_gets_what_the_table_says() {
    common::watchdog::arm();
    let mut wrong = Vec::new();
    let mut cells = 0;
    for kind in KINDS {
        for actor in ACTORS {
            let dir = tempfile::tempdir().expect("a temporary directory");
            let db = dir.path().join("ember.db");
            let mut opts = Options::new(&db);
            opts.password_cost = PasswordCost {
                memory_kib: 8,
                iterations: 1,
            };
            let engine = Engine::open(opts).expect("open");
            let w = world(&engine, actor, kind);
            engine.close(); // indexes everything: search sees the needle at once
            let f = Fixture {
                dir,
                db,
                room: String::new(),
            };
            let server = Server::start(&f, &[]);
            let url = format!("ws://{}/ws?token={}", server.addr, w.token);
            let stream = std::net::TcpStream::connect(server.addr).expect("connect");
            stream
                .set_read_timeout(Some(std::time::Duration::from_secs(5)))
                .expect("timeout");
            let mut client = match tungstenite::client(url.as_str(), stream) {
                Ok((ws, _)) => Some(Client {
                    ws,
                    ready: Value::Null,
                }),
                Err(tungstenite::HandshakeError::Failure(tungstenite::Error::Http(r)))
                    if r.status() == 401 =>
                {
                    None
                }
                Err(e) => panic!("{actor:?}: upgrade failed: {e}"),
            };
            let mut n = 0;
            for op in OPS {
                let Some(want) = expected(actor, kind, op, Via::Credential) else {
                    continue;
                };
                let Some(frame) = frame(&w, op) else {
                    continue;
                };
                let got = match &mut client {
                    None => Outcome::Unauthenticated,
                    Some(c) => ask(c, frame, &mut n, &w.room.to_string()),
                };
                cells += 1;
                if got != want {
                    wrong.push(format!(
                        "{actor:?} in {kind:?} room, {op:?}: expected {want:?}, got {got:?}"
                    ));
                }
            }
        }
    }
    assert!(cells > 150, "the table covers {cells} cells");
    assert!(
        wrong.is_empty(),
        "{} cells differ:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}
