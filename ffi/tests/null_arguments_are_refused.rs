//! Every function refuses NULL where a pointer is required with `EMBER_ERR_NULL` and a
//! message, writes no output, and every free function accepts NULL.

use std::ffi::c_char;
use std::ptr::{null, null_mut};

use ember::*;
use ember_status::*;

mod common;
use common::*;

#[test]
fn null_arguments_are_err_null() {
    let f = open();
    let (e, a, r) = (f.engine, f.admin, f.room);
    let s = c"text".as_ptr();
    let mut user: *mut ember_user = null_mut();
    let mut room: *mut ember_room = null_mut();
    let mut msg: *mut ember_message = null_mut();
    let mut list: *mut ember_message_list = null_mut();
    let mut rooms: *mut ember_room_list = null_mut();
    let mut sub: *mut ember_subscription = null_mut();
    let mut string: *mut c_char = null_mut();
    let mut id = ember_uuid::default();
    let (mut n, mut b, mut pres) = (0u64, false, ember_presence::default());
    let mut stats = ember_stats {
        struct_size: size_of::<ember_stats>(),
        ..Default::default()
    };
    let mut event: *mut ember_event = null_mut();
    let mut buf = [0 as c_char; 64];
    let o = options();
    unsafe {
        refused(ember_uuid_new(null_mut()), EMBER_ERR_NULL);
        refused(ember_uuid_parse(null(), &mut id), EMBER_ERR_NULL);
        refused(ember_uuid_parse(s, null_mut()), EMBER_ERR_NULL);
        refused(
            ember_uuid_format(null(), buf.as_mut_ptr(), 64),
            EMBER_ERR_NULL,
        );
        refused(ember_uuid_format(&a, null_mut(), 64), EMBER_ERR_NULL);
        refused(ember_uuid_equal(null(), &a, &mut b), EMBER_ERR_NULL);
        refused(ember_uuid_equal(&a, &a, null_mut()), EMBER_ERR_NULL);
        refused(ember_options_init(null_mut()), EMBER_ERR_NULL);
        let mut eng = null_mut();
        refused(ember_engine_open(null(), &o, &mut eng), EMBER_ERR_NULL);
        refused(ember_engine_open(s, null(), &mut eng), EMBER_ERR_NULL);
        refused(ember_engine_open(s, &o, null_mut()), EMBER_ERR_NULL);
        refused(ember_engine_close(null_mut()), EMBER_ERR_NULL);
        refused(ember_engine_stats(null(), &mut stats), EMBER_ERR_NULL);
        refused(ember_engine_stats(e, null_mut()), EMBER_ERR_NULL);
        refused(ember_engine_epoch(null(), &mut id), EMBER_ERR_NULL);
        refused(ember_engine_epoch(e, null_mut()), EMBER_ERR_NULL);

        refused(
            ember_create_user(null(), s, s, s, 1, &mut user),
            EMBER_ERR_NULL,
        );
        refused(
            ember_create_user(e, null(), s, s, 1, &mut user),
            EMBER_ERR_NULL,
        );
        refused(
            ember_create_user(e, s, null(), s, 1, &mut user),
            EMBER_ERR_NULL,
        );
        refused(
            ember_create_user(e, s, s, null(), 1, &mut user),
            EMBER_ERR_NULL,
        );
        refused(ember_create_user(e, s, s, s, 1, null_mut()), EMBER_ERR_NULL);
        refused(
            ember_create_bot(null(), s, s, &mut user, &mut string),
            EMBER_ERR_NULL,
        );
        refused(
            ember_create_bot(e, null(), s, &mut user, &mut string),
            EMBER_ERR_NULL,
        );
        refused(
            ember_create_bot(e, s, null(), &mut user, &mut string),
            EMBER_ERR_NULL,
        );
        refused(
            ember_create_bot(e, s, s, null_mut(), &mut string),
            EMBER_ERR_NULL,
        );
        refused(
            ember_create_bot(e, s, s, &mut user, null_mut()),
            EMBER_ERR_NULL,
        );
        refused(
            ember_login(null(), s, s, &mut string, &mut id),
            EMBER_ERR_NULL,
        );
        refused(
            ember_login(e, null(), s, &mut string, &mut id),
            EMBER_ERR_NULL,
        );
        refused(
            ember_login(e, s, null(), &mut string, &mut id),
            EMBER_ERR_NULL,
        );
        refused(ember_login(e, s, s, null_mut(), &mut id), EMBER_ERR_NULL);
        refused(
            ember_login(e, s, s, &mut string, null_mut()),
            EMBER_ERR_NULL,
        );
        refused(ember_create_session(null(), a, &mut string), EMBER_ERR_NULL);
        refused(ember_create_session(e, a, null_mut()), EMBER_ERR_NULL);
        refused(ember_authenticate(null(), s, &mut user), EMBER_ERR_NULL);
        refused(ember_authenticate(e, null(), &mut user), EMBER_ERR_NULL);
        refused(ember_authenticate(e, s, null_mut()), EMBER_ERR_NULL);
        refused(ember_authenticate_bot(null(), s, &mut user), EMBER_ERR_NULL);
        refused(ember_authenticate_bot(e, null(), &mut user), EMBER_ERR_NULL);
        refused(ember_authenticate_bot(e, s, null_mut()), EMBER_ERR_NULL);
        refused(ember_revoke_session(null(), s), EMBER_ERR_NULL);
        refused(ember_revoke_session(e, null()), EMBER_ERR_NULL);
        refused(ember_revoke_all_sessions(null(), a, &mut n), EMBER_ERR_NULL);
        refused(ember_revoke_all_sessions(e, a, null_mut()), EMBER_ERR_NULL);
        refused(ember_deactivate_user(null(), a), EMBER_ERR_NULL);
        refused(ember_user_get(null(), a, &mut user), EMBER_ERR_NULL);
        refused(ember_user_get(e, a, null_mut()), EMBER_ERR_NULL);
        refused(ember_user_by_login(null(), s, &mut user), EMBER_ERR_NULL);
        refused(ember_user_by_login(e, null(), &mut user), EMBER_ERR_NULL);
        refused(ember_user_by_login(e, s, null_mut()), EMBER_ERR_NULL);

        refused(
            ember_create_room(null(), a, 0, s, null(), 0, &mut room),
            EMBER_ERR_NULL,
        );
        refused(
            ember_create_room(e, a, 0, null(), null(), 0, &mut room),
            EMBER_ERR_NULL,
        );
        refused(
            ember_create_room(e, a, 1, s, null(), 2, &mut room),
            EMBER_ERR_NULL,
        );
        refused(
            ember_create_room(e, a, 0, s, null(), 0, null_mut()),
            EMBER_ERR_NULL,
        );
        refused(
            ember_direct_room(null(), a, &a, 1, &mut room),
            EMBER_ERR_NULL,
        );
        refused(
            ember_direct_room(e, a, null(), 1, &mut room),
            EMBER_ERR_NULL,
        );
        refused(ember_direct_room(e, a, &a, 1, null_mut()), EMBER_ERR_NULL);
        refused(ember_room_get(null(), a, r, &mut room), EMBER_ERR_NULL);
        refused(ember_room_get(e, a, r, null_mut()), EMBER_ERR_NULL);
        refused(ember_add_member(null(), a, r, a), EMBER_ERR_NULL);
        refused(ember_remove_member(null(), a, r, a), EMBER_ERR_NULL);
        refused(ember_set_involvement(null(), a, r, 1), EMBER_ERR_NULL);
        refused(ember_rooms_for(null(), a, &mut rooms), EMBER_ERR_NULL);
        refused(ember_rooms_for(e, a, null_mut()), EMBER_ERR_NULL);
        refused(ember_mark_read(null(), a, r, 0, &mut n), EMBER_ERR_NULL);
        refused(ember_mark_read(e, a, r, 0, null_mut()), EMBER_ERR_NULL);

        let cid = random_id();
        refused(
            ember_post(null(), a, r, cid, s, &mut msg, &mut b),
            EMBER_ERR_NULL,
        );
        refused(
            ember_post(e, a, r, cid, null(), &mut msg, &mut b),
            EMBER_ERR_NULL,
        );
        refused(
            ember_post(e, a, r, cid, s, null_mut(), &mut b),
            EMBER_ERR_NULL,
        );
        refused(
            ember_post(e, a, r, cid, s, &mut msg, null_mut()),
            EMBER_ERR_NULL,
        );
        refused(
            ember_edit_message(null(), a, cid, s, &mut msg),
            EMBER_ERR_NULL,
        );
        refused(
            ember_edit_message(e, a, cid, null(), &mut msg),
            EMBER_ERR_NULL,
        );
        refused(ember_edit_message(e, a, cid, s, null_mut()), EMBER_ERR_NULL);
        refused(
            ember_delete_message(null(), a, cid, &mut msg),
            EMBER_ERR_NULL,
        );
        refused(ember_delete_message(e, a, cid, null_mut()), EMBER_ERR_NULL);
        refused(
            ember_messages_before(null(), a, r, 0, 10, &mut list),
            EMBER_ERR_NULL,
        );
        refused(
            ember_messages_before(e, a, r, 0, 10, null_mut()),
            EMBER_ERR_NULL,
        );
        refused(
            ember_changes_since(null(), a, r, 0, 10, &mut list, &mut b, &mut n),
            EMBER_ERR_NULL,
        );
        refused(
            ember_changes_since(e, a, r, 0, 10, null_mut(), &mut b, &mut n),
            EMBER_ERR_NULL,
        );
        refused(
            ember_changes_since(e, a, r, 0, 10, &mut list, null_mut(), &mut n),
            EMBER_ERR_NULL,
        );
        refused(
            ember_changes_since(e, a, r, 0, 10, &mut list, &mut b, null_mut()),
            EMBER_ERR_NULL,
        );
        refused(ember_search(null(), a, s, 10, &mut list), EMBER_ERR_NULL);
        refused(ember_search(e, a, null(), 10, &mut list), EMBER_ERR_NULL);
        refused(ember_search(e, a, s, 10, null_mut()), EMBER_ERR_NULL);
        refused(ember_message_get(null(), a, cid, &mut msg), EMBER_ERR_NULL);
        refused(ember_message_get(e, a, cid, null_mut()), EMBER_ERR_NULL);

        refused(ember_subscribe_room(null(), a, r, &mut sub), EMBER_ERR_NULL);
        refused(ember_subscribe_room(e, a, r, null_mut()), EMBER_ERR_NULL);
        refused(
            ember_subscribe_room_since(null(), a, r, 0, &mut sub),
            EMBER_ERR_NULL,
        );
        refused(
            ember_subscribe_room_since(e, a, r, 0, null_mut()),
            EMBER_ERR_NULL,
        );
        refused(ember_subscribe_user(null(), a, &mut sub), EMBER_ERR_NULL);
        refused(ember_subscribe_user(e, a, null_mut()), EMBER_ERR_NULL);
        refused(
            ember_subscription_head_change_seq(null(), &mut n),
            EMBER_ERR_NULL,
        );
        refused(ember_subscription_complete(null(), &mut b), EMBER_ERR_NULL);
        refused(
            ember_subscription_next(null_mut(), 0, &mut event),
            EMBER_ERR_NULL,
        );
        refused(
            ember_subscription_set_callback(null_mut(), Some(count), null_mut(), None),
            EMBER_ERR_NULL,
        );
        let mut live = null_mut();
        assert_eq!(ember_subscribe_room(e, a, r, &mut live), EMBER_OK);
        refused(
            ember_subscription_head_change_seq(live, null_mut()),
            EMBER_ERR_NULL,
        );
        refused(
            ember_subscription_complete(live, null_mut()),
            EMBER_ERR_NULL,
        );
        refused(ember_subscription_next(live, 0, null_mut()), EMBER_ERR_NULL);
        refused(
            ember_subscription_set_callback(live, None, null_mut(), None),
            EMBER_ERR_NULL,
        );
        ember_subscription_free(live);
        refused(
            ember_presence_connect(null(), a, r, &mut pres),
            EMBER_ERR_NULL,
        );
        refused(ember_presence_connect(e, a, r, null_mut()), EMBER_ERR_NULL);
        refused(ember_presence_heartbeat(null(), &pres), EMBER_ERR_NULL);
        refused(ember_presence_heartbeat(e, null()), EMBER_ERR_NULL);
        refused(ember_presence_disconnect(null(), &pres), EMBER_ERR_NULL);
        refused(ember_presence_disconnect(e, null()), EMBER_ERR_NULL);
        refused(ember_typing(null(), a, r, true), EMBER_ERR_NULL);
        let mut ids = null_mut();
        refused(ember_online_members(null(), a, r, &mut ids), EMBER_ERR_NULL);
        refused(ember_online_members(e, a, r, null_mut()), EMBER_ERR_NULL);
        assert!(ids.is_null());

        refused(
            ember_engine_register_plugin(null(), &plugin()),
            EMBER_ERR_NULL,
        );
        refused(ember_engine_register_plugin(e, null()), EMBER_ERR_NULL);
        let mut nameless = plugin();
        nameless.name = null();
        refused(ember_engine_register_plugin(e, &nameless), EMBER_ERR_NULL);
        let handlerless = [ember_plugin_command {
            name: c"x".as_ptr(),
            priority: 0,
            handler: None,
        }];
        let mut p = plugin();
        p.commands = handlerless.as_ptr();
        p.commands_len = 1;
        refused(ember_engine_register_plugin(e, &p), EMBER_ERR_NULL);
        let mut text = null();
        refused(ember_draft_content(null(), &mut text), EMBER_ERR_NULL);
        refused(ember_draft_set_content(null_mut(), s), EMBER_ERR_NULL);
        refused(ember_draft_set_sound(null_mut(), s), EMBER_ERR_NULL);
        refused(ember_draft_set_reason(null_mut(), s), EMBER_ERR_NULL);

        // Free functions accept NULL.
        ember_user_free(null_mut());
        ember_room_free(null_mut());
        ember_room_list_free(null_mut());
        ember_message_free(null_mut());
        ember_message_list_free(null_mut());
        ember_event_free(null_mut());
        ember_subscription_free(null_mut());
        ember_string_free(null_mut());
        ember_uuid_list_free(null_mut());
    }
    // Nothing was written to any output on failure.
    assert!(user.is_null() && room.is_null() && msg.is_null() && list.is_null());
    assert!(rooms.is_null() && sub.is_null() && string.is_null() && event.is_null());
    assert_eq!((n, b, id), (0, false, ember_uuid::default()));
}

