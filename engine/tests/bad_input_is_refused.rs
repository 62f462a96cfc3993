//! Bad input gets a precise error and writes nothing: invalid content, names and limits,
//! unknown ids, a closed engine, a full queue, and files that are not Ember databases.

mod common;

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use ember_engine::{
    Engine, Error, MessageId, NewUser, Options, Request, Role, RoomId, RoomKind, SCHEMA_VERSION,
    UserId,
};

fn assert_validation<T: std::fmt::Debug>(
    what: &str,
    expected: &str,
    result: ember_engine::Result<T>,
) {
    match result {
        Err(Error::Validation { field, .. }) if field == expected => {}
        other => panic!("{what}: expected a Validation error on {expected:?}, got {other:?}"),
    }
}

fn assert_not_found<T: std::fmt::Debug>(what: &str, result: ember_engine::Result<T>) {
    match result {
        Err(Error::NotFound(_)) => {}
        other => panic!("{what}: expected NotFound, got {other:?}"),
    }
}

fn assert_closed<T: std::fmt::Debug>(what: &str, result: ember_engine::Result<T>) {
    match result {
        Err(Error::Closed) => {}
        other => panic!("{what} after close: expected Closed, got {other:?}"),
    }
}

fn assert_open_error(what: &str, opts: Options) {
    match Engine::open(opts) {
        Err(Error::Open { path, reason }) => assert!(!path.is_empty() && !reason.is_empty()),
        other => panic!("{what}: expected an Open error, got {other:?}"),
    }
}

fn bad_contents() -> Vec<(&'static str, String)> {
    vec![
        ("empty", String::new()),
        ("white space only", " \n\t\r\n ".into()),
        (
            "one character too long",
            "é".repeat(ember_engine::MAX_CONTENT_CHARS + 1),
        ),
        ("NUL", "a\u{0}b".into()),
        ("bell", "ding\u{7}".into()),
        ("escape sequence", "\u{1b}[31mred".into()),
        ("DEL", "x\u{7f}".into()),
    ]
}

fn bad_content_is_refused_and_nothing_is_written() {
    let db = common::open();
    let ann = common::member(&db, "ann");
    let room = db
        .create_room(ann.id, RoomKind::Open, "Lobby", &[])
        .unwrap();
    let message = common::post(&db, ann.id, room.id, "fine");
    for (what, content) in bad_contents() {
        assert_validation(
            what,
            "content",
            db.post(common::new_post(ann.id, room.id, &content)),
        );
        assert_validation(
            what,
            "content",
            db.edit_message(ann.id, message.id, &content),
        );
    }
    assert_eq!(common::history(&db, ann.id, room.id), vec![message]);
}
common::both_stores!(bad_content_is_refused_and_nothing_is_written);

fn content_at_the_limit_is_accepted_and_normalised() {
    let db = common::open();
    let ann = common::member(&db, "ann");
    let room = db
        .create_room(ann.id, RoomKind::Open, "Lobby", &[])
        .unwrap();
    let longest = "é".repeat(ember_engine::MAX_CONTENT_CHARS);
    assert_eq!(
        common::post(&db, ann.id, room.id, &longest).content,
        longest
    );
    assert_eq!(
        common::post(&db, ann.id, room.id, "  a\r\nb\rc\t\n ").content,
        "a\nb\nc"
    );
}
common::both_stores!(content_at_the_limit_is_accepted_and_normalised);

fn bad_users_and_rooms_are_refused() {
    let db = common::open();
    let ann = common::member(&db, "ann");
    let user = |login: &str, name: &str, password: &str, role| {
        db.create_user(NewUser {
            login: login.into(),
            name: name.into(),
            password: password.into(),
            role,
        })
    };
    let ok = common::PASSWORD;
    assert_validation("empty login", "login", user("", "X", ok, Role::Member));
    assert_validation(
        "login with a space",
        "login",
        user("a b", "X", ok, Role::Member),
    );
    assert_validation(
        "long login",
        "login",
        user(&"a".repeat(65), "X", ok, Role::Member),
    );
    assert_validation(
        "taken login",
        "login",
        user("ANN", "Other Ann", ok, Role::Member),
    );
    assert_validation("empty name", "name", user("x", "  ", ok, Role::Member));
    assert_validation(
        "long name",
        "name",
        user("x", &"n".repeat(101), ok, Role::Member),
    );
    assert_validation(
        "short password",
        "password",
        user("x", "X", "short", Role::Member),
    );
    assert_validation("bot role", "role", user("x", "X", ok, Role::Bot));
    assert_validation("bot login", "login", db.create_bot("a bot", "Bot"));
    assert_validation(
        "room name",
        "name",
        db.create_room(ann.id, RoomKind::Open, "\t", &[]),
    );
    assert_validation(
        "direct kind",
        "kind",
        db.create_room(ann.id, RoomKind::Direct, "D", &[]),
    );
    assert_eq!(db.users().unwrap().len(), 1, "a refused user was written");
    assert!(
        db.all_rooms().unwrap().is_empty(),
        "a refused room was written"
    );
}
common::both_stores!(bad_users_and_rooms_are_refused);

