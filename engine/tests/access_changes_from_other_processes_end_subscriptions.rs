//! Access taken away by another engine on the same database file (a second `Engine` in
//! this process, or another process such as the command line) reaches this engine's live
//! subscriptions within a second: deactivation and member removal end them with
//! `Revoked`, and ended sessions reach the user subscription as `SessionsRevoked`.

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::*;
use ember_engine::{Engine, Events, RecvTimeoutError, RoomKind, UserEvent, UserId};

/// The bound the issue sets: one second from the other engine's acknowledgement.
const WITHIN: Duration = Duration::from_secs(1);

/// A second engine on the same file, as the command line would open it.
fn second(db: &TestDb) -> Engine {
    Engine::open(options(db.path())).expect("open a second engine on the same file")
}

/// What the stream yields next within [`WITHIN`] of `since`: an item or why it ended.
fn within<T>(events: &Events<T>, since: Instant) -> Result<T, RecvTimeoutError> {
    let left = WITHIN.saturating_sub(since.elapsed());
    events.recv_timeout(left)
}

#[test]
fn deactivation_by_another_engine_ends_room_and_user_subscriptions() {
    let db = open();
    let ann = admin(&db, "ann");
    let bob = member(&db, "bob");
    let room = open_room(&db, ann.id, "Lobby");
    let room_sub = db.subscribe(bob.id, room, None).unwrap();
    let user_sub = db.subscribe_user(bob.id).unwrap();
    let anns = db.subscribe(ann.id, room, None).unwrap();

    let other = second(&db);
    other.deactivate_user(bob.id).unwrap();
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

#[test]
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

    let other = second(&db);
    other.remove_member(ann.id, room, bob.id).unwrap();
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

#[test]
fn one_revoked_session_is_announced_to_the_user_subscription() {
    let db = open();
    let bob = member(&db, "bob");
    let kept = db.login("bob", PASSWORD).unwrap();
    let gone = db.login("bob", PASSWORD).unwrap();
    let feed = db.subscribe_user(bob.id).unwrap();

    let other = second(&db);
    other.revoke_session(&gone.token).unwrap();
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

#[test]
fn revoking_all_sessions_is_announced_to_the_user_subscription() {
    let db = open();
    let bob = member(&db, "bob");
    let first = db.login("bob", PASSWORD).unwrap();
    let feed = db.subscribe_user(bob.id).unwrap();

    let other = second(&db);
    assert_eq!(other.revoke_all_sessions(bob.id).unwrap(), 1);
    let at = Instant::now();
    assert_eq!(
        within(feed.events(), at).ok(),
        Some(UserEvent::SessionsRevoked)
    );
    assert!(db.authenticate(&first.token).is_err());
}

#[test]
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

#[test]
fn a_removal_undone_before_it_was_read_ends_nothing() {
    let db = open();
    let ann = admin(&db, "ann");
    let bob = member(&db, "bob");
    let room = db
        .create_room(ann.id, RoomKind::Closed, "Team", &[bob.id])
        .unwrap()
        .id;
    let other = second(&db);
    // Nobody is subscribed here, so nothing polls while bob leaves and comes back.
    other.remove_member(ann.id, room, bob.id).unwrap();
    other.add_member(ann.id, room, bob.id).unwrap();
    let bobs = db.subscribe(bob.id, room, None).unwrap();
    // The first polls read the removal; bob is a member again, so it is not acted on.
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(
        bobs.events().try_recv().err(),
        Some(ember_engine::TryRecvError::Empty)
    );
}

/// Set in the child process started by the test below: the database and the user.
const CHILD_DB: &str = "EMBER_TEST_CHILD_DB";
const CHILD_USER: &str = "EMBER_TEST_CHILD_USER";

/// Not a test of its own: the body of the child process (does nothing when run normally).
#[test]
fn child_process_deactivates_a_user() {
    let (Ok(path), Ok(user)) = (std::env::var(CHILD_DB), std::env::var(CHILD_USER)) else {
        return;
    };
    let user: UserId = user.parse().expect("a user id");
    let engine = Engine::open(options(std::path::Path::new(&path))).expect("open in the child");
    engine
        .deactivate_user(user)
        .expect("deactivate in the child");
    engine.close();
}

#[test]
fn deactivation_by_another_process_ends_subscriptions() {
    let db = open();
    let ann = admin(&db, "ann");
    let bob = member(&db, "bob");
    let room = open_room(&db, ann.id, "Lobby");
    let room_sub = db.subscribe(bob.id, room, None).unwrap();
    let user_sub = db.subscribe_user(bob.id).unwrap();

    let exe = std::env::current_exe().expect("the test binary");
    let mut child = Command::new(exe)
        .args([
            "--exact",
            "child_process_deactivates_a_user",
            "--test-threads=1",
        ])
        .env(CHILD_DB, db.path())
        .env(CHILD_USER, bob.id.to_string())
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
    assert!(status.success(), "the child failed: {status}");
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
