//! The HTTP/1.1 side of the port: reading one request with `httparse`, writing one
//! response, and the WebSocket upgrade answer. Every connection serves one request: its
//! response is queued whole in the connection's [`Outbox`] and nothing more is read.

use std::io::{self, Read};

use bytes::Bytes;
use mio::net::TcpStream;
use serde_json::Value;

use super::outbox::{Outbox, OutputGauge};
use super::protocol::Problem;

/// Largest request head accepted.
const MAX_HEAD: usize = 16 * 1024;
/// Largest request body accepted (bigger ones get 413).
pub const MAX_BODY: usize = 64 * 1024;
/// Most headers in a request.
const MAX_HEADERS: usize = 32;
/// The cache header of every response that does not set its own.
const NO_STORE: &str = "Cache-Control: no-store\r\n";

/// A parsed request.
#[derive(Debug)]
pub struct Request {
    /// `GET`, `POST`, ...
    pub method: String,
    /// The path without the query.
    pub path: String,
    /// The query string, without `?`.
    pub query: String,
    /// Headers, names in lower case.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

impl Request {
    /// The first header with this (lower-case) name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// A query parameter, percent-decoded.
    pub fn param(&self, name: &str) -> Option<String> {
        self.query.split('&').find_map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (k == name).then(|| percent_decode(v))
        })
    }
}

/// A response.
#[derive(Debug)]
pub struct Response {
    /// Status code.
    pub status: u16,
    /// Content type of the body.
    pub content_type: &'static str,
    /// The body, in pieces.
    pub body: Vec<Bytes>,
    /// For `405`: the methods the resource allows.
    pub allow: Option<&'static str>,
    /// Answering `HEAD`: the headers of the body, without it.
    pub head_only: bool,
    /// Header lines written after the standard ones, each ending in `\r\n`; by default
    /// `Cache-Control: no-store`.
    pub headers: std::borrow::Cow<'static, str>,
}

impl Response {
    /// A JSON response.
    pub fn json(status: u16, value: &Value) -> Self {
        Self::typed(status, "application/json", value.to_string())
    }

    /// A plain text or other typed response.
    pub fn typed(status: u16, content_type: &'static str, body: impl Into<Vec<u8>>) -> Self {
        Self {
            status,
            content_type,
            body: vec![Bytes::from(body.into())],
            allow: None,
            headers: NO_STORE.into(),
            head_only: false,
        }
    }

    /// A response whose body was built in pieces ([`super::frames::to_pieces`]).
    pub fn pieces(status: u16, content_type: &'static str, body: Vec<Bytes>) -> Self {
        Self {
            body,
            ..Self::typed(status, content_type, Vec::new())
        }
    }

    /// The API's JSON error.
    pub fn problem(p: &Problem) -> Self {
        Self::json(p.code.http_status(), &p.http_body())
    }

    /// `405 Method Not Allowed` naming the methods `allow`ed.
    pub fn method_not_allowed(allow: &'static str) -> Self {
        let body = serde_json::json!({"error": {"code": "bad_request",
            "message": format!("method not allowed; use {allow}")}});
        Self {
            allow: Some(allow),
            ..Self::json(405, &body)
        }
    }

    /// The head and the body's pieces on the wire (the connection closes after it). A `204`
    /// or `304` has no body and no `Content-Length` (RFC 9110 §8.6: a 204 must not send
    /// one, a 304 only the length a 200 would have had).
    pub fn encode(self) -> (Bytes, Vec<Bytes>) {
        let allow = self
            .allow
            .map(|a| format!("Allow: {a}\r\n"))
            .unwrap_or_default();
        let bodiless = matches!(self.status, 204 | 304);
        let length = if bodiless {
            String::new()
        } else {
            let n = self.body.iter().map(Bytes::len).sum::<usize>();
            format!("Content-Length: {n}\r\n")
        };
        let head = format!(
            "HTTP/1.1 {} {}\r\nContent-Type: {}\r\n{length}{allow}\
             Connection: close\r\n{}\r\n",
            self.status,
            reason(self.status),
            self.content_type,
            self.headers
        );
        let body = if self.head_only || bodiless {
            Vec::new()
        } else {
            self.body
        };
        (Bytes::from(head), body)
    }
}

