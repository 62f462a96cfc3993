//! PostgreSQL only: PostgreSQL stopped while posts are in flight. Callers get
//! `Error::Unavailable` within the engine's bounded wait (`Options::unavailable_after`), not
//! a panic and not a hang; once PostgreSQL is started again posting resumes by itself (same
//! engine, no reopen); nothing acknowledged is lost and nothing is doubled (a caller that
//! got `Unavailable` retries with the same client message id, as a client would).
//!
//! Runs on a throw-away cluster of its own (common::pg::private_cluster), since it stops
//! the server.

mod common;

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use common::pg;
use ember_engine::{ClientMessageId, Engine, Error, MessageId, NewPost};

const THREADS: usize = 4;
/// The engine's bound on waiting for the database.
const UNAVAILABLE_AFTER: Duration = Duration::from_secs(2);
/// The longest any call may take: the bound plus room for a slow machine.
const CALL_BOUND: Duration = Duration::from_secs(10);
const PATIENCE: Duration = Duration::from_secs(30);

/// What a posting thread saw.
#[derive(Default)]
struct Seen {
    /// marker -> the message id it was acknowledged with (each marker is acked once: the
    /// thread retries a failed post with the same client id until it is acknowledged).
    acked: HashMap<String, MessageId>,
    unavailable: usize,
    other_errors: Vec<String>,
    slowest: Duration,
}

/// Not `postgres_only!`: it needs no shared server, only a cluster of its own.
#[test]
fn a_postgresql_outage_is_unavailable_then_posting_resumes() {
    common::watchdog::arm_for(Duration::from_secs(150));
    let Some(cluster) = pg::private_cluster() else {
        return;
    };
    let database = pg::Database::create(&cluster.admin_url());
    let url = std::path::PathBuf::from(&database.url);
    let mut opts = common::options(&url);
    opts.unavailable_after = UNAVAILABLE_AFTER;
    let engine = Engine::open(opts).expect("open the database");
    let ann = common::member(&engine, "ann");
    let room = common::open_room(&engine, ann.id, "Lobby");

    let stop = AtomicBool::new(false);
    let acks = AtomicUsize::new(0);
    let unavailable = AtomicUsize::new(0);
    let seen = Mutex::new(Seen::default());
    std::thread::scope(|s| {
        let _stop_posters = common::SetOnDrop(&stop);
        for t in 0..THREADS {
            let (engine, stop, acks, unavailable, seen) =
                (&engine, &stop, &acks, &unavailable, &seen);
            s.spawn(move || {
                let mut mine = Seen::default();
                let mut i = 0;
                while !stop.load(Ordering::Acquire) {
                    let marker = format!("t{t}n{i}");
                    let cmid = ClientMessageId::new_v7();
                    // Until acknowledged (or the test ends): the same post, the same id.
                    while !stop.load(Ordering::Acquire) {
                        let started = Instant::now();
                        let result = engine.post(NewPost {
                            user: ann.id,
                            room,
                            client_message_id: cmid,
                            content: format!("kept {marker}"),
                        });
                        mine.slowest = mine.slowest.max(started.elapsed());
                        match result {
                            Ok(posted) => {
                                mine.acked.insert(marker.clone(), posted.message.id);
                                acks.fetch_add(1, Ordering::AcqRel);
                                break;
                            }
                            Err(Error::Unavailable(_)) => {
                                mine.unavailable += 1;
                                unavailable.fetch_add(1, Ordering::AcqRel);
                                std::thread::sleep(Duration::from_millis(50));
                            }
                            Err(e) => {
                                mine.other_errors.push(format!("{marker}: {e:?}"));
                                std::thread::sleep(Duration::from_millis(50));
                            }
                        }
                    }
                    i += 1;
                }
                let mut seen = seen.lock().expect("the results");
                seen.acked.extend(mine.acked);
                seen.unavailable += mine.unavailable;
                seen.other_errors.extend(mine.other_errors);
                seen.slowest = seen.slowest.max(mine.slowest);
            });
        }

        common::eventually("posts are acknowledged before the outage", || {
            acks.load(Ordering::Acquire) >= 100
        });
        cluster.stop();
        let down_at = Instant::now();
        wait_until(
            "callers get Unavailable while PostgreSQL is down",
            PATIENCE,
            || unavailable.load(Ordering::Acquire) >= THREADS,
        );
        assert!(
            down_at.elapsed() < UNAVAILABLE_AFTER + CALL_BOUND,
            "Unavailable came only after {:?}",
            down_at.elapsed()
        );
        let acked_while_down = acks.load(Ordering::Acquire);
        std::thread::sleep(Duration::from_millis(500));
        cluster.start();
        wait_until(
            "posting resumes by itself after the restart",
            PATIENCE,
            || acks.load(Ordering::Acquire) >= acked_while_down + 100,
        );
        stop.store(true, Ordering::Release);
    });

    let seen = seen.into_inner().expect("the results");
    assert!(
        seen.other_errors.is_empty(),
        "errors other than Unavailable: {:?}",
        seen.other_errors
    );
    assert!(seen.unavailable > 0);
    assert!(
        seen.slowest < CALL_BOUND,
        "a call took {:?}: a hang, not a bounded wait",
        seen.slowest
    );

    let history = common::history(&engine, ann.id, room);
    let seqs: Vec<u64> = history.iter().map(|m| m.seq).collect();
    assert_eq!(
        seqs,
        (1..=seqs.len() as u64).collect::<Vec<_>>(),
        "a gap after the outage"
    );
    let mut by_content: HashMap<&str, Vec<MessageId>> = HashMap::new();
    for m in &history {
        by_content.entry(m.content.as_str()).or_default().push(m.id);
    }
    for (content, ids) in &by_content {
        assert_eq!(ids.len(), 1, "{content} is stored {} times", ids.len());
    }
    for (marker, id) in &seen.acked {
        let content = format!("kept {marker}");
        assert_eq!(
            by_content.get(content.as_str()),
            Some(&vec![*id]),
            "acked {marker} is lost or stored under another id"
        );
    }
    engine.close();
    drop(database);
}

/// Polls `done` until it holds, failing after `patience`.
fn wait_until(what: &str, patience: Duration, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + patience;
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}
