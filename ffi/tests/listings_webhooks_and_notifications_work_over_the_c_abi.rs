//! The listing and administration calls work over the C ABI: messages around a message,
//! room members, every user and room, bot webhooks, plugin statuses, and the notification
//! stream with the users it names.

use std::ptr::null_mut;

use ember::*;
use ember_status::*;

mod common;
use common::*;

#[test]
fn messages_around_a_message_are_its_neighbours_oldest_first() {
    let f = open();
    let ids: Vec<ember_uuid> = (1..=7)
        .map(|i| post(&f, f.admin, f.room, &format!("m{i}")).0)
        .collect();
    unsafe {
        let mut list = null_mut();
        ok(ember_messages_around(
            f.engine, f.admin, ids[3], 2, &mut list,
        ));
        let seqs: Vec<u64> = items((*list).items, (*list).len)
            .iter()
            .map(|m| m.seq)
            .collect();
        assert_eq!(seqs, [2, 3, 4, 5, 6]);
        ember_message_list_free(list);
        ok(ember_messages_around(
            f.engine, f.admin, ids[0], 0, &mut list,
        ));
        let only: Vec<String> = items((*list).items, (*list).len)
            .iter()
            .map(|m| text(m.content))
            .collect();
        assert_eq!(only, ["m1"]);
        ember_message_list_free(list);
    }
}

#[test]
fn members_users_and_rooms_are_listed() {
    let f = open();
    let bob = create_user(&f, "bob");
    unsafe {
        ok(ember_set_involvement(f.engine, bob, f.room, 3));
        let mut members = null_mut();
        ok(ember_members(f.engine, f.admin, f.room, &mut members));
        let mut seen: Vec<(String, ember_involvement)> = items((*members).items, (*members).len)
            .iter()
            .map(|m| (text(m.user.login), m.involvement))
            .collect();
        seen.sort_by(|a, b| a.0.cmp(&b.0));
        assert_eq!(
            seen,
            [
                ("ann".into(), ember_involvement::EMBER_INVOLVEMENT_MENTIONS),
                (
                    "bob".into(),
                    ember_involvement::EMBER_INVOLVEMENT_EVERYTHING
                ),
            ]
        );
        ember_member_list_free(members);

        let mut users = null_mut();
        ok(ember_users(f.engine, &mut users));
        let logins: Vec<String> = items((*users).items, (*users).len)
            .iter()
            .map(|u| text(u.login))
            .collect();
        assert_eq!(logins, ["ann", "bob"]);
        ember_user_list_free(users);

        let mut dm = null_mut();
        ok(ember_direct_room(f.engine, f.admin, &bob, 1, &mut dm));
        let dm_id = (*dm).id;
        ember_room_free(dm);
        let mut rooms = null_mut();
        ok(ember_all_rooms(f.engine, &mut rooms));
        let mut ids: Vec<ember_uuid> = items((*rooms).items, (*rooms).len)
            .iter()
            .map(|r| r.id)
            .collect();
        ids.sort_by_key(|id| id.bytes);
        let mut want = vec![f.room, dm_id];
        want.sort_by_key(|id| id.bytes);
        assert_eq!(ids, want);
        ember_room_array_free(rooms);
    }
}

#[test]
fn a_bot_webhook_is_set_read_and_cleared() {
    let f = open();
    unsafe {
        let (mut bot, mut key) = (null_mut(), null_mut());
        ok(ember_create_bot(
            f.engine,
            c"hook".as_ptr(),
            c"Hook".as_ptr(),
            &mut bot,
            &mut key,
        ));
        let id = (*bot).id;
        ember_user_free(bot);
        ember_string_free(key);

        let mut url = null_mut();
        ok(ember_bot_webhook(f.engine, id, &mut url));
        assert!(url.is_null(), "a webhook before one was set");
        ok(ember_set_bot_webhook(
            f.engine,
            id,
            c"https://example.invalid/hook".as_ptr(),
        ));
        ok(ember_bot_webhook(f.engine, id, &mut url));
        assert_eq!(take_string(url), "https://example.invalid/hook");
        refused(
            ember_set_bot_webhook(f.engine, id, c"ftp://nope".as_ptr()),
            EMBER_ERR_VALIDATION,
        );
        ok(ember_set_bot_webhook(f.engine, id, std::ptr::null()));
        let mut cleared = c"sentinel".as_ptr().cast_mut();
        ok(ember_bot_webhook(f.engine, id, &mut cleared));
        assert!(cleared.is_null(), "the webhook was not cleared");
    }
}

#[test]
fn a_bot_webhook_secret_is_read_and_rotated() {
    let f = open();
    unsafe {
        let (mut bot, mut key) = (null_mut(), null_mut());
        ok(ember_create_bot(
            f.engine,
            c"signer".as_ptr(),
            c"Signer".as_ptr(),
            &mut bot,
            &mut key,
        ));
        let id = (*bot).id;
        ember_user_free(bot);
        let key = take_string(key);

        let mut secret = null_mut();
        ok(ember_bot_webhook_secret(f.engine, id, &mut secret));
        let first = take_string(secret);
        assert_eq!(first.len(), 64, "{first}");
        assert_ne!(first, key);
        let mut rotated = null_mut();
        ok(ember_rotate_bot_webhook_secret(f.engine, id, &mut rotated));
        let rotated = take_string(rotated);
        assert_ne!(rotated, first);
        let mut again = null_mut();
        ok(ember_bot_webhook_secret(f.engine, id, &mut again));
        assert_eq!(take_string(again), rotated);
    }
}

#[test]
fn plugin_statuses_name_every_plugin() {
    let f = open();
    unsafe {
        let mut p = plugin();
        p.name = c"probe".as_ptr();
        ok(ember_engine_register_plugin(f.engine, &p));
        let mut list = null_mut();
        ok(ember_engine_plugins(f.engine, &mut list));
        let statuses: Vec<(String, bool, bool)> = items((*list).items, (*list).len)
            .iter()
            .map(|s| (text(s.name), s.enabled, s.fault.is_null()))
            .collect();
        ember_plugin_status_list_free(list);
        assert!(
            statuses.contains(&("probe".into(), true, true)),
            "{statuses:?}"
        );
        assert!(
            statuses.len() >= 2,
            "the built-in sounds plugin is missing: {statuses:?}"
        );
    }
}

#[test]
fn the_notification_stream_names_the_users_to_notify() {
    let f = open();
    let bob = create_user(&f, "bob");
    unsafe {
        let mut stream = null_mut();
        ok(ember_subscribe_notifications(f.engine, &mut stream));
        let (mut head, mut complete) = (7, false);
        ok(ember_subscription_head_change_seq(stream, &mut head));
        ok(ember_subscription_complete(stream, &mut complete));
        assert_eq!((head, complete), (0, true));
        let (message, _) = post(&f, f.admin, f.room, "hello @bob");
        let e = next_of_kind(stream, ember_event_kind::EMBER_EVENT_NOTIFY);
        assert_eq!((*(*e).message).id, message);
        assert_eq!((*e).room_id, f.room);
        assert_eq!(items((*e).users, (*e).users_len), [bob]);
        ember_event_free(e);
        ember_subscription_free(stream);
    }
}