#[test]
fn null_arguments_to_listing_webhook_and_pipeline_calls_are_err_null() {
    let f = open();
    let (e, a, r) = (f.engine, f.admin, f.room);
    let s = c"text".as_ptr();
    let mut list: *mut ember_message_list = null_mut();
    let mut members: *mut ember_member_list = null_mut();
    let mut users: *mut ember_user_list = null_mut();
    let mut rooms: *mut ember_room_array = null_mut();
    let mut plugins: *mut ember_plugin_status_list = null_mut();
    let mut sub: *mut ember_subscription = null_mut();
    let mut string: *mut c_char = null_mut();
    let mut pipeline: *mut ember_pipeline = null_mut();
    let mut completion: *mut ember_completion = null_mut();
    let (mut ticket, mut pending) = (0u64, 0usize);
    unsafe {
        refused(
            ember_messages_around(null(), a, a, 1, &mut list),
            EMBER_ERR_NULL,
        );
        refused(
            ember_messages_around(e, a, a, 1, null_mut()),
            EMBER_ERR_NULL,
        );
        refused(ember_members(null(), a, r, &mut members), EMBER_ERR_NULL);
        refused(ember_members(e, a, r, null_mut()), EMBER_ERR_NULL);
        refused(ember_users(null(), &mut users), EMBER_ERR_NULL);
        refused(ember_users(e, null_mut()), EMBER_ERR_NULL);
        refused(ember_all_rooms(null(), &mut rooms), EMBER_ERR_NULL);
        refused(ember_all_rooms(e, null_mut()), EMBER_ERR_NULL);
        refused(ember_engine_plugins(null(), &mut plugins), EMBER_ERR_NULL);
        refused(ember_engine_plugins(e, null_mut()), EMBER_ERR_NULL);
        refused(ember_set_bot_webhook(null(), a, s), EMBER_ERR_NULL);
        refused(ember_bot_webhook(null(), a, &mut string), EMBER_ERR_NULL);
        refused(ember_bot_webhook(e, a, null_mut()), EMBER_ERR_NULL);
        refused(
            ember_bot_webhook_secret(null(), a, &mut string),
            EMBER_ERR_NULL,
        );
        refused(ember_bot_webhook_secret(e, a, null_mut()), EMBER_ERR_NULL);
        refused(
            ember_rotate_bot_webhook_secret(null(), a, &mut string),
            EMBER_ERR_NULL,
        );
        refused(
            ember_rotate_bot_webhook_secret(e, a, null_mut()),
            EMBER_ERR_NULL,
        );
        refused(
            ember_subscribe_notifications(null(), &mut sub),
            EMBER_ERR_NULL,
        );
        refused(ember_subscribe_notifications(e, null_mut()), EMBER_ERR_NULL);

        refused(
            ember_pipeline_new(null(), None, null_mut(), None, &mut pipeline),
            EMBER_ERR_NULL,
        );
        refused(
            ember_pipeline_new(e, None, null_mut(), None, null_mut()),
            EMBER_ERR_NULL,
        );
        let cid = random_id();
        refused(
            ember_pipeline_post(null_mut(), a, r, cid, s, &mut ticket),
            EMBER_ERR_NULL,
        );
        refused(
            ember_pipeline_edit(null_mut(), a, cid, s, &mut ticket),
            EMBER_ERR_NULL,
        );
        refused(
            ember_pipeline_delete(null_mut(), a, cid, &mut ticket),
            EMBER_ERR_NULL,
        );
        refused(
            ember_pipeline_mark_read(null_mut(), a, r, 0, &mut ticket),
            EMBER_ERR_NULL,
        );
        refused(ember_pipeline_pending(null(), &mut pending), EMBER_ERR_NULL);
        refused(
            ember_pipeline_next(null_mut(), 0, &mut completion),
            EMBER_ERR_NULL,
        );
        let mut live = null_mut();
        assert_eq!(
            ember_pipeline_new(e, None, null_mut(), None, &mut live),
            EMBER_OK
        );
        refused(
            ember_pipeline_post(live, a, r, cid, null(), &mut ticket),
            EMBER_ERR_NULL,
        );
        refused(
            ember_pipeline_post(live, a, r, cid, s, null_mut()),
            EMBER_ERR_NULL,
        );
        refused(
            ember_pipeline_edit(live, a, cid, null(), &mut ticket),
            EMBER_ERR_NULL,
        );
        refused(
            ember_pipeline_edit(live, a, cid, s, null_mut()),
            EMBER_ERR_NULL,
        );
        refused(
            ember_pipeline_delete(live, a, cid, null_mut()),
            EMBER_ERR_NULL,
        );
        refused(
            ember_pipeline_mark_read(live, a, r, 0, null_mut()),
            EMBER_ERR_NULL,
        );
        refused(ember_pipeline_pending(live, null_mut()), EMBER_ERR_NULL);
        refused(ember_pipeline_next(live, 0, null_mut()), EMBER_ERR_NULL);
        // Nothing was queued by the refused submissions.
        assert_eq!(ember_pipeline_pending(live, &mut pending), EMBER_OK);
        assert_eq!(pending, 0);
        ember_pipeline_free(live);

        ember_user_list_free(null_mut());
        ember_room_array_free(null_mut());
        ember_member_list_free(null_mut());
        ember_plugin_status_list_free(null_mut());
        ember_completion_free(null_mut());
        ember_pipeline_free(null_mut());
    }
    assert!(list.is_null() && members.is_null() && users.is_null() && rooms.is_null());
    assert!(plugins.is_null() && sub.is_null() && string.is_null());
    assert!(pipeline.is_null() && completion.is_null() && ticket == 0);
}
