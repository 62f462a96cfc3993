//! Rooms: who belongs to open, closed and direct rooms; unread counts and read positions;
//! history paging; involvement; mentions; the order of the room list.

mod common;

use std::collections::HashSet;

use ember_engine::{Clock, Engine, Error, Involvement, RoomId, RoomKind, RoomSummary, UserId};

fn member_ids(db: &Engine, viewer: UserId, room: RoomId) -> HashSet<UserId> {
    db.members(viewer, room)
        .unwrap()
        .into_iter()
        .map(|m| m.user.id)
        .collect()
}

fn summary(db: &Engine, user: UserId, room: RoomId) -> RoomSummary {
    db.rooms_for(user)
        .unwrap()
        .into_iter()
        .find(|s| s.room.id == room)
        .unwrap_or_else(|| panic!("room {room} is not in the user's list"))
}

fn open_rooms_include_people_created_later_but_not_bots() {
    let db = common::open();
    let ann = common::admin(&db, "ann");
    let lobby = common::open_room(&db, ann.id, "Lobby");
    common::post(&db, ann.id, lobby, "before Bob");
    let bob = common::member(&db, "bob");
    let bot = db.create_bot("helper", "Helper").unwrap();
    assert_eq!(
        member_ids(&db, ann.id, lobby),
        HashSet::from([ann.id, bob.id])
    );
    let joined = summary(&db, bob.id, lobby);
    assert_eq!(
        joined.unread, 0,
        "history from before joining counts as read"
    );
    common::post(&db, bob.id, lobby, "hello, I am new");
    assert!(db.rooms_for(bot.user.id).unwrap().is_empty());
}
common::both_stores!(open_rooms_include_people_created_later_but_not_bots);

fn closed_rooms_hold_only_explicit_members() {
    let db = common::open();
    let ann = common::member(&db, "ann");
    let bob = common::member(&db, "bob");
    let carol = common::member(&db, "carol");
    let room = db
        .create_room(ann.id, RoomKind::Closed, "Plans", &[bob.id])
        .unwrap();
    assert_eq!(room.kind, RoomKind::Closed);
    assert_eq!(
        member_ids(&db, ann.id, room.id),
        HashSet::from([ann.id, bob.id])
    );
    let dave = common::member(&db, "dave");
    assert!(
        !member_ids(&db, ann.id, room.id).contains(&dave.id),
        "a later user joined a closed room"
    );

    match db.add_member(bob.id, room.id, carol.id) {
        Err(Error::Forbidden(_)) => {}
        other => panic!("a plain member added someone: {other:?}"),
    }
    db.add_member(ann.id, room.id, carol.id).unwrap();
    db.add_member(ann.id, room.id, carol.id)
        .expect("adding twice changes nothing");
    assert_eq!(
        member_ids(&db, ann.id, room.id),
        HashSet::from([ann.id, bob.id, carol.id])
    );
    db.remove_member(carol.id, room.id, carol.id)
        .expect("anyone may leave");
    assert_eq!(
        member_ids(&db, ann.id, room.id),
        HashSet::from([ann.id, bob.id])
    );
}
common::both_stores!(closed_rooms_hold_only_explicit_members);

fn a_direct_room_is_one_per_set_of_users() {
    let db = common::open();
    let ann = common::member(&db, "ann");
    let bob = common::member(&db, "bob");
    let carol = common::member(&db, "carol");
    let trio = db.direct_room(ann.id, &[bob.id, carol.id]).unwrap();
    assert_eq!(trio.kind, RoomKind::Direct);
    for (creator, others) in [
        (carol.id, vec![bob.id, ann.id]),
        (bob.id, vec![ann.id, carol.id, ann.id]),
        (ann.id, vec![carol.id, bob.id, ann.id]),
    ] {
        assert_eq!(
            db.direct_room(creator, &others).unwrap().id,
            trio.id,
            "{others:?}"
        );
    }
    let pair = db.direct_room(bob.id, &[ann.id]).unwrap();
    assert_ne!(pair.id, trio.id);
    assert_eq!(db.direct_room(ann.id, &[bob.id]).unwrap().id, pair.id);
    assert_eq!(
        member_ids(&db, ann.id, trio.id),
        HashSet::from([ann.id, bob.id, carol.id])
    );
    assert_eq!(
        member_ids(&db, ann.id, pair.id),
        HashSet::from([ann.id, bob.id])
    );
    match db.add_member(bob.id, pair.id, carol.id) {
        Err(Error::Validation { field: "room", .. }) => {}
        other => panic!("a direct room gained a member: {other:?}"),
    }
    assert_eq!(
        summary(&db, carol.id, trio.id).involvement,
        Involvement::Everything
    );
}
common::both_stores!(a_direct_room_is_one_per_set_of_users);

