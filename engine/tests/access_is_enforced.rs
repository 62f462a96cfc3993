//! Who may do what: outsiders see nothing of a room, deactivated users can do nothing,
//! bots stay in their rooms, and only authors and admins change messages.

mod common;

use ember_engine::{Error, Message, Room, RoomKind, User};

/// Ann (admin) and Bob share a closed room holding one message; Carol is outside it.
struct Closed {
    db: common::TestDb,
    ann: User,
    bob: User,
    carol: User,
    room: Room,
    message: Message,
}

fn closed_room() -> Closed {
    let db = common::open();
    let ann = common::admin(&db, "ann");
    let bob = common::member(&db, "bob");
    let carol = common::member(&db, "carol");
    let room = db
        .create_room(ann.id, RoomKind::Closed, "Plans", &[bob.id])
        .unwrap();
    let message = common::post(&db, bob.id, room.id, "the secret plan");
    Closed {
        db,
        ann,
        bob,
        carol,
        room,
        message,
    }
}

fn assert_forbidden<T: std::fmt::Debug>(what: &str, result: ember_engine::Result<T>) {
    match result {
        Err(Error::Forbidden(_)) => {}
        other => panic!("{what}: expected Forbidden, got {other:?}"),
    }
}

fn members_read_a_closed_room() {
    let Closed {
        db,
        bob,
        room,
        message,
        ..
    } = closed_room();
    assert_eq!(
        db.messages_before(bob.id, room.id, None, 10).unwrap(),
        vec![message.clone()]
    );
    assert_eq!(
        db.messages_around(bob.id, message.id, 5).unwrap(),
        vec![message.clone()]
    );
    assert_eq!(
        db.changes_since(bob.id, room.id, 0, 10).unwrap().messages,
        vec![message.clone()]
    );
    assert_eq!(db.message(bob.id, message.id).unwrap(), message);
    assert_eq!(db.members(bob.id, room.id).unwrap().len(), 2);
    assert_eq!(db.room(bob.id, room.id).unwrap().head_seq, 1);
}
common::both_stores!(members_read_a_closed_room);

fn outsiders_cannot_read_a_closed_room() {
    let Closed {
        db,
        carol,
        room,
        message,
        ..
    } = closed_room();
    assert_forbidden(
        "messages_before",
        db.messages_before(carol.id, room.id, None, 10),
    );
    assert_forbidden(
        "messages_around",
        db.messages_around(carol.id, message.id, 5),
    );
    assert_forbidden("changes_since", db.changes_since(carol.id, room.id, 0, 10));
    assert_forbidden("message", db.message(carol.id, message.id));
    assert_forbidden("members", db.members(carol.id, room.id));
    assert_forbidden("room", db.room(carol.id, room.id));
    assert_forbidden(
        "set_involvement",
        db.set_involvement(carol.id, room.id, ember_engine::Involvement::Nothing),
    );
    assert_forbidden("mark_read", db.mark_read(carol.id, room.id, 1));
    let listed = db.rooms_for(carol.id).unwrap();
    assert!(
        listed.iter().all(|r| r.room.id != room.id),
        "the room is in Carol's list"
    );
}
common::both_stores!(outsiders_cannot_read_a_closed_room);

fn outsiders_cannot_post_into_a_closed_room() {
    let Closed {
        db,
        ann,
        carol,
        room,
        ..
    } = closed_room();
    assert_forbidden(
        "post",
        db.post(common::new_post(carol.id, room.id, "let me in")),
    );
    assert_eq!(
        db.room(ann.id, room.id).unwrap().head_seq,
        1,
        "the refused post was written"
    );
}
common::both_stores!(outsiders_cannot_post_into_a_closed_room);

fn search_never_shows_a_closed_room_to_outsiders() {
    let Closed {
        db,
        bob,
        carol,
        message,
        ..
    } = closed_room();
    // Wait until a member finds it, so Carol's empty result is not just the indexing delay.
    common::eventually("Bob finds the message", || {
        common::search_ids(&db, bob.id, "secret") == vec![message.id]
    });
    assert!(common::search_ids(&db, carol.id, "secret").is_empty());
}
common::both_stores!(search_never_shows_a_closed_room_to_outsiders);