/// Where an HTTP connection is.
#[derive(Debug, PartialEq, Eq)]
pub enum HttpState {
    /// Reading the request.
    Reading,
    /// The request went to the engine or a worker; the answer comes later.
    Waiting,
    /// Writing the response; then close.
    Writing,
    /// Writing the `101 Switching Protocols` answer; then become a WebSocket.
    Upgrading,
}

/// A connection speaking HTTP.
pub struct HttpConn {
    /// The socket.
    pub stream: TcpStream,
    /// Bytes received and not yet parsed into a request.
    pub inbuf: Vec<u8>,
    /// The response being written.
    pub out: Outbox,
    /// Where it is.
    pub state: HttpState,
    /// For [`HttpState::Upgrading`]: who the WebSocket belongs to.
    pub upgrade: Option<(ember_engine::User, String)>,
    /// A request put off to a later loop iteration (see `Ctx::out_of_slice`).
    pub deferred: Option<Box<Request>>,
}

/// What reading produced.
pub enum Parsed {
    /// Need more bytes.
    Partial,
    /// A whole request; any bytes after it stay in `inbuf`.
    Request(Request),
    /// Answer with this and close.
    Reject(Response),
    /// The peer hung up or the socket failed.
    Closed,
}

impl HttpConn {
    /// A fresh connection whose output is counted in `gauge`.
    pub fn new(stream: TcpStream, gauge: OutputGauge) -> Self {
        Self {
            stream,
            inbuf: Vec::new(),
            out: Outbox::new(gauge),
            state: HttpState::Reading,
            upgrade: None,
            deferred: None,
        }
    }

