//! Client WebSocket frames through the server's decoding and dispatch, as `ann` on a fresh
//! authenticated connection: each line of the input (placeholders replaced) is one frame,
//! a text frame when it is UTF-8 and a binary frame otherwise. After each, a fenced `ping`
//! shows where the synchronous answers end. Properties: the server never panics and never
//! closes the connection; every frame gets exactly one reply (`typing` none, or an error),
//! of the kind its `type` asks for or an `error`, carrying the frame's `ref` when it had a
//! string or number one; every frame the server sends is a JSON object of a documented type;
//! no error is `internal`.

use std::net::TcpStream;

use serde_json::{Value, json};
use tungstenite::{Message, WebSocket};

use super::Fixture;
use super::response::ERROR_CODES;

/// Most frames one input sends.
const MAX_FRAMES: usize = 32;
/// The `ref` prefix of the fences; lines containing it are skipped.
const FENCE: &str = "fuzz-fence-";

/// Every frame type the server sends (`docs/protocol.md`).
const SERVER_FRAMES: &[&str] = &[
    "ready",
    "subscribed",
    "unsubscribed",
    "message",
    "typing",
    "presence",
    "sound",
    "membership",
    "unread",
    "room_joined",
    "room_left",
    "ack",
    "history",
    "search_results",
    "pong",
    "error",
];

/// Runs one input; panics when a property fails.
pub fn check(fixture: &Fixture, data: &[u8]) {
    let mut ws = open(fixture);
    for (i, line) in data.split(|b| *b == b'\n').take(MAX_FRAMES).enumerate() {
        let frame = fixture.substitute(line);
        if frame.windows(FENCE.len()).any(|w| w == FENCE.as_bytes()) {
            continue;
        }
        let (message, expect) = match String::from_utf8(frame) {
            Ok(text) => {
                let expect = Expect::of(&text);
                (Message::text(text), expect)
            }
            Err(e) => (Message::binary(e.into_bytes()), Expect::error()),
        };
        ws.send(message).expect("send a frame");
        let fence = format!("{FENCE}{i}");
        ws.send(Message::text(
            json!({"type": "ping", "ref": fence}).to_string(),
        ))
        .expect("send the fence");
        let replies = replies_until(&mut ws, &fence, expect.optional);
        expect.assert_answered_by(&replies);
    }
    let _ = ws.close(None);
    fixture.assert_alive();
}

/// A WebSocket as `ann`, past its `ready` frame.
fn open(fixture: &Fixture) -> WebSocket<TcpStream> {
    let stream = fixture.connect();
    let url = format!("ws://{}/ws?token={}", fixture.addr, fixture.token());
    let (mut ws, _) = tungstenite::client(url.as_str(), stream).expect("the upgrade");
    let ready = next(&mut ws);
    assert_eq!(ready["type"], "ready", "first frame: {ready}");
    assert_eq!(ready["user"]["id"], fixture.ann().to_string());
    ws
}

/// The replies read until the fence's `pong`, and after it until one came (unless none is
/// required).
fn replies_until(ws: &mut WebSocket<TcpStream>, fence: &str, optional: bool) -> Vec<Value> {
    let mut replies = Vec::new();
    let mut fenced = false;
    while !(fenced && (optional || !replies.is_empty())) {
        let frame = next(ws);
        if frame["type"] == "pong" && frame["ref"] == fence {
            assert!(!fenced, "two answers to the fence {fence}");
            fenced = true;
        } else if is_reply(&frame) {
            replies.push(frame);
        }
    }
    replies
}

/// The next frame: a JSON object of a documented type; an error has a known code (never
/// `internal`) and a message. Fails when the server closes or does not answer in time.
fn next(ws: &mut WebSocket<TcpStream>) -> Value {
    loop {
        match ws.read() {
            Ok(Message::Text(t)) => {
                let v: Value = serde_json::from_str(t.as_str())
                    .unwrap_or_else(|e| panic!("a frame that is not JSON ({e}): {t}"));
                let ty = v["type"].as_str().unwrap_or("");
                assert!(SERVER_FRAMES.contains(&ty), "undocumented frame: {v}");
                if ty == "error" {
                    let code = v["code"].as_str().unwrap_or("");
                    assert!(ERROR_CODES.contains(&code), "error code {code:?}: {v}");
                    assert!(v["message"].is_string(), "error without a message: {v}");
                }
                return v;
            }
            Ok(Message::Close(c)) => panic!("the server closed the connection: {c:?}"),
            Ok(other) => assert!(other.is_ping() || other.is_pong(), "a {other:?} frame"),
            Err(e) => panic!("no frame within the deadline: {e}"),
        }
    }
}

/// A frame answering a request (events and server-initiated `unsubscribed` are not).
fn is_reply(frame: &Value) -> bool {
    match frame["type"].as_str().unwrap_or("") {
        "ack" | "error" | "pong" | "subscribed" | "history" | "search_results" => true,
        "unsubscribed" => frame.get("reason").is_none(),
        _ => false,
    }
}

/// The reply a frame calls for.
struct Expect {
    /// The reply's type when it is not an error; `None` when only an error can answer.
    kind: Option<&'static str>,
    /// No reply is an answer too (`typing`).
    optional: bool,
    /// The `ref` the reply must carry.
    reference: Option<Value>,
}

impl Expect {
    fn error() -> Expect {
        Expect {
            kind: None,
            optional: false,
            reference: None,
        }
    }

    fn of(text: &str) -> Expect {
        let Ok(value) = serde_json::from_str::<Value>(text) else {
            return Expect::error();
        };
        let reference = value
            .get("ref")
            .filter(|r| r.is_string() || r.is_number())
            .cloned();
        let (kind, optional) = match value.get("type").and_then(Value::as_str) {
            Some("subscribe") => (Some("subscribed"), false),
            Some("unsubscribe") => (Some("unsubscribed"), false),
            Some("post" | "edit" | "delete" | "read") => (Some("ack"), false),
            Some("history") => (Some("history"), false),
            Some("search") => (Some("search_results"), false),
            Some("ping") => (Some("pong"), false),
            Some("typing") => (None, true),
            _ => (None, false),
        };
        Expect {
            kind,
            optional,
            reference,
        }
    }

    fn assert_answered_by(&self, replies: &[Value]) {
        assert!(replies.len() <= 1, "more than one reply: {replies:?}");
        let Some(reply) = replies.first() else {
            assert!(self.optional, "no reply");
            return;
        };
        let ty = reply["type"].as_str().unwrap_or("");
        assert!(
            ty == "error" || Some(ty) == self.kind,
            "a {ty} reply where {:?} or an error was due: {reply}",
            self.kind
        );
        assert_eq!(
            reply.get("ref"),
            self.reference.as_ref(),
            "the reply's ref: {reply}"
        );
    }
}
