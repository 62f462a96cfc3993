//! PostgreSQL only: engines in several processes on one database keep the guarantees one
//! engine keeps. Two processes posting into one room at once get unique, gapless seqs and
//! the changes feed pages to the end with every message once; both posting the same
//! `client_message_id` at once make one message and both are acknowledged with it; a third
//! process reading the feed while they write sees every change once, in order.
//!
//! The processes are this test binary run again on [`child_engine`] (see common/child.rs).

mod common;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::thread;
use std::time::Duration;

use common::child::{self, Child};
use ember_engine::{ClientMessageId, Engine, MessageId, NewPost, RoomId, UserId};

/// What a child does: `post` (fresh client ids), `repost` (the client ids in
/// [`CHILD_CMIDS`]) or `read` (the changes feed until [`CHILD_COUNT`] changes).
const CHILD_ROLE: &str = "EMBER_TEST_CHILD_ROLE";
const CHILD_DB: &str = "EMBER_TEST_CHILD_DB";
const CHILD_USER: &str = "EMBER_TEST_CHILD_USER";
const CHILD_ROOM: &str = "EMBER_TEST_CHILD_ROOM";
const CHILD_COUNT: &str = "EMBER_TEST_CHILD_COUNT";
const CHILD_CMIDS: &str = "EMBER_TEST_CHILD_CMIDS";
const CHILD_TAG: &str = "EMBER_TEST_CHILD_TAG";

/// Posting threads per child.
const THREADS: usize = 4;
/// Posts per thread.
const POSTS_PER_THREAD: usize = 100;
/// How long a child may take for everything it was asked.
const PATIENCE: Duration = Duration::from_secs(60);

/// The body of the child processes (does nothing unless a test here spawned it). Opens an
/// engine on the parent's database, says `ready`, waits for `go`, does its role, printing
/// a line per acknowledgement or change read, and says `done`.
#[test]
#[ignore = "child process of the tests in this file; runs only when spawned by them"]
fn child_engine() {
    let Ok(role) = std::env::var(CHILD_ROLE) else {
        return;
    };
    common::watchdog::arm_for(Duration::from_secs(90));
    let user: UserId = child::var(CHILD_USER).parse().expect("a user id");
    let room: RoomId = child::var(CHILD_ROOM).parse().expect("a room id");
    let path = child::var(CHILD_DB);
    let engine = Engine::open(common::options(std::path::Path::new(&path)))
        .expect("the child opens the database");
    child::say("ready");
    child::hear("go");
    match role.as_str() {
        "post" => post_fresh(&engine, user, room),
        "repost" => {
            let cmids: Vec<ClientMessageId> = child::var(CHILD_CMIDS)
                .split(',')
                .map(|s| s.parse().expect("a client message id"))
                .collect();
            repost(&engine, user, room, &cmids);
        }
        "read" => {
            let count: usize = child::var(CHILD_COUNT).parse().expect("a count");
            read_feed(&engine, user, room, count);
        }
        other => panic!("unknown role {other}"),
    }
    child::say("done");
    engine.close();
}

/// `THREADS` threads post `POSTS_PER_THREAD` fresh messages each, printing
/// `acked <message id> <seq> <content>` after each.
fn post_fresh(engine: &Engine, user: UserId, room: RoomId) {
    let tag = child::var(CHILD_TAG);
    thread::scope(|s| {
        for t in 0..THREADS {
            let tag = &tag;
            s.spawn(move || {
                for i in 0..POSTS_PER_THREAD {
                    let content = format!("{tag}-t{t}-n{i}");
                    let m = common::post(engine, user, room, &content);
                    child::say(&format!("acked {} {} {content}", m.id, m.seq));
                }
            });
        }
    });
}

/// `THREADS` threads post the given client ids, each thread starting at another place,
/// printing `acked <client id> <message id> <duplicate>` after each.
fn repost(engine: &Engine, user: UserId, room: RoomId, cmids: &[ClientMessageId]) {
    thread::scope(|s| {
        for t in 0..THREADS {
            s.spawn(move || {
                let start = t * cmids.len() / THREADS;
                for k in 0..cmids.len() {
                    let cmid = cmids[(start + k) % cmids.len()];
                    let posted = engine
                        .post(NewPost {
                            user,
                            room,
                            client_message_id: cmid,
                            content: format!("once {cmid}"),
                        })
                        .unwrap_or_else(|e| panic!("post {cmid}: {e}"));
                    child::say(&format!(
                        "acked {cmid} {} {}",
                        posted.message.id, posted.duplicate
                    ));
                }
            });
        }
    });
}

