//! HTTP details per RFC 9110: unusable `Content-Length` is 400, a wrong method is 405 with
//! `Allow`, and `HEAD` answers the headers of `GET` without the body.

mod common;

use common::{Fixture, Server, raw_http};

/// (status, head, body) of a raw exchange.
fn exchange(server: &Server, request: &str) -> (u16, String, String) {
    let text = raw_http(server.addr, request.as_bytes());
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status in {text:?}"));
    (status, head.to_ascii_lowercase(), body.to_owned())
}

#[test]
fn conflicting_or_signed_content_lengths_are_400() {
    let f = Fixture::new();
    let server = Server::start(&f, &[]);
    for lengths in [
        "Content-Length: 5\r\nContent-Length: 6\r\n",
        "Content-Length: +5\r\n",
        "Content-Length: 5x\r\n",
        "Content-Length: \u{a0}5\r\n",
    ] {
        let req = format!("POST /api/login HTTP/1.1\r\nHost: t\r\n{lengths}\r\nhello!");
        let (status, _, body) = exchange(&server, &req);
        assert_eq!(status, 400, "{lengths:?}: {body}");
        assert!(body.contains("content-length"), "{body}");
    }
    let same =
        "POST /api/login HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\n{}";
    let (status, _, _) = exchange(&server, same);
    assert_eq!(
        status, 400,
        "agreeing lengths are read (and the empty login refused)"
    );
}

#[test]
fn wrong_methods_are_405_with_allow() {
    let f = Fixture::new();
    let server = Server::start(&f, &[]);
    for (request, allow) in [
        ("DELETE /health", "allow: get, head"),
        ("POST /", "allow: get, head"),
        ("GET /api/login", "allow: post"),
        ("POST /api/session", "allow: delete"),
        ("PUT /api/rooms/x/messages", "allow: get, post"),
        ("POST /ws", "allow: get"),
    ] {
        let (status, head, body) =
            exchange(&server, &format!("{request} HTTP/1.1\r\nHost: t\r\n\r\n"));
        assert_eq!(status, 405, "{request}: {body}");
        assert!(head.contains(allow), "{request}: {head}");
        assert!(body.contains("\"bad_request\""), "{body}");
    }
    let (status, _, _) = exchange(&server, "GET /nowhere HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_eq!(status, 404);
}

#[test]
fn head_answers_health_and_the_page_without_a_body() {
    let f = Fixture::new();
    let server = Server::start(&f, &[]);
    for path in ["/health", "/"] {
        let (status, head, body) =
            exchange(&server, &format!("HEAD {path} HTTP/1.1\r\nHost: t\r\n\r\n"));
        assert_eq!(status, 200, "{path}");
        let (_, get_head, get_body) =
            exchange(&server, &format!("GET {path} HTTP/1.1\r\nHost: t\r\n\r\n"));
        assert!(body.is_empty(), "HEAD {path} sent a body: {body:?}");
        assert!(!get_body.is_empty());
        let length = |h: &str| {
            h.lines()
                .find_map(|l| l.strip_prefix("content-length: ").map(str::to_owned))
        };
        let type_of = |h: &str| {
            h.lines()
                .find(|l| l.starts_with("content-type"))
                .map(str::to_owned)
        };
        assert_eq!(type_of(&head), type_of(&get_head), "{path}");
        if path == "/" {
            assert_eq!(length(&head), Some(get_body.len().to_string()));
        } else {
            assert!(length(&head).is_some_and(|n| n != "0"), "{head}");
        }
    }
}
