//! Bad input from C is refused with a status and a message, never a crash: invalid UTF-8,
//! unknown enum values, wrong `struct_size` or `abi_version`, unknown ids, and a
//! subscription used after its engine closed. Outputs are left untouched on failure.

use std::ffi::{CStr, c_void};
use std::ptr::{null, null_mut};

use ember::*;
use ember_status::*;

mod common;
use common::*;

#[test]
fn invalid_utf8_and_unknown_enum_values_are_invalid_arguments() {
    let f = open();
    let (e, a, r) = (f.engine, f.admin, f.room);
    let s = c"text".as_ptr();
    let mut user = null_mut();
    let mut room = null_mut();
    let mut msg = null_mut();
    let mut list = null_mut();
    let mut string = null_mut();
    let mut id = ember_uuid::default();
    let mut dup = false;
    unsafe {
        refused(
            ember_uuid_parse(BAD_UTF8, &mut id),
            EMBER_ERR_INVALID_ARGUMENT,
        );
        refused(
            ember_uuid_parse(c"not a uuid".as_ptr(), &mut id),
            EMBER_ERR_INVALID_ARGUMENT,
        );
        let mut eng = null_mut();
        refused(
            ember_engine_open(BAD_UTF8, &options(), &mut eng),
            EMBER_ERR_INVALID_ARGUMENT,
        );
        refused(
            ember_create_user(e, BAD_UTF8, s, s, 1, &mut user),
            EMBER_ERR_INVALID_ARGUMENT,
        );
        refused(
            ember_create_user(e, s, BAD_UTF8, s, 1, &mut user),
            EMBER_ERR_INVALID_ARGUMENT,
        );
        refused(
            ember_create_user(e, s, s, BAD_UTF8, 1, &mut user),
            EMBER_ERR_INVALID_ARGUMENT,
        );
        refused(
            ember_create_user(e, c"zed".as_ptr(), s, c"password1".as_ptr(), 9, &mut user),
            EMBER_ERR_INVALID_ARGUMENT,
        );
        refused(
            ember_login(e, BAD_UTF8, s, &mut string, &mut id),
            EMBER_ERR_INVALID_ARGUMENT,
        );
        refused(
            ember_authenticate(e, BAD_UTF8, &mut user),
            EMBER_ERR_INVALID_ARGUMENT,
        );
        refused(
            ember_create_room(e, a, 0, BAD_UTF8, null(), 0, &mut room),
            EMBER_ERR_INVALID_ARGUMENT,
        );
        refused(
            ember_create_room(e, a, 7, s, null(), 0, &mut room),
            EMBER_ERR_INVALID_ARGUMENT,
        );
        refused(
            ember_create_room(e, a, 2, s, null(), 0, &mut room),
            EMBER_ERR_INVALID_ARGUMENT,
        );
        refused(
            ember_set_involvement(e, a, r, 4),
            EMBER_ERR_INVALID_ARGUMENT,
        );
        refused(
            ember_post(e, a, r, random_id(), BAD_UTF8, &mut msg, &mut dup),
            EMBER_ERR_INVALID_ARGUMENT,
        );
        refused(
            ember_search(e, a, BAD_UTF8, 10, &mut list),
            EMBER_ERR_INVALID_ARGUMENT,
        );
        let mut p = plugin();
        p.name = BAD_UTF8;
        refused(
            ember_engine_register_plugin(e, &p),
            EMBER_ERR_INVALID_ARGUMENT,
        );
        refused(
            ember_set_bot_webhook(e, a, BAD_UTF8),
            EMBER_ERR_INVALID_ARGUMENT,
        );
        let mut pipeline = null_mut();
        assert_eq!(
            ember_pipeline_new(e, None, null_mut(), None, &mut pipeline),
            EMBER_OK
        );
        let mut ticket = u64::MAX;
        refused(
            ember_pipeline_post(pipeline, a, r, random_id(), BAD_UTF8, &mut ticket),
            EMBER_ERR_INVALID_ARGUMENT,
        );
        refused(
            ember_pipeline_edit(pipeline, a, random_id(), BAD_UTF8, &mut ticket),
            EMBER_ERR_INVALID_ARGUMENT,
        );
        refused(
            ember_pipeline_post(pipeline, a, r, random_id(), c" ".as_ptr(), &mut ticket),
            EMBER_ERR_VALIDATION,
        );
        refused(
            ember_pipeline_edit(pipeline, a, random_id(), c"".as_ptr(), &mut ticket),
            EMBER_ERR_VALIDATION,
        );
        assert_eq!(ticket, u64::MAX);
        ember_pipeline_free(pipeline);
        // Engine-level validation has its own status.
        refused(
            ember_post(e, a, r, random_id(), c" ".as_ptr(), &mut msg, &mut dup),
            EMBER_ERR_VALIDATION,
        );
        refused(
            ember_messages_before(e, a, r, 0, 0, &mut list),
            EMBER_ERR_VALIDATION,
        );
        refused(
            ember_set_bot_webhook(e, a, c"not a url".as_ptr()),
            EMBER_ERR_VALIDATION,
        );
        let mut first = null_mut();
        assert_eq!(
            ember_post(e, a, r, random_id(), s, &mut first, &mut dup),
            EMBER_OK
        );
        refused(
            ember_messages_around(e, a, (*first).id, 101, &mut list),
            EMBER_ERR_VALIDATION,
        );
        ember_message_free(first);
    }
    assert!(
        user.is_null() && room.is_null() && msg.is_null() && list.is_null() && string.is_null()
    );
}

