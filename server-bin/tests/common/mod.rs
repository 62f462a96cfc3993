//! Test harness: a database prepared with the admin commands, the real binary serving it on
//! an ephemeral loopback port, and small blocking WebSocket and HTTP clients.
#![allow(dead_code)]

pub mod hook;
#[path = "../../../engine/tests/common/watchdog.rs"]
pub mod watchdog;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tungstenite::protocol::CloseFrame;
use tungstenite::{Message, WebSocket};

pub const BIN: &str = env!("CARGO_BIN_EXE_ember-server");

/// A database with an admin (ann), a member (bob) and an open room (Lobby).
pub struct Fixture {
    pub dir: tempfile::TempDir,
    pub db: PathBuf,
    pub room: String,
}

impl Fixture {
    pub fn new() -> Fixture {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = dir.path().join("ember.db");
        Fixture::on(dir, db)
    }

    /// The same, on the database `db` names (a file in `dir`, or a `postgres://` URL).
    pub fn on(dir: tempfile::TempDir, db: PathBuf) -> Fixture {
        watchdog::arm();
        let f = Fixture {
            dir,
            db,
            room: String::new(),
        };
        f.admin(&[
            "user",
            "add",
            "ann",
            "--name",
            "Ann",
            "--password",
            "ann-password",
            "--admin",
        ]);
        f.admin(&[
            "user",
            "add",
            "bob",
            "--name",
            "Bob",
            "--password",
            "bob-password",
        ]);
        let room = f.admin(&["room", "add", "Lobby", "--kind", "open"]);
        Fixture { room, ..f }
    }