/// Pages the changes feed from the start, polling, until `count` changes were read,
/// printing `change <change_seq> <message id>` for each.
fn read_feed(engine: &Engine, user: UserId, room: RoomId, count: usize) {
    let mut cursor = 0;
    let mut seen = 0;
    while seen < count {
        let page = engine
            .changes_since(user, room, cursor, 1000)
            .unwrap_or_else(|e| panic!("changes_since {cursor}: {e}"));
        for m in &page.messages {
            child::say(&format!("change {} {}", m.change_seq, m.id));
            cursor = m.change_seq;
            seen += 1;
        }
        if page.messages.is_empty() {
            thread::sleep(Duration::from_millis(2));
        }
    }
}

/// A database with one member and one open room; the engine that set it up is closed.
fn set_up(place: &common::Place) -> (UserId, RoomId) {
    let engine = Engine::open(common::options(place.path())).expect("open the database");
    let ann = common::member(&engine, "ann");
    let room = common::open_room(&engine, ann.id, "Lobby");
    engine.close();
    (ann.id, room)
}

fn start(place: &common::Place, name: &str, role: &str, user: UserId, room: RoomId) -> Child {
    start_with(place, name, role, user, room, Vec::new())
}

fn start_with(
    place: &common::Place,
    name: &str,
    role: &str,
    user: UserId,
    room: RoomId,
    mut env: Vec<(&str, String)>,
) -> Child {
    env.extend([
        (CHILD_ROLE, role.to_owned()),
        (CHILD_DB, place.path().display().to_string()),
        (CHILD_USER, user.to_string()),
        (CHILD_ROOM, room.to_string()),
        (CHILD_TAG, name.to_owned()),
    ]);
    child::spawn(name, "child_engine", &env)
}

/// Starts the children together: waits until each has its engine open, then says `go`.
fn go(children: &mut [&mut Child]) {
    for c in children.iter_mut() {
        c.expect("ready", PATIENCE);
    }
    for c in children.iter_mut() {
        c.tell("go");
    }
}

/// Every `prefix` line of a child up to its `done`, without the prefix.
fn lines_until_done(child: &mut Child, prefix: &str) -> Vec<String> {
    let mut out = Vec::new();
    for line in child.rest(PATIENCE) {
        if line == "done" {
            return out;
        }
        if let Some(rest) = line.strip_prefix(prefix) {
            out.push(rest.to_owned());
        }
    }
    panic!("a child ended without saying done (see its output above)");
}

/// `(message id, seq, content)` of a poster's acknowledgements.
fn acks(child: &mut Child) -> Vec<(MessageId, u64, String)> {
    lines_until_done(child, "acked ")
        .iter()
        .map(|l| {
            let mut words = l.splitn(3, ' ');
            let id = words.next().and_then(|w| w.parse().ok()).expect("an id");
            let seq = words.next().and_then(|w| w.parse().ok()).expect("a seq");
            (id, seq, words.next().expect("content").to_owned())
        })
        .collect()
}

/// Checks what two posters were acknowledged against the room as stored: every
/// acknowledgement is there once with its seq, the seqs are 1..=n, and paging the changes
/// feed to the end yields every message once, in change order.
fn assert_room_holds_exactly(
    place: &common::Place,
    user: UserId,
    room: RoomId,
    acked: &[(MessageId, u64, String)],
) {
    let engine = Engine::open(common::options(place.path())).expect("open the database");
    let total = acked.len();
    let ids: HashSet<MessageId> = acked.iter().map(|a| a.0).collect();
    assert_eq!(
        ids.len(),
        total,
        "two posts were acknowledged with one message id"
    );
    let seqs: HashSet<u64> = acked.iter().map(|a| a.1).collect();
    assert_eq!(
        seqs.len(),
        total,
        "two posts were acknowledged with one seq"
    );
    let history = common::history(&engine, user, room);
    assert_eq!(
        history.iter().map(|m| m.seq).collect::<Vec<_>>(),
        (1..=total as u64).collect::<Vec<_>>(),
        "the room's seqs are not 1..={total}"
    );
    let stored: HashMap<MessageId, (u64, &str)> = history
        .iter()
        .map(|m| (m.id, (m.seq, m.content.as_str())))
        .collect();
    for (id, seq, content) in acked {
        assert_eq!(
            stored.get(id),
            Some(&(*seq, content.as_str())),
            "acked {id} differs"
        );
    }
    let mut cursor = 0;
    let mut fed = Vec::new();
    loop {
        let page = engine
            .changes_since(user, room, cursor, 97)
            .expect("a feed page");
        if let Some(last) = page.messages.last() {
            cursor = last.change_seq;
        }
        fed.extend(page.messages.iter().map(|m| (m.change_seq, m.id)));
        if !page.more {
            break;
        }
    }
    assert!(
        fed.windows(2).all(|w| w[0].0 < w[1].0),
        "the feed is out of order"
    );
    let fed_ids: HashSet<MessageId> = fed.iter().map(|f| f.1).collect();
    assert_eq!(
        fed.len(),
        total,
        "the feed does not hold every message once"
    );
    assert_eq!(
        fed_ids, ids,
        "the feed holds other messages than those acked"
    );
    engine.close();
}