fn unknown_ids_are_not_found() {
    let db = common::open();
    let ann = common::admin(&db, "ann");
    let room = common::open_room(&db, ann.id, "Lobby");
    let message = common::post(&db, ann.id, room, "hello").id;
    let (nobody, nowhere, nothing) = (
        UserId::from_bytes([7; 16]),
        RoomId::from_bytes([7; 16]),
        MessageId::from_bytes([7; 16]),
    );

    assert_not_found(
        "post by nobody",
        db.post(common::new_post(nobody, room, "hi")),
    );
    assert_not_found(
        "post nowhere",
        db.post(common::new_post(ann.id, nowhere, "hi")),
    );
    assert_not_found("edit", db.edit_message(ann.id, nothing, "x"));
    assert_not_found("delete", db.delete_message(ann.id, nothing));
    assert_not_found("message", db.message(ann.id, nothing));
    assert_not_found("message for nobody", db.message(nobody, message));
    assert_not_found("messages_around", db.messages_around(ann.id, nothing, 3));
    assert_not_found(
        "messages_before",
        db.messages_before(ann.id, nowhere, None, 10),
    );
    assert_not_found("changes_since", db.changes_since(ann.id, nowhere, 0, 10));
    assert_not_found("room", db.room(ann.id, nowhere));
    assert_not_found("members", db.members(ann.id, nowhere));
    assert_not_found("mark_read", db.mark_read(ann.id, nowhere, 1));
    assert_not_found("rooms_for", db.rooms_for(nobody));
    assert_not_found("search by nobody", db.search(nobody, "hello", 10));
    assert_not_found("user", db.user(nobody));
    assert_not_found("user_by_login", db.user_by_login("nobody"));
    assert_not_found("deactivate", db.deactivate_user(nobody));
    assert_not_found("add_member", db.add_member(ann.id, room, nobody));
    assert_not_found("direct_room", db.direct_room(ann.id, &[nobody]));
    assert_not_found(
        "closed room member",
        db.create_room(ann.id, RoomKind::Closed, "C", &[nobody]),
    );

    db.delete_message(ann.id, message).unwrap();
    assert_not_found(
        "edit a deleted message",
        db.edit_message(ann.id, message, "back"),
    );
    assert_not_found("delete twice", db.delete_message(ann.id, message));
}
common::both_stores!(unknown_ids_are_not_found);

fn page_sizes_outside_their_range_are_refused() {
    let db = common::open();
    let ann = common::member(&db, "ann");
    let room = common::open_room(&db, ann.id, "Lobby");
    let message = common::post(&db, ann.id, room, "hello").id;
    for limit in [0, ember_engine::MAX_PAGE + 1] {
        assert_validation(
            "messages_before",
            "limit",
            db.messages_before(ann.id, room, None, limit),
        );
        assert_validation("search", "limit", db.search(ann.id, "hello", limit));
    }
    assert_validation(
        "messages_around",
        "limit",
        db.messages_around(ann.id, message, 101),
    );
    for limit in [0, ember_engine::MAX_CHANGES_PAGE + 1] {
        assert_validation(
            "changes_since",
            "limit",
            db.changes_since(ann.id, room, 0, limit),
        );
    }
    assert_eq!(
        db.messages_before(ann.id, room, None, ember_engine::MAX_PAGE)
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        db.changes_since(ann.id, room, 0, ember_engine::MAX_CHANGES_PAGE)
            .unwrap()
            .messages
            .len(),
        1
    );
}
common::both_stores!(page_sizes_outside_their_range_are_refused);

fn a_closed_engine_refuses_reads_and_writes() {
    let db = common::open();
    let ann = common::admin(&db, "ann");
    let room = common::open_room(&db, ann.id, "Lobby");
    let message = common::post(&db, ann.id, room, "hello").id;
    let login = db.login("ann", common::PASSWORD).unwrap();
    let clone = db.engine.clone();
    db.close();
    db.close();

    let late = || common::new_post(ann.id, room, "late");
    assert_closed("post", db.post(late()));
    assert_closed("post through a clone", clone.post(late()));
    assert_closed("pipeline", db.pipeline().submit(Request::Post(late())));
    assert_closed("edit", db.edit_message(ann.id, message, "late"));
    assert_closed("delete", db.delete_message(ann.id, message));
    assert_closed(
        "create_room",
        db.create_room(ann.id, RoomKind::Open, "Late", &[]),
    );
    assert_closed("mark_read", db.mark_read(ann.id, room, 1));
    assert_closed("create_bot", db.create_bot("zed", "Zed"));
    assert_closed("login", db.login("ann", common::PASSWORD));
    assert_closed("authenticate", db.authenticate(&login.token));
    assert_closed(
        "messages_before",
        db.messages_before(ann.id, room, None, 10),
    );
    assert_closed("message", db.message(ann.id, message));
    assert_closed("changes_since", db.changes_since(ann.id, room, 0, 10));
    assert_closed("search", db.search(ann.id, "hello", 10));
    assert_closed("rooms_for", db.rooms_for(ann.id));
    assert_closed("users", db.users());
}
common::both_stores!(a_closed_engine_refuses_reads_and_writes);