    /// Runs an admin command on the database and returns its trimmed output.
    pub fn admin(&self, args: &[&str]) -> String {
        let out = Command::new(BIN)
            .args(args)
            .arg("--db")
            .arg(&self.db)
            .env("EMBER_PASSWORD_MEMORY_KIB", "64")
            .env("RUST_LOG", "warn")
            .output()
            .expect("run ember-server");
        assert!(
            out.status.success(),
            "{args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }

    pub fn token(&self, login: &str) -> String {
        self.admin(&["token", "create", login])
    }
}

/// The server process; killed when dropped.
pub struct Server {
    pub child: Child,
    pub addr: SocketAddr,
}

impl Server {
    pub fn start(f: &Fixture, extra: &[&str]) -> Server {
        Server::serve(f.db.as_os_str(), extra)
    }

    /// `ember-server serve` on `db` (a path or a URL) with `extra` flags, once it listens.
    pub fn serve(db: &std::ffi::OsStr, extra: &[&str]) -> Server {
        let mut child = Command::new(BIN)
            .args(["serve", "--listen", "127.0.0.1:0", "--db"])
            .arg(db)
            .args(extra)
            .env("EMBER_PASSWORD_MEMORY_KIB", "64")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .spawn()
            .expect("spawn server");
        let stdout = child.stdout.take().expect("stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("read line");
        let url = line
            .trim()
            .strip_prefix("listening on http://")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"));
        let addr = url.trim_end_matches('/').parse().expect("address");
        Server { child, addr }
    }

    pub fn ws(&self, token: &str) -> Client {
        Client::connect(self.addr, token)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A blocking WebSocket client.
pub struct Client {
    pub ws: WebSocket<TcpStream>,
    pub ready: Value,
}

impl Client {
    pub fn connect(addr: SocketAddr, token: &str) -> Client {
        Self::connect_with(addr, token, |_| {})
    }

    /// Connects after `prepare` adjusted the socket.
    pub fn connect_with(addr: SocketAddr, token: &str, prepare: impl FnOnce(&TcpStream)) -> Client {
        let stream = TcpStream::connect(addr).expect("connect");
        prepare(&stream);
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .expect("timeout");
        let url = format!("ws://{addr}/ws?token={token}");
        let (ws, _) = tungstenite::client(url.as_str(), stream).expect("handshake");
        let mut c = Client {
            ws,
            ready: Value::Null,
        };
        c.ready = c.next();
        assert_eq!(c.ready["type"], "ready", "first frame: {}", c.ready);
        c
    }

    pub fn send(&mut self, v: Value) {
        self.ws.send(Message::text(v.to_string())).expect("send");
    }

    /// The next JSON frame (pings are answered by tungstenite).
    pub fn next(&mut self) -> Value {
        loop {
            match self.ws.read().expect("read") {
                Message::Text(t) => return serde_json::from_str(t.as_str()).expect("json"),
                Message::Close(c) => panic!("closed: {c:?}"),
                _ => {}
            }
        }
    }

    /// Frames until one of type `ty` (returned with the frames before it).
    pub fn until(&mut self, ty: &str) -> (Value, Vec<Value>) {
        let mut before = Vec::new();
        loop {
            let v = self.next();
            if v["type"] == ty {
                return (v, before);
            }
            before.push(v);
        }
    }

    /// Frames until one of type `ty`, ignoring presence, typing and unread frames.
    pub fn expect(&mut self, ty: &str) -> Value {
        loop {
            let v = self.next();
            if v["type"] == ty {
                return v;
            }
            let noise = ["presence", "typing", "unread"];
            assert!(
                noise.contains(&v["type"].as_str().unwrap_or("")),
                "expected {ty}, got {v}"
            );
        }
    }

    pub fn subscribe(&mut self, room: &str, since: Option<u64>) -> (Value, Vec<Value>) {
        self.send(json!({"type": "subscribe", "room_id": room, "since": since, "ref": "sub"}));
        self.until("subscribed")
    }

    /// The close frame the server sends, reading past other frames.
    pub fn close_frame(&mut self) -> Option<CloseFrame> {
        loop {
            match self.ws.read() {
                Ok(Message::Close(c)) => return c,
                Ok(_) => {}
                Err(e) => panic!("no close frame: {e}"),
            }
        }
    }
}

/// Messages (type `message`) among frames.
pub fn messages(frames: &[Value]) -> Vec<&Value> {
    frames.iter().filter(|f| f["type"] == "message").collect()
}

/// One HTTP request; returns (status, body).
pub fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> (u16, String) {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: test\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).expect("write");
    s.write_all(body).expect("write body");
    let mut out = Vec::new();
    let mut chunk = [0u8; 4096];
    while let Ok(n) = s.read(&mut chunk) {
        if n == 0 {
            break;
        }
        out.extend_from_slice(&chunk[..n]);
        let upgraded = out.starts_with(b"HTTP/1.1 101");
        if upgraded && out.windows(4).any(|w| w == b"\r\n\r\n") {
            break;
        }
    }
    let text = String::from_utf8_lossy(&out).into_owned();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("no status in {text:?}"));
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

/// Polls `cond` every 20 ms for up to `secs`.
pub fn eventually(secs: u64, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < deadline {
        if cond() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// Shrinks a socket's receive buffer (no autotuning), to play a slow reader.
pub fn small_receive_buffer(stream: &TcpStream) {
    receive_buffer(stream, 4096);
}

/// Sets a socket's receive buffer (e.g. larger again, to read a backlog quickly).
pub fn receive_buffer(stream: &TcpStream, size: libc::c_int) {
    use std::os::fd::AsRawFd;
    // SAFETY: valid fd and a c_int option value that outlives the call.
    let rc = unsafe {
        libc::setsockopt(
            stream.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_RCVBUF,
            (&size as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    assert_eq!(rc, 0);
}

/// One value from `/metrics` (0 when absent).
pub fn metric(addr: SocketAddr, name: &str) -> u64 {
    let (status, text) = http(addr, "GET", "/metrics", &[], b"");
    assert_eq!(status, 200, "metrics: {text}");
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or(0)
}

/// How long `GET /health` takes, asserting it answers 200.
pub fn health_latency(addr: SocketAddr) -> Duration {
    let started = Instant::now();
    let (status, _) = http(addr, "GET", "/health", &[], b"");
    assert_eq!(status, 200);
    started.elapsed()
}

/// Content of about 40 KB (10,000 characters, mostly 4-byte emoji) with the word `flood`.
pub fn big_content(i: usize) -> String {
    let head = format!("flood {i} ");
    let fill = 10_000 - head.chars().count();
    head + &"\u{1F600}".repeat(fill)
}

/// Posts `n` messages of [`big_content`] with session `token` and waits for their acks.
pub fn post_big(server: &Server, f: &Fixture, token: &str, n: usize) {
    let mut poster = server.ws(token);
    for i in 0..n {
        poster.send(
            json!({"type": "post", "room_id": f.room, "client_message_id": new_id(),
                           "content": big_content(i)}),
        );
    }
    for _ in 0..n {
        let (ack, _) = poster.until("ack");
        assert!(ack["message"].is_object(), "{ack}");
    }
}

/// Writes raw bytes as one HTTP exchange and returns the whole answer as text.
pub fn raw_http(addr: SocketAddr, request: &[u8]) -> String {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    s.write_all(request).expect("write");
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    String::from_utf8_lossy(&out).into_owned()
}
