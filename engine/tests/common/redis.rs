//! A Redis for the cluster tests, shared by the engine's and the server's (included there by
//! path): the harness's (`EMBER_TEST_REDIS_URL`, as `scripts/test` exports), or a
//! throw-away `redis-server` of the test's own on a free port when the binary exists, else
//! a skip line and `None`, unless `EMBER_REQUIRE_REDIS=1` (then the test fails).

#![allow(dead_code)]

use std::io::Write;
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::Once;
use std::time::{Duration, Instant};

/// The line printed when a cluster test is skipped.
pub const SKIP_LINE: &str =
    "cluster tests skipped: no Redis found; run scripts/test (or set EMBER_TEST_REDIS_URL)";

static SKIPPED: Once = Once::new();

fn required() -> bool {
    std::env::var("EMBER_REQUIRE_REDIS").is_ok_and(|v| v == "1")
}

fn skip(why: &str) {
    assert!(!required(), "EMBER_REQUIRE_REDIS=1 but {why}");
    SKIPPED.call_once(|| {
        let _ = writeln!(std::io::stderr(), "{SKIP_LINE}");
    });
}

/// A Redis server for one test.
pub struct Redis {
    /// `redis://127.0.0.1:<port>/`.
    pub url: String,
    port: u16,
    child: Option<Child>,
}

impl Redis {
    /// The harness's Redis, or a throw-away one; `None` (after the skip line) when neither.
    pub fn any() -> Option<Redis> {
        match std::env::var("EMBER_TEST_REDIS_URL") {
            Ok(url) if !url.is_empty() => Some(Redis {
                url,
                port: 0,
                child: None,
            }),
            _ => Redis::own(),
        }
    }

    /// A throw-away `redis-server` of the test's own (one it may stop and start).
    pub fn own() -> Option<Redis> {
        let found = Command::new("redis-server")
            .arg("--version")
            .stdout(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !found {
            skip("redis-server is not installed");
            return None;
        }
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let mut redis = Redis {
            url: format!("redis://127.0.0.1:{port}/"),
            port,
            child: None,
        };
        redis.start();
        Some(redis)
    }

    /// Starts the server (again) on its port and waits until it answers.
    pub fn start(&mut self) {
        assert!(self.port != 0, "the harness's Redis cannot be restarted");
        let child = Command::new("redis-server")
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no", "--daemonize", "no"])
            .stdout(Stdio::null())
            .spawn()
            .expect("start redis-server");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(Instant::now() < deadline, "redis-server did not start");
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Kills the server (every connection drops; what was in flight is lost).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        self.stop();
    }
}

impl Redis {
    /// [`Redis::own`] when `own` (a test that stops and starts it), else [`Redis::any`].
    pub fn find(own: bool) -> Option<Redis> {
        if own { Redis::own() } else { Redis::any() }
    }
}