#[test]
fn wrong_struct_sizes_and_versions_are_abi_mismatches() {
    let f = open();
    let dir = tempfile::tempdir().unwrap();
    let path = std::ffi::CString::new(dir.path().join("x.db").to_str().unwrap()).unwrap();
    let mut engine = null_mut();
    unsafe {
        for size in [0, 8, size_of::<ember_options>() + 8] {
            let mut o = options();
            o.struct_size = size;
            refused(
                ember_engine_open(path.as_ptr(), &o, &mut engine),
                EMBER_ERR_ABI_MISMATCH,
            );
        }
        assert!(engine.is_null());
        let mut stats = ember_stats {
            struct_size: 3,
            ..Default::default()
        };
        refused(
            ember_engine_stats(f.engine, &mut stats),
            EMBER_ERR_ABI_MISMATCH,
        );
        assert_eq!(stats.commands, 0);
        stats.struct_size = size_of::<ember_stats>();
        assert_eq!(ember_engine_stats(f.engine, &mut stats), EMBER_OK);
        assert!(stats.commands > 0);

        let mut p = plugin();
        p.abi_version = 0;
        refused(
            ember_engine_register_plugin(f.engine, &p),
            EMBER_ERR_ABI_MISMATCH,
        );
        for size in [0, 8, size_of::<ember_plugin>() as u32 + 8] {
            let mut p = plugin();
            p.struct_size = size;
            refused(
                ember_engine_register_plugin(f.engine, &p),
                EMBER_ERR_ABI_MISMATCH,
            );
        }
        // Only the two leading fields are read before the check: a plugin whose other
        // fields are garbage is refused on its version alone.
        let header_only: [u32; 2] = [99, 8];
        refused(
            ember_engine_register_plugin(f.engine, header_only.as_ptr().cast()),
            EMBER_ERR_ABI_MISMATCH,
        );
    }
}

#[test]
fn unknown_ids_are_not_found_or_refused() {
    let f = open();
    let (e, a, r) = (f.engine, f.admin, f.room);
    let nobody = random_id();
    let mut user = null_mut();
    let mut msg = null_mut();
    let mut sub = null_mut();
    let mut dup = false;
    let mut pres = ember_presence::default();
    unsafe {
        refused(ember_user_get(e, nobody, &mut user), EMBER_ERR_NOT_FOUND);
        refused(
            ember_user_by_login(e, c"nobody".as_ptr(), &mut user),
            EMBER_ERR_NOT_FOUND,
        );
        refused(
            ember_authenticate(e, c"no such token".as_ptr(), &mut user),
            EMBER_ERR_UNAUTHENTICATED,
        );
        refused(
            ember_message_get(e, a, nobody, &mut msg),
            EMBER_ERR_NOT_FOUND,
        );
        refused(
            ember_edit_message(e, a, nobody, c"x".as_ptr(), &mut msg),
            EMBER_ERR_NOT_FOUND,
        );
        refused(
            ember_delete_message(e, a, nobody, &mut msg),
            EMBER_ERR_NOT_FOUND,
        );
        let status = ember_post(e, a, nobody, random_id(), c"x".as_ptr(), &mut msg, &mut dup);
        assert!(
            matches!(status, EMBER_ERR_NOT_FOUND | EMBER_ERR_FORBIDDEN),
            "{status:?}"
        );
        let status = ember_post(e, nobody, r, random_id(), c"x".as_ptr(), &mut msg, &mut dup);
        assert!(
            matches!(status, EMBER_ERR_NOT_FOUND | EMBER_ERR_FORBIDDEN),
            "{status:?}"
        );
        let status = ember_subscribe_room(e, a, nobody, &mut sub);
        assert!(
            matches!(status, EMBER_ERR_NOT_FOUND | EMBER_ERR_FORBIDDEN),
            "{status:?}"
        );
        refused(
            ember_subscribe_room_since(e, a, r, 1_000_000, &mut sub),
            EMBER_ERR_VALIDATION,
        );
        let mut list = null_mut();
        refused(
            ember_messages_around(e, a, nobody, 2, &mut list),
            EMBER_ERR_NOT_FOUND,
        );
        let mut members = null_mut();
        let status = ember_members(e, a, nobody, &mut members);
        assert!(
            matches!(status, EMBER_ERR_NOT_FOUND | EMBER_ERR_FORBIDDEN),
            "{status:?}"
        );
        let mut url = null_mut();
        refused(ember_bot_webhook(e, nobody, &mut url), EMBER_ERR_NOT_FOUND);
        // A person is not a bot.
        refused(ember_bot_webhook(e, a, &mut url), EMBER_ERR_NOT_FOUND);
        refused(
            ember_bot_webhook_secret(e, a, &mut url),
            EMBER_ERR_NOT_FOUND,
        );
        refused(
            ember_rotate_bot_webhook_secret(e, nobody, &mut url),
            EMBER_ERR_NOT_FOUND,
        );
        let status = ember_set_bot_webhook(e, nobody, c"https://example.invalid".as_ptr());
        assert!(
            matches!(status, EMBER_ERR_NOT_FOUND | EMBER_ERR_FORBIDDEN),
            "{status:?}"
        );
        assert!(list.is_null() && members.is_null() && url.is_null());
        let unknown = ember_presence {
            room: r,
            user: a,
            id: 987_654,
        };
        refused(ember_presence_heartbeat(e, &unknown), EMBER_ERR_NOT_FOUND);
        assert_eq!(ember_presence_connect(e, a, r, &mut pres), EMBER_OK);
        assert_eq!(ember_presence_heartbeat(e, &pres), EMBER_OK);
        let mut online = null_mut();
        assert_eq!(ember_online_members(e, a, r, &mut online), EMBER_OK);
        assert_eq!(
            std::slice::from_raw_parts((*online).items, (*online).len),
            [a]
        );
        ember_uuid_list_free(online);
        assert_eq!(ember_presence_disconnect(e, &pres), EMBER_OK);
        let mut online = null_mut();
        assert_eq!(ember_online_members(e, a, r, &mut online), EMBER_OK);
        assert_eq!(((*online).items, (*online).len), (null_mut(), 0));
        ember_uuid_list_free(online);
        refused(ember_presence_heartbeat(e, &pres), EMBER_ERR_NOT_FOUND);
    }
    assert!(user.is_null() && msg.is_null() && sub.is_null());
}

