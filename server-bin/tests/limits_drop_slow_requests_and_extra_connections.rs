mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::{Fixture, Server, http};

#[test]
fn a_request_that_never_completes_is_dropped() {
    let f = Fixture::new();
    let server = Server::start(&f, &["--request-timeout-ms", "500"]);
    let mut s = TcpStream::connect(server.addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    s.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n")
        .expect("write");
    let started = Instant::now();
    let mut buf = [0u8; 64];
    let n = s.read(&mut buf).unwrap_or(0);
    assert_eq!(n, 0, "the server hangs up without answering");
    assert!(started.elapsed() < Duration::from_secs(4));
    let (status, _) = http(server.addr, "GET", "/health", &[], b"");
    assert_eq!(status, 200, "other clients are served meanwhile");
}

#[test]
fn connections_beyond_the_cap_get_503() {
    let f = Fixture::new();
    let server = Server::start(&f, &["--max-connections", "2"]);
    let _a = server.ws(&f.token("ann"));
    let _b = server.ws(&f.token("bob"));
    let (status, body) = http(server.addr, "GET", "/health", &[], b"");
    assert_eq!(status, 503);
    let error: serde_json::Value = serde_json::from_str(&body).expect("a JSON error body");
    assert_eq!(error["error"]["code"], "overloaded");
    drop(_a);
    let ok = common::eventually(5, || http(server.addr, "GET", "/health", &[], b"").0 == 200);
    assert!(ok, "a freed slot is reused");
}
