//! PostgreSQL only: a posting process killed with SIGKILL mid-stream, then PostgreSQL
//! itself stopped abruptly (`pg_ctl stop -m immediate`, as a crash leaves it) and started
//! again: every acknowledged message is there, once, and the room's seqs have no gap.
//!
//! Runs on a throw-away cluster of its own (common::pg::private_cluster), since it restarts
//! the server; the poster is this test binary run again on [`child_poster`].

mod common;

use std::collections::HashMap;
use std::time::Duration;

use common::child;
use common::pg;
use ember_engine::{Engine, MessageId, RoomId, UserId};

const CHILD_DB: &str = "EMBER_TEST_CHILD_DB";
const CHILD_USER: &str = "EMBER_TEST_CHILD_USER";
const CHILD_ROOM: &str = "EMBER_TEST_CHILD_ROOM";
const THREADS: usize = 4;
/// Acknowledgements the parent waits for before it kills the child.
const ACKS_BEFORE_KILL: usize = 200;
const PATIENCE: Duration = Duration::from_secs(60);

/// The poster: posts from several threads, printing `acked <message id> <marker>` after
/// each post returns, until it is killed. Does nothing unless the test spawned it.
#[test]
#[ignore = "child process of acked_posts_survive_sigkill_and_a_postgresql_restart"]
fn child_poster() {
    let Ok(path) = std::env::var(CHILD_DB) else {
        return;
    };
    let user: UserId = child::var(CHILD_USER).parse().expect("a user id");
    let room: RoomId = child::var(CHILD_ROOM).parse().expect("a room id");
    let engine = Engine::open(common::options(std::path::Path::new(&path)))
        .expect("the child opens the database");
    std::thread::scope(|s| {
        for t in 0..THREADS {
            let engine = &engine;
            s.spawn(move || {
                for i in 0.. {
                    let marker = format!("t{t}n{i}");
                    let m = common::post(engine, user, room, &format!("survivor {marker}"));
                    if !child::say(&format!("acked {} {marker}", m.id)) {
                        return;
                    }
                }
            });
        }
    });
}

fn parse_ack(line: &str) -> Option<(MessageId, String)> {
    let (id, marker) = line.split_once(' ')?;
    Some((id.parse().ok()?, marker.to_owned()))
}

/// Not `postgres_only!`: it needs no shared server, only a cluster of its own.
#[test]
fn acked_posts_survive_sigkill_and_a_postgresql_restart() {
    common::watchdog::arm_for(Duration::from_secs(150));
    let Some(cluster) = pg::private_cluster() else {
        return;
    };
    let database = pg::Database::create(&cluster.admin_url());
    let url = std::path::PathBuf::from(&database.url);
    let (user, room) = {
        let engine = Engine::open(common::options(&url)).expect("open the database");
        let ann = common::member(&engine, "ann");
        let room = common::open_room(&engine, ann.id, "Lobby");
        engine.close();
        (ann.id, room)
    };

    let mut poster = child::spawn(
        "poster",
        "child_poster",
        &[
            (CHILD_DB, database.url.clone()),
            (CHILD_USER, user.to_string()),
            (CHILD_ROOM, room.to_string()),
        ],
    );
    let mut acked = Vec::new();
    while acked.len() < ACKS_BEFORE_KILL {
        let line = poster
            .next("acked ", PATIENCE)
            .unwrap_or_else(|| panic!("the poster stopped after {} acks", acked.len()));
        acked.extend(parse_ack(&line));
    }
    let status = poster.kill();
    {
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(
            status.signal(),
            Some(9),
            "the poster was not killed mid-stream: {status}"
        );
    }
    // Lines already in the pipe were acknowledged before the kill too.
    for line in poster.rest(PATIENCE) {
        if let Some(ack) = line.strip_prefix("acked ").and_then(parse_ack) {
            acked.push(ack);
        }
    }

    cluster.restart();

    let engine = Engine::open(common::options(&url)).expect("open after the restart");
    let history = common::history(&engine, user, room);
    let seqs: Vec<u64> = history.iter().map(|m| m.seq).collect();
    assert_eq!(
        seqs,
        (1..=seqs.len() as u64).collect::<Vec<_>>(),
        "a gap after the restart"
    );
    let mut by_content: HashMap<&str, Vec<MessageId>> = HashMap::new();
    for m in &history {
        by_content.entry(m.content.as_str()).or_default().push(m.id);
    }
    for (id, marker) in &acked {
        let content = format!("survivor {marker}");
        assert_eq!(
            by_content.get(content.as_str()),
            Some(&vec![*id]),
            "acked {marker} ({id}) is not there exactly once"
        );
    }
    assert!(history.len() >= acked.len());
    engine.close();
    drop(database);
}
