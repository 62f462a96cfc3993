//! The calls that the C hosts do not exercise work over the C ABI too: sessions, bots,
//! deactivation, memberships, involvement, direct rooms, edits and deletes, the changes
//! feed, history, search, user subscriptions and typing.

use std::ptr::null_mut;
use std::time::{Duration, Instant};

use ember::*;
use ember_status::*;

mod common;
use common::*;

#[test]
fn sessions_bots_and_deactivation() {
    let f = open();
    let bob = create_user(&f, "bob");
    unsafe {
        let (mut token, mut id, mut user) = (null_mut(), ember_uuid::default(), null_mut());
        ok(ember_login(
            f.engine,
            c"bob".as_ptr(),
            c"password1".as_ptr(),
            &mut token,
            &mut id,
        ));
        assert_eq!(id, bob);
        ok(ember_authenticate(f.engine, token, &mut user));
        assert_eq!(((*user).id, text((*user).login)), (bob, "bob".to_owned()));
        assert_eq!((*user).role, ember_role::EMBER_ROLE_MEMBER);
        ember_user_free(user);
        ok(ember_user_by_login(f.engine, c"BOB".as_ptr(), &mut user));
        assert_eq!((*user).id, bob);
        ember_user_free(user);
        ok(ember_revoke_session(f.engine, token));
        refused(
            ember_authenticate(f.engine, token, &mut user),
            EMBER_ERR_UNAUTHENTICATED,
        );
        ember_string_free(token);

        let mut session = null_mut();
        ok(ember_create_session(f.engine, bob, &mut session));
        let session = take_string(session);
        assert_eq!(session.len(), 64);
        let mut count = 0;
        ok(ember_revoke_all_sessions(f.engine, bob, &mut count));
        assert_eq!(count, 1);

        let (mut bot, mut key) = (null_mut(), null_mut());
        ok(ember_create_bot(
            f.engine,
            c"helper".as_ptr(),
            c"Helper".as_ptr(),
            &mut bot,
            &mut key,
        ));
        assert_eq!((*bot).role, ember_role::EMBER_ROLE_BOT);
        ok(ember_authenticate_bot(f.engine, key, &mut user));
        assert_eq!((*user).id, (*bot).id);
        ember_user_free(user);
        ember_user_free(bot);
        ember_string_free(key);

        ok(ember_deactivate_user(f.engine, bob));
        let mut t = null_mut();
        refused(
            ember_login(
                f.engine,
                c"bob".as_ptr(),
                c"password1".as_ptr(),
                &mut t,
                &mut id,
            ),
            EMBER_ERR_FORBIDDEN,
        );
        refused(
            ember_create_session(f.engine, bob, &mut t),
            EMBER_ERR_FORBIDDEN,
        );
        ok(ember_user_get(f.engine, bob, &mut user));
        assert!(!(*user).active);
        ember_user_free(user);
    }
}

#[test]
fn rooms_members_and_involvement() {
    let f = open();
    let (ann, bob, carol) = (f.admin, create_user(&f, "bob"), create_user(&f, "carol"));
    unsafe {
        let mut room = null_mut();
        ok(ember_create_room(
            f.engine,
            ann,
            1,
            c"Kitchen".as_ptr(),
            &bob,
            1,
            &mut room,
        ));
        assert_eq!((*room).kind, ember_room_kind::EMBER_ROOM_CLOSED);
        let kitchen = (*room).id;
        ember_room_free(room);
        let in_rooms = |user| {
            let mut list = null_mut();
            ok(ember_rooms_for(f.engine, user, &mut list));
            let items = items((*list).items, (*list).len);
            let found = items
                .iter()
                .find(|s| s.room.id == kitchen)
                .map(|s| s.involvement);
            ember_room_list_free(list);
            found
        };
        assert!(in_rooms(carol).is_none());
        ok(ember_add_member(f.engine, ann, kitchen, carol));
        assert!(in_rooms(carol).is_some());
        ok(ember_remove_member(f.engine, ann, kitchen, carol));
        assert!(in_rooms(carol).is_none());
        refused(
            ember_room_get(f.engine, carol, kitchen, &mut room),
            EMBER_ERR_FORBIDDEN,
        );

        ok(ember_set_involvement(f.engine, bob, kitchen, 3));
        assert_eq!(
            in_rooms(bob),
            Some(ember_involvement::EMBER_INVOLVEMENT_EVERYTHING)
        );

        let (mut d1, mut d2) = (null_mut(), null_mut());
        ok(ember_direct_room(f.engine, ann, &bob, 1, &mut d1));
        ok(ember_direct_room(f.engine, bob, &ann, 1, &mut d2));
        assert_eq!((*d1).id, (*d2).id);
        assert_eq!((*d1).kind, ember_room_kind::EMBER_ROOM_DIRECT);
        ember_room_free(d1);
        ember_room_free(d2);
    }
}