fn unread_counts_follow_others_posts_and_read_positions() {
    let db = common::open();
    let ann = common::member(&db, "ann");
    let bob = common::member(&db, "bob");
    let room = common::open_room(&db, ann.id, "Lobby");
    for i in 0..3 {
        common::post(&db, bob.id, room, &format!("from Bob {i}"));
    }
    assert_eq!(
        summary(&db, ann.id, room).unread,
        3,
        "others' posts are unread"
    );
    assert_eq!(
        summary(&db, bob.id, room).unread,
        0,
        "own posts are not unread"
    );

    assert_eq!(db.mark_read(ann.id, room, 2).unwrap(), 1);
    assert_eq!(
        (
            summary(&db, ann.id, room).unread,
            summary(&db, ann.id, room).last_read_seq
        ),
        (1, 2)
    );
    assert_eq!(
        db.mark_read(ann.id, room, 1).unwrap(),
        1,
        "the read position moved backwards"
    );
    assert_eq!(summary(&db, ann.id, room).last_read_seq, 2);
    assert_eq!(db.mark_read(ann.id, room, 1000).unwrap(), 0);
    assert_eq!(
        summary(&db, ann.id, room).last_read_seq,
        3,
        "read past the newest message"
    );

    common::post(&db, bob.id, room, "one more");
    assert_eq!(summary(&db, ann.id, room).unread, 1);
    common::post(&db, ann.id, room, "answer");
    assert_eq!(
        summary(&db, ann.id, room).unread,
        0,
        "posting reads the room up to one's post"
    );
    assert_eq!(summary(&db, bob.id, room).unread, 1);
}
common::both_stores!(unread_counts_follow_others_posts_and_read_positions);

fn history_pages_back_through_everything_in_order() {
    let db = common::open();
    let ann = common::member(&db, "ann");
    let room = common::open_room(&db, ann.id, "Lobby");
    let posted: Vec<_> = (1..=250)
        .map(|i| common::post(&db, ann.id, room, &format!("message {i}")))
        .collect();
    let tombstone = db.delete_message(ann.id, posted[99].id).unwrap();

    let seqs = |page: Vec<ember_engine::Message>| page.iter().map(|m| m.seq).collect::<Vec<_>>();
    assert_eq!(
        seqs(db.messages_before(ann.id, room, None, 100).unwrap()),
        (151..=250).collect::<Vec<_>>()
    );
    assert_eq!(
        seqs(db.messages_before(ann.id, room, Some(151), 100).unwrap()),
        (51..=150).collect::<Vec<_>>()
    );
    assert_eq!(
        seqs(db.messages_before(ann.id, room, Some(51), 100).unwrap()),
        (1..=50).collect::<Vec<_>>()
    );
    assert!(
        db.messages_before(ann.id, room, Some(1), 100)
            .unwrap()
            .is_empty()
    );

    let all = common::history_in_pages(&db, ann.id, room, 7);
    let mut expected = posted;
    expected[99] = tombstone;
    assert_eq!(all, expected, "paging back in sevens, tombstone included");
}
common::both_stores!(history_pages_back_through_everything_in_order);

fn messages_around_a_message_are_its_neighbours_in_order() {
    let db = common::open();
    let ann = common::member(&db, "ann");
    let room = common::open_room(&db, ann.id, "Lobby");
    let posted: Vec<_> = (1..=20)
        .map(|i| common::post(&db, ann.id, room, &format!("message {i}")))
        .collect();
    let around = |i: usize, n| -> Vec<u64> {
        db.messages_around(ann.id, posted[i - 1].id, n)
            .unwrap()
            .iter()
            .map(|m| m.seq)
            .collect()
    };
    assert_eq!(around(10, 3), (7..=13).collect::<Vec<_>>());
    assert_eq!(around(1, 3), (1..=4).collect::<Vec<_>>());
    assert_eq!(around(20, 3), (17..=20).collect::<Vec<_>>());
    assert_eq!(around(10, 0), vec![10]);
    assert_eq!(
        db.messages_around(ann.id, posted[4].id, 100).unwrap(),
        posted
    );
}
common::both_stores!(messages_around_a_message_are_its_neighbours_in_order);

