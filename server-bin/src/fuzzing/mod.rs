//! The checks behind the server's fuzz targets in `fuzz/` (`server_ws_frames`,
//! `server_http_requests`, `server_ws_upgrade`), shared with the corpus replay in
//! `server-bin/tests/fuzz_corpus_replays.rs` so that the two cannot drift. Each check takes
//! the raw input bytes, drives a real server (the mio event loop on a loopback port, over a
//! real engine in a directory the caller owns) as a client would, and panics when a
//! property fails; a returned check passed. A panic inside the server stops its thread,
//! which every check notices.
//!
//! Inputs may name the fixture's objects with placeholders ([`Fixture::substitute`]), so
//! that committed seeds reach past authentication and id parsing.
//!
//! Not a supported API: compiled only with the `fuzzing` feature.

pub mod frames;
pub mod http;
pub mod response;
pub mod upgrade;

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::path::Path;
use std::sync::Mutex;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use ember_engine::{
    ClientMessageId, Engine, NewPost, NewUser, Options, PasswordCost, RateLimit, Role, RoomKind,
    UserId,
};

use crate::server::{Config, Server, ShutdownHandle};

/// How long the server may take to answer anything; past it a check fails.
pub const DEADLINE: Duration = Duration::from_secs(10);

/// A server on a loopback port over a fresh engine: an admin, two members (`ann`, whose
/// session the checks use, and `bob`), a bot, an open room with a message by each member and
/// a closed room `ann` is not in. Rate limits are off and passwords cheap, so that nothing
/// but the input decides an outcome.
pub struct Fixture {
    /// Where the server listens.
    pub addr: SocketAddr,
    engine: Engine,
    ann: UserId,
    token: Mutex<String>,
    places: Vec<(&'static str, String)>,
    stop: ShutdownHandle,
    thread: Mutex<Option<JoinHandle<io::Result<()>>>>,
}

impl Fixture {
    /// Opens an engine at `dir/fuzz.db` and starts a server on it. Panics when it cannot (a
    /// broken setup, not a finding).
    pub fn open(dir: &Path) -> Fixture {
        let mut opts = Options::new(dir.join("fuzz.db"));
        opts.password_cost = PasswordCost {
            memory_kib: 8,
            iterations: 1,
        };
        opts.post_rate = RateLimit::new(f64::MAX, u32::MAX);
        opts.bot_post_rate = RateLimit::new(f64::MAX, u32::MAX);
        opts.builtin_sounds = false;
        opts.search_delay = Duration::from_millis(1);
        let engine = Engine::open(opts).expect("open the fuzzing engine");
        let user = |login: &str, role| {
            engine
                .create_user(NewUser {
                    login: login.into(),
                    name: login.to_uppercase(),
                    password: "fuzzing password".into(),
                    role,
                })
                .expect("create a fuzzing user")
                .id
        };
        let admin = user("admin", Role::Admin);
        let ann = user("ann", Role::Member);
        let bob = user("bob", Role::Member);
        let bot = engine.create_bot("robot", "Robot").expect("create a bot");
        let room = engine
            .create_room(admin, RoomKind::Open, "Lobby", &[])
            .expect("create the open room");
        let closed = engine
            .create_room(admin, RoomKind::Closed, "Staff", &[bob])
            .expect("create the closed room");
        let post = |user, content: &str| {
            engine
                .post(NewPost {
                    user,
                    room: room.id,
                    client_message_id: ClientMessageId::new_v7(),
                    content: content.into(),
                })
                .expect("post a fuzzing message")
                .message
                .id
        };
        let mine = post(ann, "hello from ann");
        let theirs = post(bob, "hello from bob");
        let token = engine.create_session(ann).expect("a session").token;
        let server = Server::bind(engine.clone(), Config::new(([127, 0, 0, 1], 0).into()))
            .expect("bind the fuzzing server");
        let addr = server.local_addr();
        let stop = server.shutdown_handle();
        let thread = std::thread::Builder::new()
            .name("ember-fuzz-server".into())
            .spawn(move || server.run())
            .expect("start the fuzzing server");
        let places = vec![
            ("$ROOM", room.id.to_string()),
            ("$CLOSED", closed.id.to_string()),
            ("$MSG", mine.to_string()),
            ("$THEIRS", theirs.to_string()),
            ("$USER", bob.to_string()),
            ("$BOT", bot.key),
            ("$EPOCH", engine.epoch().to_string()),
        ];
        let mut fixture = Fixture {
            addr,
            engine,
            ann,
            token: Mutex::new(token),
            places,
            stop,
            thread: Mutex::new(Some(thread)),
        };
        let etag = fixture.etag();
        fixture.places.push(("$ETAG", etag));
        fixture
    }

