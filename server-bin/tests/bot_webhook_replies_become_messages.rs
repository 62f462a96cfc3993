mod common;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::time::Duration;

use common::{Fixture, Server, new_id};
use serde_json::{Value, json};

#[test]
fn a_mentioned_bot_is_called_and_its_text_reply_is_posted() {
    let hook = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}/hook", hook.local_addr().expect("addr"));
    let f = Fixture::new();
    f.admin(&["bot", "add", "Hubot", "--webhook", &url, "--room", "Lobby"]);
    let server = Server::start(&f, &[]);
    let mut ann = server.ws(&f.token("ann"));
    ann.subscribe(&f.room, None);

    let called = std::thread::spawn(move || {
        let (mut s, _) = hook.accept().expect("webhook call");
        s.set_read_timeout(Some(Duration::from_secs(10)))
            .expect("timeout");
        let mut request = Vec::new();
        let mut chunk = [0u8; 4096];
        let body = loop {
            let n = s.read(&mut chunk).expect("read");
            request.extend_from_slice(&chunk[..n]);
            let text = String::from_utf8_lossy(&request).into_owned();
            if let Some((_, body)) = text.split_once("\r\n\r\n") {
                if let Ok(v) = serde_json::from_str::<Value>(body) {
                    break v;
                }
            }
            assert!(n > 0, "request ended early");
        };
        s.write_all(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 4\r\n\r\nbeep",
        )
        .expect("reply");
        body
    });

    ann.send(
        json!({"type": "post", "room_id": f.room, "client_message_id": new_id(),
                    "content": "hello @Hubot"}),
    );
    let payload = called.join().expect("webhook thread");
    assert_eq!(payload["message"]["body"]["plain"], "hello @Hubot");
    assert_eq!(payload["room"]["name"], "Lobby");
    assert_eq!(payload["user"]["name"], "Ann");
    loop {
        let m = ann.next();
        if m["type"] == "message" && m["message"]["content"] == "beep" {
            assert_ne!(m["message"]["creator_id"], ann.ready["user"]["id"]);
            break;
        }
    }
}
