//! The WebSocket upgrade handshake: a request built from the input (decoded with
//! `arbitrary`: method, path, the `Upgrade`, `Sec-WebSocket-Version`, `Sec-WebSocket-Key`,
//! `Sec-WebSocket-Protocol` and `Authorization` headers, `?token=` parameters, each from a
//! list of telling values or an arbitrary word, and a frame sent right behind the request),
//! checked against the rules of `docs/protocol.md`:
//!
//! - more than 32 headers get `400`;
//! - only `GET` of `/ws` upgrades (another method gets `405`, another path no `101`);
//! - without `Upgrade: websocket`, version `13` and a key: `400`;
//! - the token is the first of `Authorization: Bearer`, a `bearer.` subprotocol, `?token=`;
//!   none or a bad one gets `401` (`unauthenticated`);
//! - otherwise `101` with the key's `Sec-WebSocket-Accept`, `Sec-WebSocket-Protocol: ember`
//!   exactly when `ember` was offered, then `ready` for ann, and the frame sent behind the
//!   request is answered.
//!
//! Every answer is a well-formed response ([`super::response::check`]).

use std::io::Write;

use arbitrary::{Arbitrary, Unstructured};
use serde_json::Value;
use tungstenite::protocol::Role;
use tungstenite::{Message, WebSocket};

use super::{Fixture, read_all, response};

/// A header value or path: one of a list of telling values, or an arbitrary word.
#[derive(Arbitrary, Debug)]
enum Pick {
    Known(u8),
    Word(Word),
}

/// Letters, digits and `._-` only, so a word never changes the request's syntax.
#[derive(Debug)]
struct Word(String);

impl<'a> Arbitrary<'a> for Word {
    fn arbitrary(u: &mut Unstructured<'a>) -> arbitrary::Result<Self> {
        let raw: &[u8] = u.arbitrary()?;
        let keep = |b: &&u8| b.is_ascii_alphanumeric() || b"._-".contains(b);
        Ok(Word(raw.iter().filter(keep).map(|b| *b as char).collect()))
    }
}

impl Pick {
    fn get(&self, known: &[&str]) -> String {
        match self {
            Pick::Known(n) => known[usize::from(*n) % known.len()].to_owned(),
            Pick::Word(w) => w.0.clone(),
        }
    }
}

/// One header line: its value and whether its name is written in upper case.
#[derive(Arbitrary, Debug)]
struct Header {
    value: Pick,
    upper: bool,
}

/// An upgrade request, field by field.
#[derive(Arbitrary, Debug)]
struct Handshake {
    method: Pick,
    path: Pick,
    query: Vec<(Pick, Pick)>,
    upgrade: Vec<Header>,
    version: Vec<Header>,
    key: Vec<Header>,
    protocols: Vec<Header>,
    authorization: Vec<Header>,
    /// A `ping` frame sent right behind the request.
    behind: bool,
}

/// Most headers the server reads in a request (`server::http::MAX_HEADERS`); more is `400`.
const MAX_HEADERS: usize = 32;

const METHODS: &[&str] = &["GET", "HEAD", "POST", "get", "OPTIONS"];
const PATHS: &[&str] = &["/ws", "/ws/", "//ws", "/WS", "/ws/x", "/", "/api/ws"];
const QUERY_KEYS: &[&str] = &["token", "Token", "tok", "token[]"];
const TOKENS: &[&str] = &["$TOKEN", "nope", "", "$TOKEN%20", "%24TOKEN", "$BOT"];
const UPGRADES: &[&str] = &[
    "websocket",
    "WebSocket",
    "WEBSOCKET",
    "h2c",
    "",
    "websocket, h2c",
];
const VERSIONS: &[&str] = &["13", "8", " 13 ", "13, 8", "", "013"];
const KEYS: &[&str] = &["dGhlIHNhbXBsZSBub25jZQ==", "", "x", "  spaced key  "];
const PROTOCOLS: &[&str] = &[
    "ember",
    "bearer.$TOKEN",
    "ember, bearer.$TOKEN",
    "bearer.nope",
    "Ember",
    "bearer.",
    "chat,ember",
    "bearer.$TOKEN , ember",
];
const AUTHORIZATIONS: &[&str] = &[
    "Bearer $TOKEN",
    "bearer   $TOKEN",
    "Bearer nope",
    "Bot $BOT",
    "Basic YW5uOnB3",
    "Bearer",
    "BEARER $TOKEN",
];

