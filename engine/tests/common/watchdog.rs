//! Turns a hanging test into a failing one: a test that arms the watchdog and is still
//! running a minute later is named on stderr and the whole test binary exits with failure.
//!
//! Shared by the test suites of every crate (included by path), so that a deadlock in the
//! code under test, or a test thread waiting for a flag a panicked thread never set, is
//! reported with the test's name instead of stalling CI until its time limit.

use std::cell::RefCell;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, Once};
use std::time::{Duration, Instant};

/// How long one test may run; `EMBER_TEST_WATCHDOG_SECS` overrides it.
const LIMIT: Duration = Duration::from_secs(60);

struct Running {
    id: u64,
    name: String,
    since: Instant,
    limit: Duration,
}

static RUNNING: Mutex<Vec<Running>> = Mutex::new(Vec::new());
static NEXT_ID: AtomicU64 = AtomicU64::new(1);
static START: Once = Once::new();

/// Unregisters the test when its thread ends (libtest runs each test on a thread named
/// after it), whether the test passed, failed or panicked.
struct Armed(u64);

impl Drop for Armed {
    fn drop(&mut self) {
        if let Ok(mut running) = RUNNING.lock() {
            running.retain(|r| r.id != self.0);
        }
    }
}

thread_local! {
    static ARMED: RefCell<Option<Armed>> = const { RefCell::new(None) };
}

/// Watches the calling test from now until its thread ends, for the default limit (a
/// minute, or `EMBER_TEST_WATCHDOG_SECS`). Calling it again from the same test does nothing.
pub fn arm() {
    arm_for(limit());
}

/// Like [`arm`], for a test that legitimately runs longer (it must say so before anything
/// arms the default).
pub fn arm_for(limit: Duration) {
    let first = ARMED.with(|armed| armed.borrow().is_none());
    if !first {
        return;
    }
    let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
    let name = std::thread::current()
        .name()
        .unwrap_or("<unnamed test>")
        .to_string();
    if let Ok(mut running) = RUNNING.lock() {
        running.push(Running {
            id,
            name,
            since: Instant::now(),
            limit,
        });
    }
    ARMED.with(|armed| *armed.borrow_mut() = Some(Armed(id)));
    START.call_once(|| {
        std::thread::spawn(watch);
    });
}

fn limit() -> Duration {
    std::env::var("EMBER_TEST_WATCHDOG_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .map(Duration::from_secs)
        .unwrap_or(LIMIT)
}

fn watch() {
    loop {
        std::thread::sleep(Duration::from_millis(500));
        let hung: Vec<(String, Duration)> = match RUNNING.lock() {
            Ok(running) => running
                .iter()
                .filter(|r| r.since.elapsed() > r.limit)
                .map(|r| (r.name.clone(), r.limit))
                .collect(),
            Err(_) => continue,
        };
        if !hung.is_empty() {
            for (name, limit) in hung {
                eprintln!("watchdog: test `{name}` still running after {limit:?}: it hangs");
            }
            std::process::exit(101);
        }
    }
}
