//! Membership changes end subscriptions, user subscriptions follow the room list, and the
//! notification stream names whom to notify.

mod common;

use std::time::Duration;

use common::*;
use ember_engine::{
    ClientMessageId, Clock, Error, Event, Events, Involvement, NewPost, Notification, RateLimit,
    RecvError, RecvTimeoutError, RoomKind, SharedEvent, UserEvent,
};

fn next(events: &Events<SharedEvent>) -> Event {
    events
        .recv_timeout(Duration::from_secs(5))
        .expect("an event")
        .event()
        .clone()
}

fn next_item<T>(events: &Events<T>) -> T {
    events
        .recv_timeout(Duration::from_secs(5))
        .expect("an event")
}

/// The reason the stream ended, waiting up to 5 s for it.
fn end_of<T: std::fmt::Debug>(events: &Events<T>) -> RecvTimeoutError {
    events
        .recv_timeout(Duration::from_secs(5))
        .expect_err("the stream ends")
}

fn removing_a_member_revokes_their_subscription() {
    let db = open();
    let ann = admin(&db, "ann");
    let bob = member(&db, "bob");
    let room = db
        .create_room(ann.id, RoomKind::Closed, "Team", &[bob.id])
        .unwrap();
    let bobs = db.subscribe(bob.id, room.id, None).unwrap();
    let anns = db.subscribe(ann.id, room.id, None).unwrap();
    db.remove_member(ann.id, room.id, bob.id).unwrap();
    assert_eq!(end_of(bobs.events()), RecvTimeoutError::Revoked);
    assert_eq!(
        bobs.events().recv().err(),
        Some(RecvError::Revoked),
        "stays ended with Revoked"
    );
    assert_eq!(
        next(anns.events()),
        Event::MembershipChanged {
            room_id: room.id,
            user_id: bob.id,
            joined: false
        }
    );
    post(&db, ann.id, room.id, "after bob left");
    assert!(matches!(next(anns.events()), Event::MessageCreated(_)));
}
common::both_stores!(removing_a_member_revokes_their_subscription);

fn deactivation_revokes_everything() {
    let db = open();
    let ann = admin(&db, "ann");
    let bob = member(&db, "bob");
    let room = db
        .create_room(ann.id, RoomKind::Open, "Lobby", &[])
        .unwrap();
    let room_sub = db.subscribe(bob.id, room.id, None).unwrap();
    let user_sub = db.subscribe_user(bob.id).unwrap();
    db.deactivate_user(bob.id).unwrap();
    assert_eq!(end_of(room_sub.events()), RecvTimeoutError::Revoked);
    assert_eq!(end_of(user_sub.events()), RecvTimeoutError::Revoked);
    assert!(matches!(
        db.subscribe(bob.id, room.id, None),
        Err(Error::Forbidden(_))
    ));
}
common::both_stores!(deactivation_revokes_everything);