fn a_full_queue_pushes_back_with_overloaded_and_every_ok_is_committed() {
    const THREADS: usize = 16;
    let db = common::open_with(|o| {
        o.queue_capacity = 1;
        o.overload_wait = Duration::ZERO;
    });
    let users: Vec<_> = (0..4)
        .map(|i| common::member(&db, &format!("user{i}")))
        .collect();
    let room = common::open_room(&db, users[0].id, "Busy");
    let pushed_back = AtomicBool::new(false);

    let outcomes: Vec<(Vec<MessageId>, usize)> = std::thread::scope(|s| {
        let threads: Vec<_> = (0..THREADS)
            .map(|t| {
                let (db, user, pushed_back) = (&db, users[t % users.len()].id, &pushed_back);
                s.spawn(move || {
                    let (mut ok, mut overloaded) = (Vec::new(), 0);
                    // Keep going until some call was pushed back (bounded, in case none is).
                    for i in 0..2000 {
                        if i >= 20 && pushed_back.load(Ordering::Relaxed) {
                            break;
                        }
                        match db.post(common::new_post(
                            user,
                            room,
                            &format!("thread {t} post {i}"),
                        )) {
                            Ok(posted) => ok.push(posted.message.id),
                            Err(Error::Overloaded) => {
                                overloaded += 1;
                                pushed_back.store(true, Ordering::Relaxed);
                            }
                            Err(e) => panic!("thread {t} post {i}: {e}"),
                        }
                    }
                    (ok, overloaded)
                })
            })
            .collect();
        threads.into_iter().map(|t| t.join().unwrap()).collect()
    });

    let overloaded: usize = outcomes.iter().map(|(_, n)| n).sum();
    assert!(
        overloaded > 0,
        "no call was ever pushed back with a queue of one"
    );
    let acked: HashSet<MessageId> = outcomes.into_iter().flat_map(|(ok, _)| ok).collect();
    let stored: HashSet<MessageId> = common::history(&db, users[1].id, room)
        .into_iter()
        .map(|m| m.id)
        .collect();
    assert_eq!(
        stored, acked,
        "stored messages differ from the acknowledged ones"
    );
}
common::both_stores!(a_full_queue_pushes_back_with_overloaded_and_every_ok_is_committed);

/// SQLite only: about files.
#[test]
fn a_file_that_is_not_a_database_is_an_open_error_and_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("notes.txt");
    let junk = b"these are my notes, not a database\n".repeat(200);
    std::fs::write(&path, &junk).unwrap();
    assert_open_error("a text file", common::options(&path));
    assert_eq!(
        std::fs::read(&path).unwrap(),
        junk,
        "the refused file was changed"
    );
}

/// SQLite only: about files.
#[test]
fn an_unusable_path_is_an_open_error() {
    let dir = tempfile::tempdir().unwrap();
    assert_open_error("a directory", common::options(dir.path()));
    assert_open_error(
        "a missing directory",
        common::options(&dir.path().join("missing/ember.db")),
    );
}

/// SQLite only: it sets the file's `user_version`.
#[test]
fn a_database_from_a_newer_ember_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ember.db");
    Engine::open(common::options(&path)).unwrap().close();
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.pragma_update(None, "user_version", SCHEMA_VERSION + 1)
        .unwrap();
    drop(conn);
    match Engine::open(common::options(&path)) {
        Err(Error::SchemaTooNew { found, supported }) => {
            assert_eq!((found, supported), (SCHEMA_VERSION + 1, SCHEMA_VERSION))
        }
        other => panic!("expected SchemaTooNew, got {other:?}"),
    }
}

/// Options come from the host, but even absurd ones get an answer, not a panic.
fn an_absurd_search_delay_does_not_panic() {
    let db = common::open_with(|o| o.search_delay = Duration::MAX);
    let ann = common::member(&db, "ann");
    let room = common::open_room(&db, ann.id, "Lobby");
    common::post(&db, ann.id, room, "indexed some day");
}
common::both_stores!(an_absurd_search_delay_does_not_panic);
