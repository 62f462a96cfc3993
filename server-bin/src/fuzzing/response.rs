//! What makes an HTTP response from the server well-formed (RFC 9110 / 9112), checked on
//! the bytes a client received.

use serde_json::Value;

/// Every status the server may answer with, and its reason phrase (RFC 9110 §15). A `500`
/// is a bug, so it is not here.
const STATUSES: &[(u16, &str)] = &[
    (101, "Switching Protocols"),
    (200, "OK"),
    (201, "Created"),
    (204, "No Content"),
    (304, "Not Modified"),
    (400, "Bad Request"),
    (401, "Unauthorized"),
    (403, "Forbidden"),
    (404, "Not Found"),
    (405, "Method Not Allowed"),
    (408, "Request Timeout"),
    (411, "Length Required"),
    (413, "Payload Too Large"),
    (429, "Too Many Requests"),
    (431, "Request Header Fields Too Large"),
    (503, "Service Unavailable"),
];

/// The error codes of the protocol (`docs/protocol.md`), without `internal` (a bug).
pub const ERROR_CODES: &[&str] = &[
    "bad_request",
    "unauthenticated",
    "forbidden",
    "not_found",
    "validation",
    "rate_limited",
    "overloaded",
];

/// A response as received.
#[derive(Debug)]
pub struct Received {
    /// The status code.
    pub status: u16,
    /// Headers, names in lower case.
    pub headers: Vec<(String, String)>,
    /// Every byte after the head (for a `101`, the WebSocket's first frames).
    pub rest: Vec<u8>,
}

impl Received {
    /// The first header with this (lower-case) name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Checks that `bytes` (everything the server sent until it closed) is one well-formed
/// response to a request with method `method` (`None` when the request could not be
/// read), and returns it. A `101` is checked up to the end of its head.
pub fn check(bytes: &[u8], method: Option<&str>) -> Received {
    let mut headers = [httparse::EMPTY_HEADER; 64];
    let mut resp = httparse::Response::new(&mut headers);
    let head_len = match resp.parse(bytes) {
        Ok(httparse::Status::Complete(n)) => n,
        other => panic!(
            "not a complete HTTP response ({other:?}): {:?}",
            String::from_utf8_lossy(bytes)
        ),
    };
    let show = || String::from_utf8_lossy(bytes).into_owned();
    assert_eq!(resp.version, Some(1), "not HTTP/1.1: {}", show());
    let status = resp.code.expect("a status");
    let reason = resp.reason.unwrap_or("");
    let expected = STATUSES.iter().find(|(s, _)| *s == status);
    assert!(
        expected.is_some_and(|(_, r)| *r == reason),
        "status {status} {reason:?} is not one the server may send: {}",
        show()
    );
    let received = Received {
        status,
        headers: resp
            .headers
            .iter()
            .map(|h| {
                let value = String::from_utf8(h.value.to_vec()).expect("an ASCII header value");
                (h.name.to_ascii_lowercase(), value)
            })
            .collect(),
        rest: bytes[head_len..].to_vec(),
    };
    if status == 101 {
        check_switch(&received);
        return received;
    }
    check_framing(&received, method, &show);
    check_body(&received, &show);
    received
}

/// A `101`: the upgrade headers, nothing for the body.
fn check_switch(r: &Received) {
    let has = |name: &str, value: &str| {
        r.header(name)
            .is_some_and(|v| v.eq_ignore_ascii_case(value))
    };
    assert!(has("upgrade", "websocket"), "101 without Upgrade: {r:?}");
    assert!(
        has("connection", "upgrade"),
        "101 without Connection: {r:?}"
    );
    assert!(
        r.header("sec-websocket-accept").is_some(),
        "101 without an accept key: {r:?}"
    );
    assert!(
        r.header("content-length").is_none(),
        "101 with a Content-Length: {r:?}"
    );
}

/// Content-Length, Content-Type, Connection and Allow (RFC 9110 §8.6, §10.2.1, RFC 9112).
fn check_framing(r: &Received, method: Option<&str>, show: &dyn Fn() -> String) {
    let lengths: Vec<&str> = r
        .headers
        .iter()
        .filter(|(n, _)| n == "content-length")
        .map(|(_, v)| v.as_str())
        .collect();
    let bodiless = matches!(r.status, 204 | 304);
    if bodiless {
        // A 204 must not carry one; a 304 only the length a 200 would have had.
        assert!(
            lengths.is_empty(),
            "{} with a Content-Length: {}",
            r.status,
            show()
        );
        assert!(r.rest.is_empty(), "{} with a body: {}", r.status, show());
    } else {
        let [length] = lengths[..] else {
            panic!("not exactly one Content-Length: {}", show());
        };
        assert!(
            !length.is_empty() && length.bytes().all(|b| b.is_ascii_digit()),
            "Content-Length {length:?}: {}",
            show()
        );
        let length: usize = length.parse().expect("a Content-Length that fits");
        if method == Some("HEAD") {
            assert!(r.rest.is_empty(), "a HEAD answer with a body: {}", show());
        } else {
            assert_eq!(
                length,
                r.rest.len(),
                "Content-Length is not the body's: {}",
                show()
            );
        }
        assert!(
            r.header("content-type").is_some(),
            "no Content-Type: {}",
            show()
        );
    }
    assert!(
        r.header("connection")
            .is_some_and(|v| v.eq_ignore_ascii_case("close")),
        "no Connection: close: {}",
        show()
    );
    if r.status == 405 {
        assert!(
            r.header("allow").is_some_and(|v| !v.trim().is_empty()),
            "405 without Allow: {}",
            show()
        );
    }
}

/// A JSON body parses; an error body names a known code and a message.
fn check_body(r: &Received, show: &dyn Fn() -> String) {
    let json = r
        .header("content-type")
        .is_some_and(|t| t.starts_with("application/json"));
    if !json || r.rest.is_empty() {
        assert!(
            r.status < 400 || json,
            "an error that is not JSON: {}",
            show()
        );
        return;
    }
    let body: Value = serde_json::from_slice(&r.rest)
        .unwrap_or_else(|e| panic!("a JSON body that does not parse ({e}): {}", show()));
    if r.status >= 400 {
        let code = body["error"]["code"].as_str().unwrap_or("");
        assert!(
            ERROR_CODES.contains(&code),
            "error code {code:?}: {}",
            show()
        );
        assert!(
            body["error"]["message"].is_string(),
            "no error message: {}",
            show()
        );
    }
}