/// The outcome the rules call for.
#[derive(Debug, PartialEq)]
enum Outcome {
    Switch { accept: String, ember: bool },
    Status(u16),
    NotSwitch,
}

/// Runs one input; panics when a property fails.
pub fn check(fixture: &Fixture, data: &[u8]) {
    let Ok(handshake) = Handshake::arbitrary_take_rest(Unstructured::new(data)) else {
        return;
    };
    let (request, expected) = handshake.build(fixture);
    if std::env::var_os("EMBER_FUZZ_DEBUG").is_some() {
        eprintln!("{}\nexpect {expected:?}", String::from_utf8_lossy(&request));
    }
    let mut stream = fixture.connect();
    stream.write_all(&request).expect("send the request");
    if !matches!(expected, Outcome::Switch { .. }) {
        let answer = read_all(&mut stream);
        let (_, method) = super::http::read_request(&request);
        let got = response::check(&answer, method.as_deref());
        match expected {
            Outcome::Status(s) => assert_eq!(got.status, s, "{handshake:?}: {got:?}"),
            _ => assert_ne!(got.status, 101, "{handshake:?}: {got:?}"),
        }
        if got.status == 401 {
            let body: Value = serde_json::from_slice(&got.rest).expect("JSON");
            assert_eq!(body["error"]["code"], "unauthenticated", "{got:?}");
        }
        fixture.assert_alive();
        return;
    }
    switched(fixture, &handshake, stream, expected);
}

/// The `101` head, then `ready` and the answer to the frame sent behind the request.
fn switched(fixture: &Fixture, h: &Handshake, mut stream: std::net::TcpStream, expected: Outcome) {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        let n = std::io::Read::read(&mut stream, &mut byte).expect("read the 101 head");
        assert!(
            n == 1,
            "closed before the end of the head: {head:?} ({h:?})"
        );
        head.push(byte[0]);
    }
    assert!(
        head.starts_with(b"HTTP/1.1 101 "),
        "{h:?}: no 101: {}",
        String::from_utf8_lossy(&head)
    );
    let got = response::check(&head, Some("GET"));
    let Outcome::Switch { accept, ember } = expected else {
        unreachable!("only a switch gets here")
    };
    assert_eq!(
        got.header("sec-websocket-accept"),
        Some(accept.as_str()),
        "{got:?}"
    );
    let protocol = got.header("sec-websocket-protocol");
    assert_eq!(protocol, ember.then_some("ember"), "{h:?}: {got:?}");
    let mut ws = WebSocket::from_raw_socket(stream, Role::Client, None);
    let ready = text(&mut ws);
    assert_eq!(ready["type"], "ready", "{ready}");
    assert_eq!(ready["user"]["id"], fixture.ann().to_string());
    if h.behind {
        let pong = text(&mut ws);
        assert_eq!(
            (&pong["type"], &pong["ref"]),
            (&"pong".into(), &"behind".into())
        );
    }
    let _ = ws.close(None);
    fixture.assert_alive();
}

fn text(ws: &mut WebSocket<std::net::TcpStream>) -> Value {
    loop {
        match ws.read().expect("a frame within the deadline") {
            Message::Text(t) => return serde_json::from_str(t.as_str()).expect("JSON"),
            Message::Close(c) => panic!("closed: {c:?}"),
            _ => {}
        }
    }
}