#[test]
fn edits_deletes_changes_history_and_search() {
    let f = open();
    let (ann, lobby) = (f.admin, f.room);
    let (first, _) = post(&f, ann, lobby, "first words");
    post(&f, ann, lobby, "second with a needle");
    post(&f, ann, lobby, "third");
    unsafe {
        let mut m = null_mut();
        ok(ember_edit_message(
            f.engine,
            ann,
            first,
            c"first, edited".as_ptr(),
            &mut m,
        ));
        assert!((*m).edited && text((*m).content) == "first, edited");
        ember_message_free(m);
        ok(ember_delete_message(f.engine, ann, first, &mut m));
        ember_message_free(m);
        ok(ember_message_get(f.engine, ann, first, &mut m));
        assert!((*m).deleted && text((*m).content).is_empty() && (*m).seq == 1);
        ember_message_free(m);

        let (mut list, mut more, mut head) = (null_mut(), false, 0);
        ok(ember_changes_since(
            f.engine, ann, lobby, 0, 2, &mut list, &mut more, &mut head,
        ));
        let page = items((*list).items, (*list).len);
        assert_eq!(page.len(), 2);
        assert!(more);
        let cursor = page[1].change_seq;
        ember_message_list_free(list);
        ok(ember_changes_since(
            f.engine, ann, lobby, cursor, 100, &mut list, &mut more, &mut head,
        ));
        let rest = items((*list).items, (*list).len);
        assert!(!more && rest.last().unwrap().change_seq == head);
        // The delete is the newest change: the first message's tombstone comes last.
        assert!(rest.last().unwrap().deleted);
        ember_message_list_free(list);

        ok(ember_messages_before(
            f.engine, ann, lobby, 3, 10, &mut list,
        ));
        let seqs: Vec<u64> = items((*list).items, (*list).len)
            .iter()
            .map(|m| m.seq)
            .collect();
        assert_eq!(seqs, [1, 2]);
        ember_message_list_free(list);

        let deadline = Instant::now() + Duration::from_secs(5);
        let found = loop {
            ok(ember_search(
                f.engine,
                ann,
                c"needle".as_ptr(),
                10,
                &mut list,
            ));
            let hits: Vec<String> = items((*list).items, (*list).len)
                .iter()
                .map(|m| text(m.content))
                .collect();
            ember_message_list_free(list);
            if !hits.is_empty() || Instant::now() > deadline {
                break hits;
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        assert_eq!(found, ["second with a needle"]);
    }
}

#[test]
fn user_subscriptions_and_typing_deliver_events() {
    let f = open();
    let (ann, lobby) = (f.admin, f.room);
    let bob = create_user(&f, "bob");
    unsafe {
        let (mut list, mut room_sub) = (null_mut(), null_mut());
        ok(ember_subscribe_user(f.engine, bob, &mut list));
        ok(ember_subscribe_room(f.engine, bob, lobby, &mut room_sub));
        post(&f, ann, lobby, "hello");
        let e = next_of_kind(list, ember_event_kind::EMBER_EVENT_UNREAD);
        assert_eq!(((*e).room_id, (*e).unread), (lobby, 1));
        ember_event_free(e);

        ok(ember_typing(f.engine, ann, lobby, true));
        let e = next_of_kind(room_sub, ember_event_kind::EMBER_EVENT_TYPING);
        assert_eq!(((*e).user_id, (*e).flag), (ann, true));
        ember_event_free(e);

        let mut seq = 0;
        ok(ember_subscription_head_change_seq(room_sub, &mut seq));
        let mut complete = false;
        ok(ember_subscription_complete(room_sub, &mut complete));
        assert!(complete);
        ember_subscription_free(room_sub);
        ember_subscription_free(list);
    }
}
