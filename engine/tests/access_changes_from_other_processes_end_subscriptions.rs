//! Access taken away by another engine on the same database file (another process such as
//! the command line; a second engine on the same file in this process is refused) reaches
//! this engine's live subscriptions within a second: deactivation and member removal end
//! them with `Revoked`, and ended sessions reach the user subscription as `SessionsRevoked`.
//! The other engine runs in a child process: this test binary started again with
//! [`CHILD_DB`] and [`CHILD_ACTION`] set.

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::*;
use ember_engine::{Engine, Events, RecvTimeoutError, RoomKind, UserEvent, UserId};

/// The bound the issue sets: one second from the other engine's acknowledgement.
const WITHIN: Duration = Duration::from_secs(1);

/// Runs `action` (see [`child_process_runs_an_action`]) through a second engine on the
/// same file, in a child process, as the command line would; returns once it finished.
fn in_another_process(db: &TestDb, action: &[&str]) {
    let exe = std::env::current_exe().expect("the test binary");
    let mut child = Command::new(exe)
        .args([
            "--exact",
            "child_process_runs_an_action",
            "--test-threads=1",
        ])
        .env(CHILD_DB, db.path())
        .env(CHILD_ACTION, action.join(" "))
        // Its test harness summary would be counted with ours; failures still show.
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("start the child process");
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for the child") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the child process did not finish in 30 s");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    assert!(status.success(), "the child failed on {action:?}: {status}");
}

/// Set in the child process: the database and what to do there.
const CHILD_DB: &str = "EMBER_TEST_CHILD_DB";
const CHILD_ACTION: &str = "EMBER_TEST_CHILD_ACTION";

/// Not a test of its own: the body of the child process (does nothing when run normally).
/// Each step of the action is a word and its arguments; steps are separated by `;`.
/// The database is a file or a `postgres://` URL, whichever the parent test's store is.
#[test]
fn child_process_runs_an_action() {
    let (Ok(path), Ok(action)) = (std::env::var(CHILD_DB), std::env::var(CHILD_ACTION)) else {
        return;
    };
    let engine = Engine::open(options(std::path::Path::new(&path))).expect("open in the child");
    let id = |s: &str| s.parse::<UserId>().expect("a user id");
    let room = |s: &str| s.parse::<ember_engine::RoomId>().expect("a room id");
    for step in action.split(';') {
        let words: Vec<&str> = step.split_whitespace().collect();
        match words.as_slice() {
            ["deactivate", user] => engine.deactivate_user(id(user)).map(drop),
            ["remove", admin, r, user] => engine.remove_member(id(admin), room(r), id(user)),
            ["add", admin, r, user] => engine.add_member(id(admin), room(r), id(user)),
            ["revoke_session", token] => engine.revoke_session(token),
            ["revoke_all", user, want] => engine
                .revoke_all_sessions(id(user))
                .map(|n| assert_eq!(n.to_string(), *want, "sessions revoked")),
            other => panic!("unknown step {other:?}"),
        }
        .unwrap_or_else(|e| panic!("{step} in the child: {e}"));
    }
    engine.close();
}

/// What the stream yields next within [`WITHIN`] of `since`: an item or why it ended.
fn within<T>(events: &Events<T>, since: Instant) -> Result<T, RecvTimeoutError> {
    let left = WITHIN.saturating_sub(since.elapsed());
    events.recv_timeout(left)
}

fn deactivation_by_another_engine_ends_room_and_user_subscriptions() {
    let db = open();
    let ann = admin(&db, "ann");
    let bob = member(&db, "bob");
    let room = open_room(&db, ann.id, "Lobby");
    let room_sub = db.subscribe(bob.id, room, None).unwrap();
    let user_sub = db.subscribe_user(bob.id).unwrap();
    let anns = db.subscribe(ann.id, room, None).unwrap();

    in_another_process(&db, &["deactivate", &bob.id.to_string()]);
    let at = Instant::now();
    assert_eq!(
        within(room_sub.events(), at).err(),
        Some(RecvTimeoutError::Revoked)
    );
    assert_eq!(
        within(user_sub.events(), at).err(),
        Some(RecvTimeoutError::Revoked)
    );
    assert_eq!(
        anns.events().try_recv().err(),
        Some(ember_engine::TryRecvError::Empty),
        "others' subscriptions go on"
    );
}
common::both_stores!(deactivation_by_another_engine_ends_room_and_user_subscriptions);

