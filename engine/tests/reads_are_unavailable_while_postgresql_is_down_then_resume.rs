//! PostgreSQL only: while the database server is down, every kind of read fails with
//! `Error::Unavailable` within a bound (not a panic, not a hang); once it is back, the same
//! engine reads again by itself, its pooled connections (all broken by the restart)
//! replaced without a caller seeing an error.
//!
//! Runs on a throw-away cluster of its own (common::pg::private_cluster), since it stops
//! the server.

mod common;

use std::time::{Duration, Instant};

use common::pg;
use ember_engine::{Engine, Error, User};

/// The longest one read may take while the server is down (connect timeout plus room
/// for a slow machine).
const CALL_BOUND: Duration = Duration::from_secs(15);

/// Every kind of read the engine makes, each with how many things it returned.
fn reads(
    engine: &Engine,
    ann: &User,
    room: ember_engine::RoomId,
) -> Vec<(&'static str, Result<usize, Error>)> {
    vec![
        ("room_list", engine.rooms_for(ann.id).map(|l| l.len())),
        (
            "history",
            engine
                .messages_before(ann.id, room, None, 10)
                .map(|p| p.len()),
        ),
        (
            "changes",
            engine
                .changes_since(ann.id, room, 0, 10)
                .map(|c| c.messages.len()),
        ),
        (
            "search",
            engine.search(ann.id, "hello", 10).map(|r| r.len()),
        ),
        ("members", engine.members(ann.id, room).map(|m| m.len())),
        ("user", engine.user(ann.id).map(|_| 1)),
    ]
}

#[test]
fn reads_are_unavailable_while_postgresql_is_down_then_resume() {
    common::watchdog::arm_for(Duration::from_secs(150));
    let Some(cluster) = pg::private_cluster() else {
        return;
    };
    let database = pg::Database::create(&cluster.admin_url());
    let url = std::path::PathBuf::from(&database.url);
    let mut opts = common::options(&url);
    opts.unavailable_after = Duration::from_secs(2);
    opts.readers = 4;
    let engine = Engine::open(opts).expect("open the database");
    let ann = common::member(&engine, "ann");
    let room = common::open_room(&engine, ann.id, "Lobby");
    common::post(&engine, ann.id, room, "hello world");
    common::eventually("the post is searchable", || {
        common::search_ids(&engine, ann.id, "hello").len() == 1
    });
    // Fill the pool with several connections, all of which the restart will break.
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| {
                for (what, got) in reads(&engine, &ann, room) {
                    assert!(got.is_ok(), "{what} before the outage: {got:?}");
                }
            });
        }
    });

    cluster.stop();
    for (what, got) in timed_reads(&engine, &ann, room) {
        assert!(
            matches!(got, Err(Error::Unavailable(_))),
            "{what} while PostgreSQL is down gave {got:?}"
        );
    }

    cluster.start();
    let expected = [1, 1, 1, 1, 1, 1];
    for (i, (what, got)) in timed_reads(&engine, &ann, room).into_iter().enumerate() {
        assert_eq!(got, Ok(expected[i]), "{what} after PostgreSQL came back");
    }
}

/// [`reads`], each within [`CALL_BOUND`].
fn timed_reads(
    engine: &Engine,
    ann: &User,
    room: ember_engine::RoomId,
) -> Vec<(&'static str, Result<usize, Error>)> {
    let started = Instant::now();
    let got = reads(engine, ann, room);
    assert!(
        started.elapsed() < CALL_BOUND * got.len() as u32,
        "reads took {:?}",
        started.elapsed()
    );
    got
}
