//! A cluster for the server tests: one PostgreSQL database (the engine's harness,
//! `engine/tests/common/pg.rs`: `EMBER_TEST_PG_URL` or a throw-away server), one Redis
//! (`EMBER_TEST_REDIS_URL`, or a throw-away `redis-server` of the test's own) and
//! `ember-server` nodes serving both. Without PostgreSQL or Redis a test prints a skip line
//! and passes, unless `EMBER_REQUIRE_PG=1` / `EMBER_REQUIRE_REDIS=1`.
#![allow(dead_code)]

#[path = "../../../engine/tests/common/pg.rs"]
pub mod pg;

use std::process::Command;

use serde_json::{Value, json};

use crate::common::{BIN, Client, Server, watchdog};

#[path = "../../../engine/tests/common/redis.rs"]
pub mod redis;
pub use redis::Redis;

/// A PostgreSQL database with an admin (ann), two members (bob, carol) and an open room
/// (Lobby), and a Redis, for nodes to serve.
pub struct Cluster {
    pub db: pg::Database,
    pub redis: Redis,
    pub room: String,
}

impl Cluster {
    /// The cluster's services, or `None` after a skip line. `own_redis`: a Redis this
    /// test may stop and start.
    pub fn new(own_redis: bool) -> Option<Cluster> {
        watchdog::arm();
        let redis = Redis::find(own_redis)?;
        if !pg::available() {
            return None;
        }
        Some(Cluster::on(pg::Database::create_shared(), redis))
    }

    /// The cluster's services on `db` (e.g. on a private PostgreSQL the test may stop).
    pub fn on(db: pg::Database, redis: Redis) -> Cluster {
        let c = Cluster {
            db,
            redis,
            room: String::new(),
        };
        for (login, name, admin) in [
            ("ann", "Ann", true),
            ("bob", "Bob", false),
            ("carol", "Carol", false),
        ] {
            let password = format!("{login}-password");
            let mut args = vec![
                "user",
                "add",
                login,
                "--name",
                name,
                "--password",
                &password,
            ];
            if admin {
                args.push("--admin");
            }
            c.admin(&args);
        }
        let room = c.admin(&["room", "add", "Lobby", "--kind", "open"]);
        Cluster { room, ..c }
    }

    /// Runs an admin command on the database and returns its trimmed output.
    pub fn admin(&self, args: &[&str]) -> String {
        let out = Command::new(BIN)
            .args(args)
            .args(["--db", &self.db.url])
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

    /// A node serving the database over the Redis, with `extra` flags.
    pub fn node(&self, extra: &[&str]) -> Server {
        let flags = [&["--broker", self.redis.url.as_str()], extra].concat();
        Server::serve(self.db.url.as_ref(), &flags)
    }
}

/// Collects `message` frames' messages from `c` until one has `change_seq >= head`;
/// presence, typing, unread and ack frames are skipped.
pub fn messages_until(c: &mut Client, head: u64) -> Vec<Value> {
    let mut got: Vec<Value> = Vec::new();
    while got.last().map_or(0, change_seq) < head {
        let v = c.next();
        if v["type"] == "message" {
            got.push(v["message"].clone());
        }
    }
    got
}

pub fn change_seq(m: &Value) -> u64 {
    m["change_seq"].as_u64().unwrap_or(0)
}

/// The room's changes feed after `since` as the store has it: a fresh subscription's replay.
pub fn feed(node: &Server, token: &str, room: &str, since: u64) -> Vec<Value> {
    let mut c = node.ws(token);
    c.send(json!({"type": "subscribe", "room_id": room, "since": since, "ref": "feed"}));
    let (sub, before) = c.until("subscribed");
    assert_eq!(sub["complete"], true, "the feed fits one replay");
    before
        .into_iter()
        .filter(|v| v["type"] == "message")
        .map(|v| v["message"].clone())
        .collect()
}

/// Asserts that `got` (received after change `since`) is the feed: each change once, in
/// order, and each message's last received state is its state in the feed.
pub fn assert_is_the_feed(who: &str, got: &[Value], feed: &[Value]) {
    let seqs: Vec<u64> = got.iter().map(change_seq).collect();
    assert!(
        seqs.windows(2).all(|p| p[0] < p[1]),
        "{who} received out of order or twice: {seqs:?}"
    );
    let mut last = std::collections::HashMap::new();
    for m in got {
        last.insert(m["id"].as_str().unwrap_or("").to_owned(), m.clone());
    }
    let mut seen: Vec<Value> = last.into_values().collect();
    seen.sort_by_key(change_seq);
    assert_eq!(
        seen.len(),
        feed.len(),
        "{who}: messages received vs in the feed"
    );
    assert_eq!(
        seen, feed,
        "{who}: the last state received of each message is the feed's"
    );
}

/// A small deterministic generator (picks nodes and operations).
pub struct Lcg(pub u64);

impl Lcg {
    pub fn below(&mut self, n: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((self.0 >> 33) % n as u64) as usize
    }
}
