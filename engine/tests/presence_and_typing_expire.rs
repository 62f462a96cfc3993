//! Presence is counted per user, not per connection, and lapses when a client vanishes;
//! typing stops by itself and is throttled. Time is moved with a manual clock.

mod common;

use std::time::Duration;

use common::*;
use ember_engine::{Clock, Event, RoomKind, Subscription};

fn next(sub: &Subscription) -> Event {
    sub.events()
        .recv_timeout(Duration::from_secs(5))
        .expect("an event")
        .event()
        .clone()
}

fn quiet(sub: &Subscription) {
    if let Ok(e) = sub.events().recv_timeout(Duration::from_millis(100)) {
        panic!("expected no event, got {:?}", e.event());
    }
}

fn presence_is_per_user_and_lapses_without_heartbeats() {
    let clock = Clock::manual(1_000_000);
    let db = open_with(|o| o.clock = clock.clone());
    let ann = member(&db, "ann");
    let bob = member(&db, "bob");
    let room = db
        .create_room(ann.id, RoomKind::Open, "Lobby", &[])
        .unwrap();
    let watch = db.subscribe(ann.id, room.id, None).unwrap();

    let tab1 = db.presence_connect(bob.id, room.id).unwrap();
    assert_eq!(
        next(&watch),
        Event::Presence {
            room_id: room.id,
            user_id: bob.id,
            online: true
        }
    );
    let tab2 = db.presence_connect(bob.id, room.id).unwrap();
    quiet(&watch);
    assert_eq!(db.online_members(ann.id, room.id).unwrap(), vec![bob.id]);

    db.presence_disconnect(&tab1);
    quiet(&watch);
    // tab2 vanishes without closing: after the TTL it lapses.
    clock.advance(59_000);
    db.run_timers();
    quiet(&watch);
    clock.advance(1_000);
    db.run_timers();
    assert_eq!(
        next(&watch),
        Event::Presence {
            room_id: room.id,
            user_id: bob.id,
            online: false
        }
    );
    assert!(db.online_members(ann.id, room.id).unwrap().is_empty());
    assert!(
        db.presence_heartbeat(&tab2).is_err(),
        "a lapsed connection must reconnect"
    );

    let tab3 = db.presence_connect(bob.id, room.id).unwrap();
    assert!(matches!(next(&watch), Event::Presence { online: true, .. }));
    clock.advance(50_000);
    db.presence_heartbeat(&tab3).unwrap();
    clock.advance(50_000);
    db.run_timers();
    quiet(&watch);
    assert_eq!(db.online_members(ann.id, room.id).unwrap(), vec![bob.id]);
}
common::both_stores!(presence_is_per_user_and_lapses_without_heartbeats);

fn typing_stops_by_itself_and_is_throttled() {
    let clock = Clock::manual(1_000_000);
    let db = open_with(|o| o.clock = clock.clone());
    let ann = member(&db, "ann");
    let bob = member(&db, "bob");
    let room = db
        .create_room(ann.id, RoomKind::Open, "Lobby", &[])
        .unwrap();
    let watch = db.subscribe(ann.id, room.id, None).unwrap();
    let typing = |active| Event::Typing {
        room_id: room.id,
        user_id: bob.id,
        active,
    };

    db.typing(bob.id, room.id, true).unwrap();
    assert_eq!(next(&watch), typing(true));
    clock.advance(300);
    db.typing(bob.id, room.id, true).unwrap();
    db.typing(bob.id, room.id, false).unwrap();
    quiet(&watch); // within a second of the last event: held back
    clock.advance(700);
    db.run_timers();
    assert_eq!(next(&watch), typing(false));

    clock.advance(2_000);
    db.typing(bob.id, room.id, true).unwrap();
    assert_eq!(next(&watch), typing(true));
    clock.advance(4_999);
    db.run_timers();
    quiet(&watch);
    clock.advance(1);
    db.run_timers();
    assert_eq!(
        next(&watch),
        typing(false),
        "auto-stop after 5 s without refresh"
    );
}
common::both_stores!(typing_stops_by_itself_and_is_throttled);

fn only_members_show_presence_or_typing() {
    let db = open();
    let ann = member(&db, "ann");
    let eve = member(&db, "eve");
    let room = db
        .create_room(ann.id, RoomKind::Closed, "Secret", &[])
        .unwrap();
    assert!(db.presence_connect(eve.id, room.id).is_err());
    assert!(db.typing(eve.id, room.id, true).is_err());
    assert!(db.online_members(eve.id, room.id).is_err());
}
common::both_stores!(only_members_show_presence_or_typing);