fn user_subscriptions_follow_rooms_and_unread_counts() {
    let db = open();
    let ann = admin(&db, "ann");
    let bob = member(&db, "bob");
    let lobby = db
        .create_room(ann.id, RoomKind::Open, "Lobby", &[])
        .unwrap();
    let feed = db.subscribe_user(bob.id).unwrap();

    post(&db, ann.id, lobby.id, "one");
    post(&db, ann.id, lobby.id, "two");
    assert_eq!(
        next_item(feed.events()),
        UserEvent::Unread {
            room_id: lobby.id,
            unread: 1,
            head_seq: 1
        }
    );
    assert_eq!(
        next_item(feed.events()),
        UserEvent::Unread {
            room_id: lobby.id,
            unread: 2,
            head_seq: 2
        }
    );
    db.mark_read(bob.id, lobby.id, 1).unwrap();
    assert_eq!(
        next_item(feed.events()),
        UserEvent::Unread {
            room_id: lobby.id,
            unread: 1,
            head_seq: 2
        }
    );
    post(&db, bob.id, lobby.id, "mine");
    assert_eq!(
        next_item(feed.events()),
        UserEvent::Unread {
            room_id: lobby.id,
            unread: 0,
            head_seq: 3
        },
        "own posts are read"
    );

    let direct = db.direct_room(ann.id, &[bob.id]).unwrap();
    match next_item(feed.events()) {
        UserEvent::RoomJoined(summary) => {
            assert_eq!(summary.room.id, direct.id);
            assert_eq!(summary.involvement, Involvement::Everything);
        }
        other => panic!("expected RoomJoined, got {other:?}"),
    }
    db.set_involvement(bob.id, lobby.id, Involvement::Invisible)
        .unwrap();
    assert_eq!(
        next_item(feed.events()),
        UserEvent::InvolvementChanged {
            room_id: lobby.id,
            involvement: Involvement::Invisible
        }
    );
    let team = db
        .create_room(ann.id, RoomKind::Closed, "Team", &[bob.id])
        .unwrap();
    assert!(matches!(next_item(feed.events()), UserEvent::RoomJoined(s) if s.room.id == team.id));
    db.remove_member(ann.id, team.id, bob.id).unwrap();
    assert_eq!(
        next_item(feed.events()),
        UserEvent::RoomLeft { room_id: team.id }
    );
}
common::both_stores!(user_subscriptions_follow_rooms_and_unread_counts);

fn notifications_name_involved_absent_members_only() {
    let db = open();
    let ann = admin(&db, "ann");
    let bob = member(&db, "bob");
    let cat = member(&db, "cat");
    let dan = member(&db, "dan");
    let room = db
        .create_room(ann.id, RoomKind::Open, "Lobby", &[])
        .unwrap();
    db.set_involvement(dan.id, room.id, Involvement::Everything)
        .unwrap();
    db.set_involvement(cat.id, room.id, Involvement::Nothing)
        .unwrap();
    let stream = db.subscribe_notifications().unwrap();

    // bob is mentioned (involvement mentions), cat is mentioned but wants nothing,
    // dan wants everything, ann is the author.
    let m = post(&db, ann.id, room.id, "hey @Bob and @Cat");
    let Notification { message, mut users } = next_item(stream.events());
    users.sort();
    let mut want = vec![bob.id, dan.id];
    want.sort();
    assert_eq!((message.id, users), (m.id, want));
    // Present members are not notified.
    let _here = db.presence_connect(dan.id, room.id).unwrap();
    post(&db, ann.id, room.id, "@Bob again");
    assert_eq!(next_item(stream.events()).users, vec![bob.id]);
}
common::both_stores!(notifications_name_involved_absent_members_only);

fn posting_is_rate_limited_but_retries_are_free() {
    let clock = Clock::manual(0);
    let db = open_with(|o| {
        o.post_rate = RateLimit::new(1.0, 3);
        o.clock = clock.clone();
    });
    let ann = member(&db, "ann");
    let room = db
        .create_room(ann.id, RoomKind::Open, "Lobby", &[])
        .unwrap();
    let first = NewPost {
        user: ann.id,
        room: room.id,
        client_message_id: ClientMessageId::new_v7(),
        content: "hi".into(),
    };
    db.post(first.clone()).unwrap();
    post(&db, ann.id, room.id, "two");
    post(&db, ann.id, room.id, "three");
    match db.post(new_post(ann.id, room.id, "four")) {
        Err(Error::RateLimited { retry_after }) => assert_eq!(retry_after, Duration::from_secs(1)),
        other => panic!("expected RateLimited, got {other:?}"),
    }
    // A retry of an acknowledged post is answered from the store and costs nothing.
    for _ in 0..5 {
        assert!(db.post(first.clone()).unwrap().duplicate);
    }
    assert_eq!(history(&db, ann.id, room.id).len(), 3);
    clock.advance(1_000);
    post(&db, ann.id, room.id, "a token came back");
}
common::both_stores!(posting_is_rate_limited_but_retries_are_free);