impl Handshake {
    /// The request's bytes and what the server must answer.
    fn build(&self, fixture: &Fixture) -> (Vec<u8>, Outcome) {
        let token = fixture.token();
        let sub = |s: String| String::from_utf8(fixture.substitute(s.as_bytes())).expect("UTF-8");
        let method = self.method.get(METHODS);
        let path = self.path.get(PATHS);
        let query: Vec<(String, String)> = self
            .query
            .iter()
            .map(|(k, v)| (k.get(QUERY_KEYS), sub(v.get(TOKENS))))
            .collect();
        let mut target = path.clone();
        for (i, (k, v)) in query.iter().enumerate() {
            target.push(if i == 0 { '?' } else { '&' });
            target.push_str(&format!("{k}={v}"));
        }
        let mut request = format!("{method} {target} HTTP/1.1\r\nHost: fuzz\r\n");
        let mut lines = |name: &str, headers: &[Header], known: &[&str]| {
            let values: Vec<String> = headers.iter().map(|h| sub(h.value.get(known))).collect();
            for (h, v) in headers.iter().zip(&values) {
                let name = if h.upper {
                    name.to_uppercase()
                } else {
                    name.to_owned()
                };
                request.push_str(&format!("{name}: {v}\r\n"));
            }
            values
        };
        let upgrade = lines("Upgrade", &self.upgrade, UPGRADES);
        let version = lines("Sec-WebSocket-Version", &self.version, VERSIONS);
        let key = lines("Sec-WebSocket-Key", &self.key, KEYS);
        let protocols = lines("Sec-WebSocket-Protocol", &self.protocols, PROTOCOLS);
        let auth = lines("Authorization", &self.authorization, AUTHORIZATIONS);
        request.push_str("Connection: Upgrade\r\n\r\n");
        let mut bytes = request.into_bytes();
        if self.behind {
            bytes.extend_from_slice(&masked_text(r#"{"type":"ping","ref":"behind"}"#));
        }
        let first = |v: &[String]| v.first().map(|s| s.trim().to_owned());
        let offered: Vec<String> = protocols
            .iter()
            .flat_map(|v| v.split(','))
            .map(|p| p.trim().to_owned())
            .collect();
        let bearer = first(&auth).and_then(|a| {
            let (scheme, t) = a.split_once(' ')?;
            scheme
                .eq_ignore_ascii_case("bearer")
                .then(|| t.trim().to_owned())
        });
        let presented = bearer
            .or_else(|| {
                offered
                    .iter()
                    .find_map(|p| p.strip_prefix("bearer.").map(str::to_owned))
            })
            .or_else(|| {
                query
                    .iter()
                    .find(|(k, _)| k == "token")
                    .map(|(_, v)| decode(v))
            });
        let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
        let lines = 2 + upgrade.len() + version.len() + key.len() + protocols.len() + auth.len();
        let outcome = if lines > MAX_HEADERS {
            Outcome::Status(400)
        } else if segments != ["ws"] || method.is_empty() {
            Outcome::NotSwitch
        } else if method != "GET" {
            Outcome::Status(405)
        } else if !first(&upgrade).is_some_and(|u| u.eq_ignore_ascii_case("websocket"))
            || first(&version).as_deref() != Some("13")
            || key.is_empty()
        {
            Outcome::Status(400)
        } else if presented.as_deref() != Some(token.as_str()) {
            Outcome::Status(401)
        } else {
            let key = first(&key).unwrap_or_default();
            Outcome::Switch {
                accept: tungstenite::handshake::derive_accept_key(key.as_bytes()),
                ember: offered.iter().any(|p| p == "ember"),
            }
        };
        (bytes, outcome)
    }
}

/// The `%XX` escapes of the query values used here (`%20`, `%24`).
fn decode(v: &str) -> String {
    v.replace("%20", " ").replace("%24", "$")
}

/// A client's masked text frame.
fn masked_text(payload: &str) -> Vec<u8> {
    let mask = [0x12u8, 0x34, 0x56, 0x78];
    let mut frame = vec![0x81, 0x80 | payload.len() as u8];
    frame.extend_from_slice(&mask);
    frame.extend(payload.bytes().enumerate().map(|(i, b)| b ^ mask[i % 4]));
    frame
}