    /// The session token of `ann`, renewed first if an input revoked it (`DELETE
    /// /api/session`).
    pub fn token(&self) -> String {
        let mut token = self.token.lock().unwrap_or_else(|e| e.into_inner());
        if let Err(ember_engine::Error::Unauthenticated(_)) = self.engine.authenticate(&token) {
            *token = self.engine.create_session(self.ann).expect("renew").token;
        }
        token.clone()
    }

    /// `ann`'s id.
    pub fn ann(&self) -> UserId {
        self.ann
    }

    /// `input` with every placeholder replaced: `$TOKEN` (ann's session token), `$BOT` (the
    /// bot's key), `$ROOM` (the open room), `$CLOSED` (a closed room ann is not in), `$MSG`
    /// (ann's message), `$THEIRS` (bob's message), `$USER` (bob), `$EPOCH` (the database's
    /// epoch) and `$ETAG` (the web page's `ETag`, quotes included).
    pub fn substitute(&self, input: &[u8]) -> Vec<u8> {
        let mut out = replace(input, b"$TOKEN", self.token().as_bytes());
        for (name, value) in &self.places {
            out = replace(&out, name.as_bytes(), value.as_bytes());
        }
        out
    }

    /// A connection to the server with [`DEADLINE`] on reads and writes.
    pub fn connect(&self) -> TcpStream {
        let stream = TcpStream::connect(self.addr).expect("connect to the fuzzing server");
        stream.set_read_timeout(Some(DEADLINE)).expect("timeout");
        stream.set_write_timeout(Some(DEADLINE)).expect("timeout");
        let _ = stream.set_nodelay(true);
        stream
    }

    /// Fails when the server's thread ended (it panicked or returned).
    pub fn assert_alive(&self) {
        let thread = self.thread.lock().unwrap_or_else(|e| e.into_inner());
        assert!(
            thread.as_ref().is_some_and(|t| !t.is_finished()),
            "the server's thread ended"
        );
    }

    fn etag(&self) -> String {
        let mut s = self.connect();
        s.write_all(b"GET / HTTP/1.1\r\nHost: fuzz\r\n\r\n")
            .expect("request");
        let answer = read_all(&mut s);
        let text = String::from_utf8_lossy(&answer);
        let etag = text
            .lines()
            .take_while(|l| !l.is_empty())
            .find_map(|l| l.strip_prefix("ETag: "))
            .expect("the page has an ETag");
        etag.to_owned()
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        self.stop.shutdown();
        let thread = self.thread.get_mut().unwrap_or_else(|e| e.into_inner());
        if let Some(t) = thread.take() {
            let _ = t.join();
        }
        self.engine.close();
    }
}

/// Everything the peer sends until it closes, within [`DEADLINE`]; a reset ends it too.
/// Fails when the peer neither answers nor closes in time.
pub fn read_all(stream: &mut TcpStream) -> Vec<u8> {
    let start = Instant::now();
    let mut out = Vec::new();
    let mut chunk = [0u8; 16 * 1024];
    loop {
        match stream.read(&mut chunk) {
            Ok(0) => return out,
            Ok(n) => out.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                panic!(
                    "the server neither finished nor closed within {:?}; got {:?}",
                    start.elapsed(),
                    String::from_utf8_lossy(&out)
                )
            }
            Err(_) => return out,
        }
    }
}

/// Sends `request` and half-closes: the server sees the end of the input.
pub fn send_all(stream: &mut TcpStream, request: &[u8]) {
    // The server may answer and stop reading before it has all of a large input.
    let _ = stream.write_all(request);
    let _ = stream.shutdown(Shutdown::Write);
}

fn replace(haystack: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(haystack.len());
    let mut i = 0;
    while i < haystack.len() {
        if haystack[i..].starts_with(from) {
            out.extend_from_slice(to);
            i += from.len();
        } else {
            out.push(haystack[i]);
            i += 1;
        }
    }
    out
}
