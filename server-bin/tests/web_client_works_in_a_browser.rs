//! The web client, driven in the system Chromium by `tests/browser/scenarios.mjs`
//! (playwright-core) as two people against real `ember-server` processes: this test starts,
//! stops and restarts the server when the script asks (same database, then a fresh one) and
//! fails when the script does. Artifacts (screenshots, console logs) go to
//! `target/tmp/browser-artifacts/`.
//!
//! Without Chromium or node the test prints that it was skipped and how to run it, unless
//! `EMBER_REQUIRE_BROWSER` is set (as `scripts/test` does): then it fails.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::{BIN, Fixture};

/// The whole browser run must finish within this.
const DEADLINE: Duration = Duration::from_secs(300);
/// `npm ci` must finish within this.
const NPM_DEADLINE: Duration = Duration::from_secs(180);

#[test]
fn web_client_works_in_a_browser() {
    // Longer than a minute by design; the test enforces its own deadlines.
    common::watchdog::arm_for(NPM_DEADLINE + DEADLINE + Duration::from_secs(60));
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser");
    let chromium = std::env::var("EMBER_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    let missing = missing_tools(&chromium);
    if !missing.is_empty() {
        let why = format!(
            "web_client_works_in_a_browser SKIPPED: {} not found. Run `scripts/test` (installs \
             them), or `apt-get install chromium nodejs npm` and \
             `EMBER_REQUIRE_BROWSER=1 cargo test -p ember-server --test web_client_works_in_a_browser`.",
            missing.join(" and ")
        );
        assert!(std::env::var_os("EMBER_REQUIRE_BROWSER").is_none(), "{why}");
        // Straight to stderr: the test harness hides `eprintln!` of passing tests.
        let _ = writeln!(std::io::stderr(), "{why}");
        return;
    }
    if !dir.join("node_modules/playwright-core").exists() {
        let mut npm = Command::new("npm");
        npm.args(["ci", "--no-audit", "--no-fund"])
            .current_dir(&dir);
        if !run_with_deadline(npm, NPM_DEADLINE) {
            let why = format!(
                "web_client_works_in_a_browser SKIPPED: `npm ci` failed in {} (offline?). \
                 Run `scripts/test`.",
                dir.display()
            );
            assert!(std::env::var_os("EMBER_REQUIRE_BROWSER").is_none(), "{why}");
            let _ = writeln!(std::io::stderr(), "{why}");
            return;
        }
    }
    let artifacts = Path::new(env!("CARGO_TARGET_TMPDIR")).join("browser-artifacts");
    std::fs::create_dir_all(&artifacts).expect("artifacts dir");

    let (mut fixture, ops) = prepare(Fixture::new());
    let mut server = Some(start(&fixture, "127.0.0.1:0".parse().expect("addr")));
    let addr = server.as_ref().map(|s| s.1).expect("server");

    let mut node = Killed(
        Command::new("node")
            .arg("scenarios.mjs")
            .current_dir(&dir)
            .env("EMBER_URL", format!("http://{addr}"))
            .env("EMBER_CHROMIUM", &chromium)
            .env("EMBER_ARTIFACTS", &artifacts)
            .env("EMBER_LOBBY", &fixture.room)
            .env("EMBER_OPS", &ops)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("run node"),
    );
    let mut stdin = node.0.stdin.take().expect("stdin");
    let lines = read_lines(node.0.stdout.take().expect("stdout"));
    let deadline = Instant::now() + DEADLINE;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let line = match lines.recv_timeout(left) {
            Ok(line) => line,
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
            Err(mpsc::RecvTimeoutError::Timeout) => {
                drop(node);
                panic!(
                    "the browser scenarios took over {DEADLINE:?}; artifacts in {}",
                    artifacts.display()
                );
            }
        };
        println!("{line}");
        let Some(command) = line.strip_prefix("@@control ") else {
            continue;
        };
        match command.trim() {
            "stop" => drop(server.take()),
            "start" => server = Some(start(&fixture, addr)),
            "fresh" => {
                drop(server.take());
                fixture = prepare(Fixture::new()).0;
                server = Some(start(&fixture, addr));
            }
            other => panic!("unknown control command {other:?}"),
        }
        reply(&mut stdin, "ok");
    }
    let status = wait_with_deadline(&mut node.0, deadline);
    drop(server);
    assert!(
        status == Some(true),
        "the browser scenarios failed (see the output above); screenshots and console logs \
         in {}",
        artifacts.display()
    );
}

/// A closed room for ann and bob beside the open Lobby; returns its id too.
fn prepare(f: Fixture) -> (Fixture, String) {
    let ops = f.admin(&[
        "room", "add", "Ops", "--kind", "closed", "--member", "ann", "--member", "bob",
    ]);
    (f, ops)
}

/// What is missing to run the browser: Chromium, node, npm.
fn missing_tools(chromium: &str) -> Vec<String> {
    let mut missing = Vec::new();
    if !Path::new(chromium).exists() {
        missing.push(format!("Chromium ({chromium})"));
    }
    for tool in ["node", "npm"] {
        let found = Command::new(tool)
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !found {
            missing.push(tool.to_owned());
        }
    }
    missing
}

/// A child process killed when dropped (also when the test panics).
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A server process on `addr` (port 0: any), killed when dropped.
struct Running(Child, SocketAddr);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start(f: &Fixture, addr: SocketAddr) -> Running {
    let give_up = Instant::now() + Duration::from_secs(10);
    loop {
        let mut child = Command::new(BIN)
            .args(["serve", "--listen", &addr.to_string(), "--db"])
            .arg(&f.db)
            .env("EMBER_PASSWORD_MEMORY_KIB", "64")
            .env("EMBER_POST_RATE", "1000")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .spawn()
            .expect("spawn server");
        let stdout = child.stdout.take().expect("stdout");
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        if let Some(url) = line.trim().strip_prefix("listening on http://") {
            let bound = url.trim_end_matches('/').parse().expect("address");
            return Running(child, bound);
        }
        let _ = child.kill();
        let _ = child.wait();
        assert!(
            Instant::now() < give_up,
            "cannot start the server on {addr}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn read_lines(out: impl std::io::Read + Send + 'static) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines() {
            let Ok(line) = line else { return };
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    rx
}

fn reply(stdin: &mut ChildStdin, text: &str) {
    let _ = writeln!(stdin, "{text}");
    let _ = stdin.flush();
}

/// Runs a command, killing it at the deadline; true when it succeeded in time.
fn run_with_deadline(mut command: Command, limit: Duration) -> bool {
    let Ok(mut child) = command.spawn() else {
        return false;
    };
    wait_with_deadline(&mut child, Instant::now() + limit) == Some(true)
}

/// The child's success, or `None` (after killing it) at the deadline.
fn wait_with_deadline(child: &mut Child, deadline: Instant) -> Option<bool> {
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Some(status.success()),
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(50)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                return None;
            }
        }
    }
}