fn member_removal_by_another_engine_ends_the_room_subscription() {
    let db = open();
    let ann = admin(&db, "ann");
    let bob = member(&db, "bob");
    let room = db
        .create_room(ann.id, RoomKind::Closed, "Team", &[bob.id])
        .unwrap()
        .id;
    let bobs = db.subscribe(bob.id, room, None).unwrap();
    let feed = db.subscribe_user(bob.id).unwrap();

    let (ann_id, room_id, bob_id) = (ann.id.to_string(), room.to_string(), bob.id.to_string());
    in_another_process(&db, &["remove", &ann_id, &room_id, &bob_id]);
    let at = Instant::now();
    assert_eq!(
        within(bobs.events(), at).err(),
        Some(RecvTimeoutError::Revoked)
    );
    assert_eq!(
        within(feed.events(), at).ok(),
        Some(UserEvent::RoomLeft { room_id: room })
    );
}
common::both_stores!(member_removal_by_another_engine_ends_the_room_subscription);

fn one_revoked_session_is_announced_to_the_user_subscription() {
    let db = open();
    let bob = member(&db, "bob");
    let kept = db.login("bob", PASSWORD).unwrap();
    let gone = db.login("bob", PASSWORD).unwrap();
    let feed = db.subscribe_user(bob.id).unwrap();

    in_another_process(&db, &["revoke_session", &gone.token]);
    let at = Instant::now();
    assert_eq!(
        within(feed.events(), at).ok(),
        Some(UserEvent::SessionsRevoked)
    );
    assert!(
        db.authenticate(&gone.token).is_err(),
        "the revoked token is refused"
    );
    assert!(
        db.authenticate(&kept.token).is_ok(),
        "the other session lives"
    );
}
common::both_stores!(one_revoked_session_is_announced_to_the_user_subscription);

fn revoking_all_sessions_is_announced_to_the_user_subscription() {
    let db = open();
    let bob = member(&db, "bob");
    let first = db.login("bob", PASSWORD).unwrap();
    let feed = db.subscribe_user(bob.id).unwrap();

    in_another_process(&db, &["revoke_all", &bob.id.to_string(), "1"]);
    let at = Instant::now();
    assert_eq!(
        within(feed.events(), at).ok(),
        Some(UserEvent::SessionsRevoked)
    );
    assert!(db.authenticate(&first.token).is_err());
}
common::both_stores!(revoking_all_sessions_is_announced_to_the_user_subscription);

fn own_changes_are_announced_once() {
    let db = open();
    let bob = member(&db, "bob");
    let session = db.login("bob", PASSWORD).unwrap();
    let feed = db.subscribe_user(bob.id).unwrap();
    db.revoke_session(&session.token).unwrap();
    assert_eq!(
        feed.events().recv_timeout(Duration::from_secs(5)).ok(),
        Some(UserEvent::SessionsRevoked)
    );
    // Several polls later the access log row of our own writer was not taken for news.
    std::thread::sleep(Duration::from_millis(400));
    assert_eq!(
        feed.events().try_recv().err(),
        Some(ember_engine::TryRecvError::Empty)
    );
}
common::both_stores!(own_changes_are_announced_once);

fn a_removal_undone_before_it_was_read_ends_nothing() {
    let db = open();
    let ann = admin(&db, "ann");
    let bob = member(&db, "bob");
    let room = db
        .create_room(ann.id, RoomKind::Closed, "Team", &[bob.id])
        .unwrap()
        .id;
    // Nobody is subscribed here, so nothing polls while bob leaves and comes back.
    let (ann_id, room_id, bob_id) = (ann.id.to_string(), room.to_string(), bob.id.to_string());
    in_another_process(
        &db,
        &[
            "remove", &ann_id, &room_id, &bob_id, ";add", &ann_id, &room_id, &bob_id,
        ],
    );
    let bobs = db.subscribe(bob.id, room, None).unwrap();
    // The first polls read the removal; bob is a member again, so it is not acted on.
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(
        bobs.events().try_recv().err(),
        Some(ember_engine::TryRecvError::Empty)
    );
}
common::both_stores!(a_removal_undone_before_it_was_read_ends_nothing);

fn deactivation_by_another_process_ends_subscriptions() {
    let db = open();
    let ann = admin(&db, "ann");
    let bob = member(&db, "bob");
    let room = open_room(&db, ann.id, "Lobby");
    let room_sub = db.subscribe(bob.id, room, None).unwrap();
    let user_sub = db.subscribe_user(bob.id).unwrap();

    in_another_process(&db, &["deactivate", &bob.id.to_string()]);
    let at = Instant::now();
    assert_eq!(
        within(room_sub.events(), at).err(),
        Some(RecvTimeoutError::Revoked)
    );
    assert_eq!(
        within(user_sub.events(), at).err(),
        Some(RecvTimeoutError::Revoked)
    );
}
common::both_stores!(deactivation_by_another_process_ends_subscriptions);
