//! The webhook client against real local HTTP servers: it gives up on a receiver that never
//! answers after its timeout, does not follow redirects, ignores oversized answers, and
//! signs what it sends.

mod common;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::time::{Duration, Instant};

use common::hook::{Hook, answer};
use ember_server::server::webhooks::{Answer, MAX_REPLY, WebhookClient, WebhookError};

const SECRET: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

fn client(timeout: Duration) -> WebhookClient {
    WebhookClient::new(timeout, MAX_REPLY)
}

#[test]
fn a_receiver_that_never_answers_is_given_up_after_the_timeout() {
    let hook = Hook::start(None);
    let started = Instant::now();
    let result = client(Duration::from_secs(1)).deliver(&hook.url, SECRET, b"{}");
    let took = started.elapsed();
    assert!(
        matches!(result, Err(WebhookError::Timeout(_))),
        "{result:?}"
    );
    assert!(
        took >= Duration::from_millis(900),
        "gave up early: {took:?}"
    );
    assert!(took < Duration::from_secs(5), "gave up late: {took:?}");
    // The request itself arrived whole and signed.
    let request = hook.next(5).expect("the request reached the receiver");
    assert!(request.signed_with(SECRET));
    assert_eq!(request.body, b"{}");
}

#[test]
fn a_redirect_is_not_followed() {
    let target = TcpListener::bind("127.0.0.1:0").expect("bind");
    target.set_nonblocking(true).expect("nonblocking");
    let location = format!("http://{}/elsewhere", target.local_addr().expect("addr"));
    let reply = format!(
        "HTTP/1.1 302 Found\r\nLocation: {location}\r\nContent-Type: text/plain\r\n\
         Content-Length: 0\r\nConnection: close\r\n\r\n"
    );
    let hook = Hook::start(Some(reply.into_bytes()));
    let result = client(Duration::from_secs(5)).deliver(&hook.url, SECRET, b"{}");
    assert_eq!(result.ok(), Some(Answer::Ignored { status: 302 }));
    hook.next(5).expect("the hook was called");
    std::thread::sleep(Duration::from_millis(200));
    assert!(
        matches!(target.accept(), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock),
        "the redirect target was contacted"
    );
}

#[test]
fn an_answer_over_the_cap_is_ignored_and_one_at_the_cap_is_kept() {
    let big = vec![b'a'; MAX_REPLY as usize + 1];
    let hook = Hook::start(Some(answer("200 OK", "text/plain", &big)));
    let result = client(Duration::from_secs(5)).deliver(&hook.url, SECRET, b"{}");
    assert!(
        matches!(result, Err(WebhookError::TooLarge(MAX_REPLY))),
        "{result:?}"
    );

    let full = vec![b'a'; MAX_REPLY as usize];
    let hook = Hook::start(Some(answer("200 OK", "text/html; charset=utf-8", &full)));
    let result = client(Duration::from_secs(5)).deliver(&hook.url, SECRET, b"{}");
    assert_eq!(
        result.ok(),
        Some(Answer::Text(String::from_utf8(full).expect("ascii")))
    );
}

#[test]
fn only_a_200_text_answer_is_a_reply() {
    let cases = [
        (
            "200 OK",
            "application/json",
            Answer::Ignored { status: 200 },
        ),
        ("500 Oops", "text/plain", Answer::Ignored { status: 500 }),
        ("200 OK", "text/plain", Answer::Text("beep".into())),
    ];
    for (status, content_type, expected) in cases {
        let hook = Hook::start(Some(answer(status, content_type, b"beep")));
        let result = client(Duration::from_secs(5)).deliver(&hook.url, SECRET, b"{}");
        assert_eq!(result.ok(), Some(expected), "{status} {content_type}");
    }
}

#[test]
fn an_unreachable_receiver_is_an_error_not_a_panic() {
    let closed = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}/hook", closed.local_addr().expect("addr"));
    drop(closed);
    let result = client(Duration::from_secs(5)).deliver(&url, SECRET, b"{}");
    assert!(matches!(result, Err(WebhookError::Failed(_))), "{result:?}");
}

#[test]
fn https_is_spoken_with_tls() {
    // A plain-HTTP receiver behind an https:// URL: the client opens with a TLS handshake
    // record (so rustls and its crypto provider are in place) and fails cleanly on the
    // plain answer.
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("https://{}/hook", listener.local_addr().expect("addr"));
    let (tx, first_bytes) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let (mut s, _) = listener.accept().expect("accept");
        s.set_read_timeout(Some(Duration::from_secs(5)))
            .expect("timeout");
        let mut head = [0u8; 3];
        let _ = s.read_exact(&mut head);
        let _ = tx.send(head);
        let _ = s.write_all(&answer("200 OK", "text/plain", b"beep"));
    });
    let result = client(Duration::from_secs(5)).deliver(&url, SECRET, b"{}");
    assert!(matches!(result, Err(WebhookError::Failed(_))), "{result:?}");
    let head = first_bytes
        .recv_timeout(Duration::from_secs(5))
        .expect("the receiver was contacted");
    // A TLS handshake record: content type 22, version 3.x.
    assert_eq!((head[0], head[1]), (0x16, 0x03), "{head:?}");
}
