//! A bot's webhook receiver for the tests: a real HTTP server on a loopback port, on a
//! plain `TcpListener` thread, that records each request and answers it with fixed bytes
//! (or never answers).

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender, channel};
use std::time::Duration;

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

/// One request as the receiver read it.
#[derive(Debug)]
pub struct Request {
    /// Request line and headers.
    pub head: String,
    /// The exact body bytes.
    pub body: Vec<u8>,
}

impl Request {
    /// A header's value (first occurrence, name case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().skip(1).find_map(|l| {
            let (n, v) = l.split_once(':')?;
            n.trim().eq_ignore_ascii_case(name).then(|| v.trim())
        })
    }

    /// Whether `X-Ember-Signature` is the HMAC-SHA256 of the body under `secret`, checked
    /// as a receiver would (constant-time comparison).
    pub fn signed_with(&self, secret: &str) -> bool {
        let Some(hex) = self
            .header("X-Ember-Signature")
            .and_then(|v| v.strip_prefix("sha256="))
        else {
            return false;
        };
        let Some(tag) = decode_hex(hex) else {
            return false;
        };
        let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
        mac.update(&self.body);
        mac.verify_slice(&tag).is_ok()
    }
}

fn decode_hex(s: &str) -> Option<Vec<u8>> {
    if s.len() % 2 != 0 {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

/// A running receiver.
pub struct Hook {
    /// `http://127.0.0.1:PORT/hook`.
    pub url: String,
    requests: Receiver<Request>,
}

impl Hook {
    /// Starts a receiver answering every request with `reply` (raw HTTP), or never
    /// answering (holding the connection open) when `reply` is `None`.
    pub fn start(reply: Option<Vec<u8>>) -> Hook {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the hook");
        let url = format!("http://{}/hook", listener.local_addr().expect("addr"));
        let (tx, requests) = channel();
        std::thread::spawn(move || serve(listener, reply, tx));
        Hook { url, requests }
    }

    /// The next request received, waiting at most `secs`.
    pub fn next(&self, secs: u64) -> Result<Request, RecvTimeoutError> {
        self.requests.recv_timeout(Duration::from_secs(secs))
    }
}

/// An HTTP answer with a body.
pub fn answer(status: &str, content_type: &str, body: &[u8]) -> Vec<u8> {
    let mut out = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    out.extend_from_slice(body);
    out
}

fn serve(listener: TcpListener, reply: Option<Vec<u8>>, tx: Sender<Request>) {
    let mut silent = Vec::new();
    for stream in listener.incoming() {
        let Ok(mut stream) = stream else { return };
        let Some(request) = read_request(&mut stream) else {
            continue;
        };
        if tx.send(request).is_err() {
            return;
        }
        match &reply {
            Some(bytes) => {
                let _ = stream.write_all(bytes);
            }
            None => silent.push(stream),
        }
    }
}

fn read_request(stream: &mut TcpStream) -> Option<Request> {
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .ok()?;
    let mut data = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(i) = data.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let n = stream.read(&mut chunk).ok()?;
        if n == 0 {
            return None;
        }
        data.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&data[..head_end]).into_owned();
    let mut request = Request {
        head,
        body: Vec::new(),
    };
    let length: usize = request.header("Content-Length")?.parse().ok()?;
    while data.len() < head_end + length {
        let n = stream.read(&mut chunk).ok()?;
        if n == 0 {
            return None;
        }
        data.extend_from_slice(&chunk[..n]);
    }
    request.body = data[head_end..head_end + length].to_vec();
    Some(request)
}