fn a_removed_member_loses_access() {
    let Closed {
        db,
        ann,
        bob,
        room,
        message,
        ..
    } = closed_room();
    db.remove_member(ann.id, room.id, bob.id).unwrap();
    assert_forbidden(
        "messages_before",
        db.messages_before(bob.id, room.id, None, 10),
    );
    assert_forbidden("message", db.message(bob.id, message.id));
    assert_forbidden(
        "post",
        db.post(common::new_post(bob.id, room.id, "still here?")),
    );
    assert_forbidden(
        "edit own message",
        db.edit_message(bob.id, message.id, "changed"),
    );
}
common::both_stores!(a_removed_member_loses_access);

fn outsiders_cannot_read_a_direct_room() {
    let Closed {
        db,
        ann,
        bob,
        carol,
        ..
    } = closed_room();
    let direct = db.direct_room(ann.id, &[bob.id]).unwrap();
    let whisper = common::post(&db, ann.id, direct.id, "just between us");
    assert_forbidden(
        "messages_before",
        db.messages_before(carol.id, direct.id, None, 10),
    );
    assert_forbidden("message", db.message(carol.id, whisper.id));
    assert_forbidden(
        "post",
        db.post(common::new_post(carol.id, direct.id, "hi both")),
    );
    assert_eq!(db.message(bob.id, whisper.id).unwrap(), whisper);
}
common::both_stores!(outsiders_cannot_read_a_direct_room);

fn deactivated_users_are_refused() {
    let Closed {
        db,
        ann,
        bob,
        room,
        message,
        ..
    } = closed_room();
    db.deactivate_user(bob.id).unwrap();
    assert!(!db.user(bob.id).unwrap().active);
    assert_forbidden(
        "post",
        db.post(common::new_post(bob.id, room.id, "one more")),
    );
    assert_forbidden(
        "messages_before",
        db.messages_before(bob.id, room.id, None, 10),
    );
    assert_forbidden("changes_since", db.changes_since(bob.id, room.id, 0, 10));
    assert_forbidden("message", db.message(bob.id, message.id));
    assert_forbidden("search", db.search(bob.id, "secret", 10));
    assert_forbidden("rooms_for", db.rooms_for(bob.id));
    assert_forbidden("edit", db.edit_message(bob.id, message.id, "changed"));
    assert_forbidden(
        "create_room",
        db.create_room(bob.id, RoomKind::Open, "Mine", &[]),
    );
    assert_forbidden("direct_room", db.direct_room(bob.id, &[ann.id]));
    assert_forbidden("login", db.login("bob", common::PASSWORD));
    assert_eq!(db.room(ann.id, room.id).unwrap().head_seq, 1);
}
common::both_stores!(deactivated_users_are_refused);

fn bots_are_confined_to_their_rooms() {
    let db = common::open();
    let ann = common::admin(&db, "ann");
    let lobby = db
        .create_room(ann.id, RoomKind::Open, "Lobby", &[])
        .unwrap();
    let bot = db.create_bot("helper", "Helper").unwrap();
    let later = db
        .create_room(ann.id, RoomKind::Open, "Later", &[])
        .unwrap();

    assert!(
        db.rooms_for(bot.user.id).unwrap().is_empty(),
        "a new bot is in no room"
    );
    for room in [&lobby, &later] {
        let members = db.members(ann.id, room.id).unwrap();
        assert!(
            members.iter().all(|m| m.user.id != bot.user.id),
            "bot joined {}",
            room.name
        );
        assert_forbidden(
            "bot posts",
            db.post(common::new_post(bot.user.id, room.id, "beep")),
        );
    }
    assert_forbidden(
        "bot creates a room",
        db.create_room(bot.user.id, RoomKind::Open, "Bots", &[]),
    );

    db.add_member(ann.id, lobby.id, bot.user.id).unwrap();
    common::post(&db, bot.user.id, lobby.id, "beep");
    assert_forbidden(
        "bot posts elsewhere",
        db.post(common::new_post(bot.user.id, later.id, "beep")),
    );
    let rooms: Vec<_> = db
        .rooms_for(bot.user.id)
        .unwrap()
        .into_iter()
        .map(|r| r.room.id)
        .collect();
    assert_eq!(rooms, vec![lobby.id]);
}
common::both_stores!(bots_are_confined_to_their_rooms);