fn involvement_is_set_per_member_and_shown_in_the_room_list() {
    let db = common::open();
    let ann = common::member(&db, "ann");
    let bob = common::member(&db, "bob");
    let lobby = common::open_room(&db, ann.id, "Lobby");
    let direct = db.direct_room(ann.id, &[bob.id]).unwrap().id;
    assert_eq!(
        summary(&db, ann.id, lobby).involvement,
        Involvement::Mentions
    );
    assert_eq!(
        summary(&db, ann.id, direct).involvement,
        Involvement::Everything
    );
    for level in [
        Involvement::Invisible,
        Involvement::Nothing,
        Involvement::Everything,
    ] {
        db.set_involvement(ann.id, lobby, level).unwrap();
        assert_eq!(summary(&db, ann.id, lobby).involvement, level);
        let ann_member = db
            .members(bob.id, lobby)
            .unwrap()
            .into_iter()
            .find(|m| m.user.id == ann.id);
        assert_eq!(ann_member.map(|m| m.involvement), Some(level));
    }
    assert_eq!(
        summary(&db, bob.id, lobby).involvement,
        Involvement::Mentions,
        "Bob's changed too"
    );
}
common::both_stores!(involvement_is_set_per_member_and_shown_in_the_room_list);

fn mentions_name_members_of_the_room() {
    let db = common::open();
    let ann = common::member(&db, "ann");
    let bob = common::member(&db, "bob");
    let carol = common::member(&db, "carol");
    let lobby = common::open_room(&db, ann.id, "Lobby");
    let closed = db
        .create_room(ann.id, RoomKind::Closed, "Plans", &[bob.id])
        .unwrap()
        .id;
    assert_eq!(
        common::post(&db, ann.id, lobby, "hello @Bob world").mentions,
        vec![bob.id]
    );
    let both = common::post(&db, ann.id, lobby, "@carol and @BOB, look").mentions;
    assert_eq!(
        both.into_iter().collect::<HashSet<_>>(),
        HashSet::from([bob.id, carol.id])
    );
    assert_eq!(
        common::post(&db, ann.id, closed, "@Bob, not @Carol").mentions,
        vec![bob.id]
    );
    assert!(
        common::post(&db, ann.id, lobby, "mail bob@example.com or @Bobby")
            .mentions
            .is_empty()
    );
    let edited = db
        .edit_message(
            ann.id,
            common::post(&db, ann.id, lobby, "hi").id,
            "hi @carol",
        )
        .unwrap();
    assert_eq!(edited.mentions, vec![carol.id]);
}
common::both_stores!(mentions_name_members_of_the_room);

fn the_room_list_is_most_recently_active_first() {
    let db = common::open_with(|o| o.clock = Clock::manual(1_700_000_000_000));
    let ann = common::member(&db, "ann");
    let rooms: Vec<RoomId> = ["One", "Two", "Three"]
        .iter()
        .map(|name| {
            db.options().clock.advance(1000);
            db.create_room(ann.id, RoomKind::Open, name, &[])
                .unwrap()
                .id
        })
        .collect();
    let order = || {
        db.rooms_for(ann.id)
            .unwrap()
            .into_iter()
            .map(|s| s.room.id)
            .collect::<Vec<_>>()
    };
    assert_eq!(order(), vec![rooms[2], rooms[1], rooms[0]]);
    db.options().clock.advance(1000);
    let m = common::post(&db, ann.id, rooms[0], "wake up");
    assert_eq!(order(), vec![rooms[0], rooms[2], rooms[1]]);
    let listed = summary(&db, ann.id, rooms[0]).room;
    assert_eq!(
        (
            listed.head_seq,
            listed.head_change_seq,
            listed.last_message_at
        ),
        (1, 1, Some(m.created_at))
    );
}
common::both_stores!(the_room_list_is_most_recently_active_first);