fn two_processes_posting_into_one_room_get_unique_gapless_seqs() {
    common::watchdog::arm_for(Duration::from_secs(120));
    let place = common::place();
    let (user, room) = set_up(&place);
    let mut one = start(&place, "one", "post", user, room);
    let mut two = start(&place, "two", "post", user, room);
    go(&mut [&mut one, &mut two]);
    let mut acked = acks(&mut one);
    acked.extend(acks(&mut two));
    assert_eq!(acked.len(), 2 * THREADS * POSTS_PER_THREAD);
    assert_room_holds_exactly(&place, user, room, &acked);
}
common::postgres_only!(two_processes_posting_into_one_room_get_unique_gapless_seqs);

fn the_same_client_message_id_from_two_processes_is_one_message_acked_to_both() {
    common::watchdog::arm_for(Duration::from_secs(120));
    let place = common::place();
    let (user, room) = set_up(&place);
    let cmids: Vec<ClientMessageId> = (0..200).map(|_| ClientMessageId::new_v7()).collect();
    let list = cmids
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(",");
    let mut one = start_with(
        &place,
        "one",
        "repost",
        user,
        room,
        vec![(CHILD_CMIDS, list.clone())],
    );
    let mut two = start_with(
        &place,
        "two",
        "repost",
        user,
        room,
        vec![(CHILD_CMIDS, list)],
    );
    go(&mut [&mut one, &mut two]);
    // client id -> every message id it was acknowledged with, and how many acks were new.
    let mut answers: BTreeMap<String, HashSet<String>> = BTreeMap::new();
    let mut fresh: HashMap<String, usize> = HashMap::new();
    for c in [&mut one, &mut two] {
        for line in lines_until_done(c, "acked ") {
            let words: Vec<&str> = line.split(' ').collect();
            let [cmid, id, duplicate] = words[..] else {
                panic!("a malformed ack {line:?}");
            };
            answers
                .entry(cmid.to_owned())
                .or_default()
                .insert(id.to_owned());
            if duplicate == "false" {
                *fresh.entry(cmid.to_owned()).or_default() += 1;
            }
        }
    }
    assert_eq!(
        answers.len(),
        cmids.len(),
        "not every client id was acknowledged"
    );
    for (cmid, ids) in &answers {
        assert_eq!(
            ids.len(),
            1,
            "{cmid} was acknowledged with several messages: {ids:?}"
        );
        assert_eq!(
            fresh.get(cmid),
            Some(&1),
            "{cmid} was new to more or fewer than one post"
        );
    }
    let engine = Engine::open(common::options(place.path())).expect("open the database");
    let history = common::history(&engine, user, room);
    assert_eq!(
        history.iter().map(|m| m.seq).collect::<Vec<_>>(),
        (1..=cmids.len() as u64).collect::<Vec<_>>(),
        "one message per client id, seqs without gaps (no seq burnt on a duplicate)"
    );
    for m in &history {
        let ids = &answers[&m.client_message_id.to_string()];
        assert!(
            ids.contains(&m.id.to_string()),
            "{} was acked with another message",
            m.client_message_id
        );
    }
    engine.close();
}
common::postgres_only!(the_same_client_message_id_from_two_processes_is_one_message_acked_to_both);

fn a_reader_in_a_third_process_sees_every_change_once_in_order() {
    common::watchdog::arm_for(Duration::from_secs(120));
    let place = common::place();
    let (user, room) = set_up(&place);
    let total = 2 * THREADS * POSTS_PER_THREAD;
    let mut reader = start_with(
        &place,
        "reader",
        "read",
        user,
        room,
        vec![(CHILD_COUNT, total.to_string())],
    );
    let mut one = start(&place, "one", "post", user, room);
    let mut two = start(&place, "two", "post", user, room);
    go(&mut [&mut reader, &mut one, &mut two]);
    let mut acked = acks(&mut one);
    acked.extend(acks(&mut two));
    let read: Vec<(u64, MessageId)> = lines_until_done(&mut reader, "change ")
        .iter()
        .map(|l| {
            let (seq, id) = l.split_once(' ').expect("change_seq and id");
            (
                seq.parse().expect("a change_seq"),
                id.parse().expect("an id"),
            )
        })
        .collect();
    assert_eq!(
        read.iter().map(|r| r.0).collect::<Vec<_>>(),
        (1..=total as u64).collect::<Vec<_>>(),
        "the reader did not see change_seqs 1..={total} once each, in order"
    );
    let read_ids: HashSet<MessageId> = read.iter().map(|r| r.1).collect();
    let acked_ids: HashSet<MessageId> = acked.iter().map(|a| a.0).collect();
    assert_eq!(read_ids.len(), total, "the reader saw a message twice");
    assert_eq!(
        read_ids, acked_ids,
        "the reader saw other messages than those acked"
    );
}
common::postgres_only!(a_reader_in_a_third_process_sees_every_change_once_in_order);
