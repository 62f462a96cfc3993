//! Child processes for tests that need several engines on one database: the test binary
//! run again on one `#[ignore]`d test (the child's body), told what to do through
//! environment variables, talking back in lines on its stdout and listening on its stdin.
//! Every read has a deadline; a child is killed when its handle is dropped, so a failing
//! test leaves none behind.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child as Process, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::{Duration, Instant};

/// What starts each line a child [`say`]s: the test harness may print on the same line
/// before it (`test child ... ` without a newline), and prints lines of its own.
const MARK: &str = "ember-child: ";

/// A running child process of the test binary.
pub struct Child {
    process: Process,
    stdin: Option<ChildStdin>,
    lines: Receiver<String>,
    name: String,
}

/// Starts the test binary again running only the ignored test `test` (the child's body),
/// with `env` set. `name` names the child in failure messages.
pub fn spawn(name: &str, test: &str, env: &[(&str, String)]) -> Child {
    let exe = std::env::current_exe().expect("the test binary");
    let mut command = Command::new(exe);
    command
        .args([
            test,
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped());
    for (key, value) in env {
        command.env(key, value);
    }
    let mut process = command
        .spawn()
        .unwrap_or_else(|e| panic!("start child {name}: {e}"));
    let stdin = process.stdin.take();
    let stdout = process.stdout.take().expect("the child's stdout");
    let (send, lines) = channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            let Some(at) = line.find(MARK) else { continue };
            if send.send(line[at + MARK.len()..].to_owned()).is_err() {
                break;
            }
        }
    });
    Child {
        process,
        stdin,
        lines,
        name: name.to_owned(),
    }
}

impl Child {
    /// The next line the child [`say`]s that starts with `prefix` (others are skipped),
    /// without the prefix; `None` once the child
    /// closed its stdout. Fails after `patience`.
    pub fn next(&mut self, prefix: &str, patience: Duration) -> Option<String> {
        let deadline = Instant::now() + patience;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    if let Some(rest) = line.strip_prefix(prefix) {
                        return Some(rest.to_owned());
                    }
                }
                Err(RecvTimeoutError::Disconnected) => return None,
                Err(RecvTimeoutError::Timeout) => panic!(
                    "child {} printed no `{prefix}` line within {patience:?}",
                    self.name
                ),
            }
        }
    }

    /// Waits for the line `word` (as printed by the child's [`say`]).
    pub fn expect(&mut self, word: &str, patience: Duration) {
        if self.next(word, patience).is_none() {
            panic!("child {} ended before saying {word:?}", self.name);
        }
    }

    /// Every line the child [`say`]s from now until it closed its stdout, failing after
    /// `patience`.
    pub fn rest(&mut self, patience: Duration) -> Vec<String> {
        let deadline = Instant::now() + patience;
        let mut all = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => all.push(line),
                Err(RecvTimeoutError::Disconnected) => return all,
                Err(RecvTimeoutError::Timeout) => {
                    panic!("child {} did not finish within {patience:?}", self.name)
                }
            }
        }
    }

    /// Lines said so far, without waiting.
    pub fn ready_lines(&mut self) -> Vec<String> {
        self.lines.try_iter().collect()
    }

    /// Writes `line` to the child's stdin.
    pub fn tell(&mut self, line: &str) {
        let stdin = self.stdin.as_mut().expect("the child's stdin");
        writeln!(stdin, "{line}")
            .and_then(|()| stdin.flush())
            .unwrap_or_else(|e| panic!("tell child {}: {e}", self.name));
    }

    /// SIGKILLs the child and reaps it.
    pub fn kill(&mut self) -> ExitStatus {
        let _ = self.process.kill();
        self.process.wait().expect("reap the killed child")
    }

    /// Waits for the child to exit, killing it and failing after `patience`.
    pub fn wait(&mut self, patience: Duration) -> ExitStatus {
        let deadline = Instant::now() + patience;
        loop {
            if let Some(status) = self.process.try_wait().expect("wait for the child") {
                return status;
            }
            if Instant::now() > deadline {
                self.kill();
                panic!("child {} did not exit within {patience:?}", self.name);
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

/// In a child: prints `line` on stdout at once (the parent reads it with [`Child::next`]).
/// Returns false when the parent no longer reads.
pub fn say(line: &str) -> bool {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{MARK}{line}")
        .and_then(|()| out.flush())
        .is_ok()
}

/// In a child: waits for the line `word` from the parent on stdin (the watchdog ends a
/// child that waits forever).
pub fn hear(word: &str) {
    let mut line = String::new();
    loop {
        line.clear();
        let n = std::io::stdin()
            .read_line(&mut line)
            .expect("read the parent's stdin");
        assert!(n > 0, "the parent closed stdin before saying {word:?}");
        if line.trim_end() == word {
            return;
        }
    }
}

/// In a child: the environment variable `name`, which the parent must have set.
pub fn var(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("{name} is not set"))
}