fn bots_authenticate_with_their_key_only() {
    let db = common::open();
    let bot = db.create_bot("helper", "Helper").unwrap();
    assert_eq!(db.authenticate_bot(&bot.key).unwrap().id, bot.user.id);
    let mut wrong = bot.key.clone();
    wrong.replace_range(..1, if wrong.starts_with('0') { "1" } else { "0" });
    for key in [wrong.as_str(), "", "not a key"] {
        match db.authenticate_bot(key) {
            Err(Error::Unauthenticated(_)) => {}
            other => panic!("key {key:?} gave {other:?}"),
        }
    }
    match db.login("helper", &bot.key) {
        Err(Error::Unauthenticated(_)) => {}
        other => panic!("a bot logged in with a password: {other:?}"),
    }
    db.deactivate_user(bot.user.id).unwrap();
    match db.authenticate_bot(&bot.key) {
        Err(Error::Unauthenticated(_)) => {}
        other => panic!("a deactivated bot authenticated: {other:?}"),
    }
}
common::both_stores!(bots_authenticate_with_their_key_only);

fn only_the_author_or_an_admin_changes_a_message() {
    let db = common::open();
    let ann = common::admin(&db, "ann");
    let bob = common::member(&db, "bob");
    let carol = common::member(&db, "carol");
    let lobby = db
        .create_room(ann.id, RoomKind::Open, "Lobby", &[])
        .unwrap();
    let message = common::post(&db, bob.id, lobby.id, "original");

    assert_forbidden(
        "edit by another member",
        db.edit_message(carol.id, message.id, "vandalised"),
    );
    assert_forbidden(
        "delete by another member",
        db.delete_message(carol.id, message.id),
    );
    assert_eq!(
        db.message(carol.id, message.id).unwrap(),
        message,
        "a refused change was written"
    );

    assert_eq!(
        db.edit_message(bob.id, message.id, "by the author")
            .unwrap()
            .content,
        "by the author"
    );
    assert_eq!(
        db.edit_message(ann.id, message.id, "by an admin")
            .unwrap()
            .content,
        "by an admin"
    );
    assert!(db.delete_message(ann.id, message.id).unwrap().deleted);

    let own = common::post(&db, carol.id, lobby.id, "mine");
    assert!(db.delete_message(carol.id, own.id).unwrap().deleted);
}
common::both_stores!(only_the_author_or_an_admin_changes_a_message);

fn bot_webhooks_are_stored_for_bots_only() {
    let db = common::open();
    let ann = common::admin(&db, "ann");
    let bot = db.create_bot("helper", "Helper").unwrap();
    assert_eq!(db.bot_webhook(bot.user.id).unwrap(), None);
    db.set_bot_webhook(bot.user.id, Some("https://example.invalid/hook"))
        .unwrap();
    assert_eq!(
        db.bot_webhook(bot.user.id).unwrap().as_deref(),
        Some("https://example.invalid/hook")
    );
    db.set_bot_webhook(bot.user.id, None).unwrap();
    assert_eq!(db.bot_webhook(bot.user.id).unwrap(), None);
    for bad in ["ftp://x", "https://a b", "javascript:alert(1)"] {
        assert!(matches!(
            db.set_bot_webhook(bot.user.id, Some(bad)),
            Err(ember_engine::Error::Validation {
                field: "webhook",
                ..
            })
        ));
    }
    assert!(matches!(
        db.set_bot_webhook(ann.id, Some("https://x")),
        Err(ember_engine::Error::NotFound(_))
    ));
    assert!(matches!(
        db.bot_webhook(ann.id),
        Err(ember_engine::Error::NotFound(_))
    ));
}
common::both_stores!(bot_webhooks_are_stored_for_bots_only);
