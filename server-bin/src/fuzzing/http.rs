//! HTTP requests through the server's request parser and router: the input (placeholders
//! replaced) is sent as is on a fresh connection, which is then half-closed. Whatever the
//! input, the server never panics; every complete request (and every request it cannot
//! read) gets exactly one well-formed response with a status it may send, then the
//! connection closes; an incomplete one gets a rejection or nothing.

use super::{Fixture, read_all, response, send_all};

/// The server's largest request body (`server::http::MAX_BODY`).
const MAX_BODY: u64 = 64 * 1024;

/// Runs one input; panics when a property fails.
pub fn check(fixture: &Fixture, data: &[u8]) {
    let request = fixture.substitute(data);
    let mut stream = fixture.connect();
    send_all(&mut stream, &request);
    let answer = read_all(&mut stream);
    let (complete, method) = read_request(&request);
    if answer.is_empty() {
        assert!(!complete, "no response to a complete request");
    } else {
        response::check(&answer, method.as_deref());
    }
    fixture.assert_alive();
}

/// Whether the server must answer `request` (it holds a whole request, or one it must
/// reject), and its method when the head could be read.
pub(super) fn read_request(request: &[u8]) -> (bool, Option<String>) {
    let mut headers = [httparse::EMPTY_HEADER; 128];
    let mut req = httparse::Request::new(&mut headers);
    let parsed = req.parse(request);
    let method = req.method.map(str::to_owned);
    let head_len = match parsed {
        Err(_) => return (true, method),
        Ok(httparse::Status::Partial) => return (false, method),
        Ok(httparse::Status::Complete(n)) => n,
    };
    let value = |h: &httparse::Header| String::from_utf8_lossy(h.value).trim().to_owned();
    let named = |name: &str| {
        req.headers
            .iter()
            .filter(|h| h.name.eq_ignore_ascii_case(name))
            .map(value)
            .collect::<Vec<_>>()
    };
    if !named("transfer-encoding").is_empty() {
        return (true, method);
    }
    let mut length = None;
    for v in named("content-length") {
        let parsed = v
            .parse::<u64>()
            .ok()
            .filter(|_| v.bytes().all(|b| b.is_ascii_digit()));
        match (parsed, length) {
            (None, _) => return (true, method),
            (Some(n), Some(l)) if n != l => return (true, method),
            (Some(n), _) => length = Some(n),
        }
    }
    let complete = match length {
        None => true,
        Some(n) if n > MAX_BODY => true,
        Some(n) => (request.len() - head_len) as u64 >= n,
    };
    (complete, method)
}
