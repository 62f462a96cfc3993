//! A browser cannot set headers on a WebSocket: it offers `ember, bearer.<token>` as
//! subprotocols, the server authenticates the token and answers `ember`.

mod common;

use std::net::TcpStream;
use std::time::Duration;

use common::{Fixture, Server, http};
use tungstenite::client::IntoClientRequest;

#[test]
fn token_in_subprotocol_authenticates_the_websocket() {
    let f = Fixture::new();
    let server = Server::start(&f, &[]);
    let token = f.token("ann");
    let offer = |token: &str| {
        let mut req = format!("ws://{}/ws", server.addr)
            .into_client_request()
            .expect("request");
        let value = format!("ember, bearer.{token}").parse().expect("header");
        req.headers_mut().insert("Sec-WebSocket-Protocol", value);
        let stream = TcpStream::connect(server.addr).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .expect("timeout");
        tungstenite::client(req, stream).map_err(|e| e.to_string())
    };
    let (mut ws, answer) = offer(&token).expect("handshake");
    let chosen = answer.headers().get("Sec-WebSocket-Protocol");
    assert_eq!(chosen.and_then(|v| v.to_str().ok()), Some("ember"));
    let ready = ws.read().expect("ready").into_text().expect("text");
    assert!(ready.contains("\"type\":\"ready\""), "{ready}");

    assert!(offer("0000").is_err(), "a refused token must not upgrade");
    let (status, _) = http(
        server.addr,
        "GET",
        &format!("/ws?token={token}"),
        &[
            ("Upgrade", "websocket"),
            ("Connection", "Upgrade"),
            ("Sec-WebSocket-Version", "13"),
            ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
        ],
        b"",
    );
    assert_eq!(status, 101, "?token= keeps working");
}