    /// Reads what is available and tries to parse a request. A request that arrived whole
    /// before the peer ended its side (a half-close) is still answered.
    pub fn read_request(&mut self) -> Parsed {
        let mut chunk = [0u8; 4096];
        loop {
            match self.stream.read(&mut chunk) {
                Ok(0) => {
                    return match parse(&mut self.inbuf) {
                        Parsed::Partial => Parsed::Closed,
                        whole => whole,
                    };
                }
                Ok(n) => {
                    self.inbuf.extend_from_slice(&chunk[..n]);
                    if self.inbuf.len() > MAX_HEAD + MAX_BODY + 4096 {
                        break;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => return Parsed::Closed,
            }
        }
        parse(&mut self.inbuf)
    }

    /// Queues `resp` whole; `state` says what happens once it is out.
    pub fn respond(&mut self, resp: Response, state: HttpState) {
        let (head, body) = resp.encode();
        self.out.push(head, true);
        for piece in body {
            self.out.push(piece, false);
        }
        self.state = state;
    }

    /// Queues raw bytes (the `101` answer); `state` says what happens once they are out.
    pub fn respond_raw(&mut self, bytes: Vec<u8>, state: HttpState) {
        self.out.push(Bytes::from(bytes), true);
        self.state = state;
    }

    /// Writes what it can. `Ok(true)` once everything is out.
    pub fn write_out(&mut self) -> io::Result<bool> {
        self.out.write_to(&mut self.stream)?;
        Ok(self.out.is_empty())
    }
}

/// Parses one request from the front of `buf`, removing its bytes.
fn parse(buf: &mut Vec<u8>) -> Parsed {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut req = httparse::Request::new(&mut headers);
    let parsed = req.parse(buf);
    // A rejection of a HEAD request has the headers of its body, not the body (the method
    // is known even when a later part of the head is bad).
    let head = req.method == Some("HEAD");
    let refuse = |status, message: &str| Response {
        head_only: head,
        ..reject(status, message)
    };
    let head_len = match parsed {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) if buf.len() > MAX_HEAD => {
            return Parsed::Reject(refuse(431, "request head too large"));
        }
        Ok(httparse::Status::Partial) => return Parsed::Partial,
        Err(e) => {
            return Parsed::Reject(refuse(400, &format!("bad request: {e}")));
        }
    };
    let target = req.path.unwrap_or("/");
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let headers: Vec<(String, String)> = req
        .headers
        .iter()
        .map(|h| {
            // Only spaces and tabs surround a field value (RFC 9110 §5.5), not Unicode
            // white space such as a no-break space.
            let value = String::from_utf8_lossy(h.value)
                .trim_matches([' ', '\t'])
                .to_owned();
            (h.name.to_ascii_lowercase(), value)
        })
        .collect();
    let length = match content_length(&headers) {
        Ok(None) => 0,
        Ok(Some(n)) if n <= MAX_BODY as u64 => n as usize,
        Ok(Some(_)) => {
            return Parsed::Reject(refuse(413, "body too large"));
        }
        Err(()) => {
            return Parsed::Reject(refuse(400, "bad content-length"));
        }
    };
    if headers.iter().any(|(n, _)| n == "transfer-encoding") {
        return Parsed::Reject(refuse(411, "send a content-length"));
    }
    if buf.len() < head_len + length {
        return Parsed::Partial;
    }
    let request = Request {
        method: req.method.unwrap_or("GET").to_owned(),
        path: path.to_owned(),
        query: query.to_owned(),
        headers,
        body: buf[head_len..head_len + length].to_vec(),
    };
    buf.drain(..head_len + length);
    Parsed::Request(request)
}

/// The body length the headers announce. Every `Content-Length` must be plain digits and
/// all must agree (RFC 9110 §8.6); anything else is an error.
fn content_length(headers: &[(String, String)]) -> Result<Option<u64>, ()> {
    let mut length = None;
    for (_, v) in headers.iter().filter(|(n, _)| n == "content-length") {
        if v.is_empty() || !v.bytes().all(|b| b.is_ascii_digit()) {
            return Err(());
        }
        let n: u64 = v.parse().map_err(|_| ())?;
        if length.is_some_and(|l| l != n) {
            return Err(());
        }
        length = Some(n);
    }
    Ok(length)
}

/// The `101` answer to a valid WebSocket upgrade request, or why it is not one.
pub fn upgrade_response(req: &Request) -> Result<Vec<u8>, Response> {
    let upgrade = req.header("upgrade").unwrap_or("");
    let version = req.header("sec-websocket-version").unwrap_or("");
    let key = req.header("sec-websocket-key");
    let (true, "13", Some(key)) = (upgrade.eq_ignore_ascii_case("websocket"), version, key) else {
        return Err(reject(400, "expected a WebSocket upgrade (version 13)"));
    };
    let accept = tungstenite::handshake::derive_accept_key(key.as_bytes());
    let protocol = if subprotocols(req).any(|p| p == SUBPROTOCOL) {
        format!("Sec-WebSocket-Protocol: {SUBPROTOCOL}\r\n")
    } else {
        String::new()
    };
    Ok(format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Accept: {accept}\r\n{protocol}\r\n"
    )
    .into_bytes())
}

/// The WebSocket subprotocol the server speaks; a client that offers it gets it back.
pub const SUBPROTOCOL: &str = "ember";

/// The session token offered as the subprotocol `bearer.<token>` (browsers cannot set
/// headers on a WebSocket, and a token in the URL ends up in logs).
pub fn subprotocol_token(req: &Request) -> Option<String> {
    subprotocols(req).find_map(|p| p.strip_prefix("bearer.").map(str::to_owned))
}

fn subprotocols(req: &Request) -> impl Iterator<Item = &str> {
    req.headers
        .iter()
        .filter(|(n, _)| n == "sec-websocket-protocol")
        .flat_map(|(_, v)| v.split(','))
        .map(str::trim)
}

/// A JSON error for a request that could not be read.
fn reject(status: u16, message: impl Into<String>) -> Response {
    let message: String = message.into();
    let body = serde_json::json!({"error": {"code": "bad_request", "message": message.trim()}});
    Response::json(status, &body)
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        201 => "Created",
        204 => "No Content",
        304 => "Not Modified",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        411 => "Length Required",
        413 => "Payload Too Large",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        503 => "Service Unavailable",
        _ => "Internal Server Error",
    }
}

