//! Durability: every acknowledged post survives the process being killed, what was not yet
//! in the full-text index at the kill gets indexed when the database is opened again, and
//! closing commits whatever was queued.

mod common;

use std::collections::HashSet;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use ember_engine::{Engine, MessageId, Request, Response, RoomId, RoomKind, UserId};

const CHILD_DB: &str = "EMBER_TEST_CHILD_DB";
const CHILD_USER: &str = "EMBER_TEST_CHILD_USER";
const CHILD_ROOM: &str = "EMBER_TEST_CHILD_ROOM";
const CHILD_THREADS: usize = 4;
/// Acknowledgements the parent waits for before it kills the child.
const ACKS_BEFORE_KILL: usize = 100;

/// The child process of [`acked_posts_survive_sigkill`] (on the parent's store: the
/// database is a file or a `postgres://` URL): posts from several threads and
/// prints `acked <message id> <marker>` after each post returns, until it is killed (or
/// its parent stops reading). Does nothing unless that test spawned it.
#[test]
#[ignore = "child process of acked_posts_survive_sigkill; runs only when spawned by it"]
fn child_poster() {
    let Ok(path) = std::env::var(CHILD_DB) else {
        return;
    };
    let var = |name| std::env::var(name).unwrap_or_else(|_| panic!("{name} is not set"));
    let user: UserId = var(CHILD_USER).parse().expect("a user id");
    let room: RoomId = var(CHILD_ROOM).parse().expect("a room id");
    let mut opts = common::options(Path::new(&path));
    // Nothing gets into the full-text index before the kill.
    opts.search_delay = Duration::from_secs(60);
    let db = Engine::open(opts).expect("the child opens the database");
    std::thread::scope(|s| {
        for t in 0..CHILD_THREADS {
            let db = &db;
            s.spawn(move || {
                for i in 0..1_000_000 {
                    let marker = format!("t{t}n{i}");
                    let message = common::post(db, user, room, &format!("survivor {marker}"));
                    let mut out = std::io::stdout().lock();
                    if writeln!(out, "acked {} {marker}", message.id)
                        .and_then(|()| out.flush())
                        .is_err()
                    {
                        return;
                    }
                }
            });
        }
    });
}

/// Kills the child if the test fails before it does.
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A complete `acked <id> <marker>` line; anything else (the test harness's own output, a
/// line cut short by the kill) is not an acknowledgement.
fn parse_ack(line: &str) -> Option<(MessageId, String)> {
    let rest = line.strip_suffix('\n')?.strip_prefix("acked ")?;
    let (id, marker) = rest.split_once(' ')?;
    Some((id.parse().ok()?, marker.to_owned()))
}

fn acked_posts_survive_sigkill() {
    let place = common::place();
    let path = place.path();
    let (user, room) = {
        let db = Engine::open(common::options(path)).unwrap();
        let ann = common::member(&db, "ann");
        let room = db
            .create_room(ann.id, RoomKind::Open, "Lobby", &[])
            .unwrap();
        (ann.id, room.id)
    };

    let exe = std::env::current_exe().unwrap();
    let mut child = KillOnDrop(
        Command::new(exe)
            .args([
                "child_poster",
                "--exact",
                "--ignored",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD_DB, path)
            .env(CHILD_USER, user.to_string())
            .env(CHILD_ROOM, room.to_string())
            .stdout(Stdio::piped())
            .spawn()
            .expect("spawn the child"),
    );
    let mut out = BufReader::new(child.0.stdout.take().unwrap());
    let mut acked = Vec::new();
    let mut line = String::new();
    while acked.len() < ACKS_BEFORE_KILL {
        line.clear();
        let n = out.read_line(&mut line).expect("read the child's output");
        assert!(
            n > 0,
            "the child stopped after {} acknowledgements",
            acked.len()
        );
        acked.extend(parse_ack(&line));
    }
    child.0.kill().expect("SIGKILL the child");
    let status = child.0.wait().unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(
            status.signal(),
            Some(9),
            "the child was not killed mid-stream: {status}"
        );
    }
    // Lines already in the pipe were acknowledged before the kill too.
    loop {
        line.clear();
        if out.read_line(&mut line).expect("read the child's output") == 0 {
            break;
        }
        acked.extend(parse_ack(&line));
    }

    if common::store() == common::Store::Sqlite {
        assert_mostly_unindexed(path, &acked);
    }
    let db = Engine::open(common::options(path)).expect("reopen after the kill");
    for (id, marker) in &acked {
        let message = db
            .message(user, *id)
            .unwrap_or_else(|e| panic!("acked {id} is lost: {e}"));
        assert_eq!(message.content, format!("survivor {marker}"));
    }
    let seqs: Vec<u64> = common::history(&db, user, room)
        .iter()
        .map(|m| m.seq)
        .collect();
    assert!(seqs.len() >= acked.len());
    assert_eq!(
        seqs,
        (1..=seqs.len() as u64).collect::<Vec<_>>(),
        "a gap after the kill"
    );
    common::eventually("every acked message is searchable", || {
        acked
            .iter()
            .all(|(id, marker)| common::search_ids(&db, user, marker) == vec![*id])
    });
}
common::both_stores!(acked_posts_survive_sigkill);

/// Checks the point of the search half of the test (on SQLite): at the kill, most acknowledged
/// messages were still queued for indexing (read without opening an engine, which would
/// index them). The first few may be indexed at once with the backlog found at startup.
fn assert_mostly_unindexed(path: &Path, acked: &[(MessageId, String)]) {
    let conn =
        rusqlite::Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .expect("open the killed database read-only");
    let mut stmt = conn
        .prepare("SELECT m.id FROM fts_pending p JOIN messages m ON m.pos = p.pos")
        .expect("list messages queued for indexing");
    let pending: HashSet<MessageId> = stmt
        .query_map([], |r| r.get(0))
        .and_then(|rows| rows.collect())
        .expect("read messages queued for indexing");
    let unindexed = acked.iter().filter(|(id, _)| pending.contains(id)).count();
    assert!(
        unindexed * 2 >= acked.len(),
        "only {unindexed} of {} acked messages were unindexed",
        acked.len()
    );
}

fn closing_commits_what_was_queued() {
    const QUEUED: u64 = 50;
    let mut db = common::open();
    let ann = common::member(&db, "ann");
    let room = common::open_room(&db, ann.id, "Lobby");
    let mut pipeline = db.pipeline();
    for i in 0..QUEUED {
        pipeline
            .submit(Request::Post(common::new_post(
                ann.id,
                room,
                &format!("queued {i}"),
            )))
            .expect("submit");
    }
    db.close();
    let mut committed = Vec::new();
    for _ in 0..QUEUED {
        match pipeline
            .completions()
            .recv()
            .expect("a completion per request")
            .result
        {
            Ok(Response::Posted(p)) => committed.push(p.message),
            other => panic!("a queued post failed at close: {other:?}"),
        }
    }
    db.reopen();
    assert_eq!(common::history(&db, ann.id, room), committed);
}
common::both_stores!(closing_commits_what_was_queued);