#[test]
fn a_subscription_outlives_its_engine_and_reports_closed() {
    let mut f = open();
    let (e, a, r) = (f.engine, f.admin, f.room);
    let mut pull = null_mut();
    let mut pushed = null_mut();
    let mut event = null_mut();
    unsafe {
        assert_eq!(ember_subscribe_room(e, a, r, &mut pull), EMBER_OK);
        assert_eq!(ember_subscribe_room(e, a, r, &mut pushed), EMBER_OK);
        assert_eq!(ember_engine_close(e), EMBER_OK);
        f.engine = null_mut();
        loop {
            match ember_subscription_next(pull, 2000, &mut event) {
                EMBER_OK => ember_event_free(std::mem::replace(&mut event, null_mut())),
                status => {
                    refused(status, EMBER_ERR_CLOSED);
                    break;
                }
            }
        }
        refused(
            ember_subscription_next(pull, 0, &mut event),
            EMBER_ERR_CLOSED,
        );
        assert!(event.is_null());
        // A callback set after the close is told at once that the stream ended.
        let ended = std::sync::atomic::AtomicUsize::new(0);
        let ended_ptr = &ended as *const _ as *mut c_void;
        assert_eq!(
            ember_subscription_set_callback(pushed, Some(count), ended_ptr, None),
            EMBER_OK
        );
        refused(
            ember_subscription_next(pushed, 0, &mut event),
            EMBER_ERR_INVALID_ARGUMENT,
        );
        refused(
            ember_subscription_set_callback(pushed, Some(count), ended_ptr, None),
            EMBER_ERR_INVALID_ARGUMENT,
        );
        for _ in 0..200 {
            if ended.load(std::sync::atomic::Ordering::SeqCst) > 0 {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        ember_subscription_free(pushed);
        assert!(ended.load(std::sync::atomic::Ordering::SeqCst) >= 1);
        ember_subscription_free(pull);
    }
}

#[test]
fn the_last_error_belongs_to_the_thread_that_failed() {
    let f = open();
    let mut user = null_mut();
    unsafe {
        refused(
            ember_user_get(f.engine, random_id(), &mut user),
            EMBER_ERR_NOT_FOUND,
        );
        let engine = f.engine as usize;
        let other = std::thread::spawn(move || {
            let before = CStr::from_ptr(ember_last_error()).to_bytes().is_empty();
            let mut id = ember_uuid::default();
            let engine = engine as *const ember_engine;
            assert_eq!(ember_engine_epoch(engine, &mut id), EMBER_OK);
            before
        });
        assert!(
            other.join().unwrap(),
            "another thread saw this thread's error"
        );
        let message = CStr::from_ptr(ember_last_error()).to_string_lossy();
        assert!(message.contains("not found"), "{message}");
        assert_eq!(ember_user_get(f.engine, f.admin, &mut user), EMBER_OK);
        assert_eq!(CStr::from_ptr(ember_last_error()).to_bytes(), b"");
        ember_user_free(user);
    }
}