/// Decodes `%XX` escapes and `+` in a query value.
pub fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push(h << 4 | l);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex(b: u8) -> Option<u8> {
    (b as char).to_digit(16).map(|d| d as u8)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_request_with_body_and_query() {
        let mut buf =
            b"POST /api/x?token=a%20b&n=1 HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabcEXTRA"
                .to_vec();
        let Parsed::Request(r) = parse(&mut buf) else {
            panic!("not parsed")
        };
        assert_eq!(r.path, "/api/x");
        assert_eq!(r.param("token").as_deref(), Some("a b"));
        assert_eq!(r.body, b"abc");
        assert_eq!(buf, b"EXTRA");
    }

    #[test]
    fn partial_until_body_complete_and_rejects_big_bodies() {
        let mut buf = b"POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\nab".to_vec();
        assert!(matches!(parse(&mut buf), Parsed::Partial));
        let mut big = b"POST / HTTP/1.1\r\nContent-Length: 999999\r\n\r\n".to_vec();
        assert!(matches!(parse(&mut big), Parsed::Reject(r) if r.status == 413));
    }

    #[test]
    fn content_length_must_be_digits_and_agree() {
        for bad in [
            "Content-Length: +5\r\n",
            "Content-Length: 5\r\nContent-Length: 6\r\n",
            "Content-Length: 0x5\r\n",
            "Content-Length: 5, 5\r\n",
            "Content-Length: \r\n",
            "Content-Length: 99999999999999999999999\r\n",
        ] {
            let mut buf = format!("POST / HTTP/1.1\r\n{bad}\r\nhello").into_bytes();
            assert!(
                matches!(parse(&mut buf), Parsed::Reject(r) if r.status == 400),
                "{bad:?}"
            );
        }
        let mut same =
            b"POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello".to_vec();
        assert!(matches!(parse(&mut same), Parsed::Request(r) if r.body == b"hello"));
    }

    #[test]
    fn a_request_followed_by_the_end_of_input_is_still_read() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let mut client =
            std::net::TcpStream::connect(listener.local_addr().expect("addr")).expect("connect");
        let (server, _) = listener.accept().expect("accept");
        std::io::Write::write_all(&mut client, b"GET /health HTTP/1.1\r\n\r\n").expect("send");
        client
            .shutdown(std::net::Shutdown::Write)
            .expect("half-close");
        // Both the request and the end of input are there before the first read.
        std::thread::sleep(std::time::Duration::from_millis(50));
        server.set_nonblocking(true).expect("non-blocking");
        let stream = TcpStream::from_std(server);
        let mut conn = HttpConn::new(stream, OutputGauge::default());
        assert!(matches!(conn.read_request(), Parsed::Request(r) if r.path == "/health"));
        let mut conn2 = HttpConn {
            inbuf: b"GET /hea".to_vec(),
            ..conn
        };
        assert!(matches!(conn2.read_request(), Parsed::Closed));
    }

    #[test]
    fn rejections_of_head_requests_have_no_body() {
        let many: String = (0..40).map(|i| format!("X-{i}: y\r\n")).collect();
        for bad in [
            "Content-Length: 99999999\r\n",
            "Transfer-Encoding: chunked\r\n",
            "Bad Header: x\r\n",
            &many,
        ] {
            let mut buf = format!("HEAD / HTTP/1.1\r\n{bad}\r\n").into_bytes();
            let Parsed::Reject(r) = parse(&mut buf) else {
                panic!("{bad:?} accepted")
            };
            let (head, body) = r.encode();
            assert!(head.starts_with(b"HTTP/1.1 4"), "{bad:?}");
            assert!(body.is_empty(), "{bad:?}");
        }
    }

    #[test]
    fn no_content_and_not_modified_have_no_length_and_no_body() {
        for status in [204, 304] {
            let (head, body) = Response::typed(status, "text/plain", "x").encode();
            let head = String::from_utf8(head.to_vec()).expect("ascii");
            assert!(!head.contains("Content-Length"), "{head}");
            assert!(body.is_empty(), "{status}");
        }
        let (head, body) = Response::typed(200, "text/plain", "").encode();
        assert!(head.windows(19).any(|w| w == b"Content-Length: 0\r\n"));
        assert!(body.iter().all(|b| b.is_empty()));
    }

    #[test]
    fn percent_decode_handles_bad_escapes() {
        assert_eq!(percent_decode("a%2"), "a%2");
        assert_eq!(percent_decode("%zz"), "%zz");
        assert_eq!(percent_decode("%41+b"), "A b");
    }
}
