//! The calls of the C ABI check: one function per `Call`, each checking its answer.

use std::ffi::{CStr, c_char, c_void};
use std::ptr::{null, null_mut};

use ember::*;

mod handles;

use super::{Call, Fixture, Strings, Text, options, out, verdict};
use handles::{null_handles, open, pipeline, register_plugin, subscribe};

pub(super) unsafe extern "C" fn command_continues(
    _: *mut c_void,
    _: *const c_char,
    _: *const c_char,
    _: *const ember_post_context,
    _: *mut ember_draft,
) -> i32 {
    EMBER_COMMAND_CONTINUE
}

pub(super) unsafe fn make(f: &Fixture, call: &Call) {
    let e = f.engine;
    match call {
        Call::OptionsInit { null_out } => {
            let mut o = options();
            let status = unsafe { ember_options_init(out(&mut o, *null_out)) };
            if verdict(call, status, *null_out, true) {
                assert_eq!(o.struct_size, size_of::<ember_options>());
            }
        }
        Call::Open {
            path,
            null_options,
            struct_size,
            null_out,
        } => {
            let size = struct_size.value(size_of::<ember_options>() as u64) as usize;
            open(f, call, path, *null_options, size, *null_out)
        }
        Call::Stats {
            null_engine,
            null_out,
            struct_size,
        } => {
            let size = struct_size.value(size_of::<ember_stats>() as u64) as usize;
            let mut stats = ember_stats {
                struct_size: size,
                ..Default::default()
            };
            let status =
                unsafe { ember_engine_stats(f.engine(*null_engine), out(&mut stats, *null_out)) };
            if verdict(call, status, *null_engine || *null_out, true) {
                assert_eq!(size, size_of::<ember_stats>());
            } else if !*null_engine && !*null_out {
                assert_eq!(status, ember_status::EMBER_ERR_ABI_MISMATCH);
            }
        }
        Call::RegisterPlugin { .. } => register_plugin(f, call),
        Call::CreateUser {
            null_engine,
            login,
            name,
            password,
            role,
            null_out,
        } => {
            let s = Strings::new(&[login, name, password]);
            let mut user = null_mut();
            let status = unsafe {
                ember_create_user(
                    f.engine(*null_engine),
                    s.ptr(0),
                    s.ptr(1),
                    s.ptr(2),
                    *role,
                    out(&mut user, *null_out),
                )
            };
            let null = *null_engine
                || *null_out
                || [login, name, password]
                    .iter()
                    .any(|t| matches!(t, Text::Null));
            let utf8 = [login, name, password].iter().all(|t| t.is_utf8());
            if verdict(call, status, null, utf8) {
                unsafe { ember_user_free(user) };
            }
        }
        Call::CreateBot {
            login,
            name,
            null_key,
        } => {
            let s = Strings::new(&[login, name]);
            let (mut user, mut key) = (null_mut(), null_mut());
            let status = unsafe {
                ember_create_bot(e, s.ptr(0), s.ptr(1), &mut user, out(&mut key, *null_key))
            };
            let null = *null_key || matches!(login, Text::Null) || matches!(name, Text::Null);
            if verdict(call, status, null, login.is_utf8() && name.is_utf8()) {
                unsafe { ember_user_free(user) };
                unsafe { ember_string_free(key) };
            }
        }
        Call::Login {
            login,
            password,
            address,
            null_token,
        } => {
            let s = Strings::new(&[login, password, address.as_ref().unwrap_or(&Text::Null)]);
            let mut token = null_mut();
            let mut id = ember_uuid { bytes: [0; 16] };
            let status = match address {
                None => unsafe {
                    ember_login(e, s.ptr(0), s.ptr(1), out(&mut token, *null_token), &mut id)
                },
                Some(_) => unsafe {
                    ember_login_from(
                        e,
                        s.ptr(0),
                        s.ptr(1),
                        s.ptr(2),
                        out(&mut token, *null_token),
                        &mut id,
                    )
                },
            };
            let null = *null_token || matches!(login, Text::Null) || matches!(password, Text::Null);
            let utf8 =
                login.is_utf8() && password.is_utf8() && address.as_ref().is_none_or(Text::is_utf8);
            if verdict(call, status, null, utf8) {
                unsafe { ember_string_free(token) };
            }
        }
        Call::Authenticate { token, bot } => {
            let s = Strings::new(&[token]);
            let mut user = null_mut();
            let status = match bot {
                false => unsafe { ember_authenticate(e, s.ptr(0), &mut user) },
                true => unsafe { ember_authenticate_bot(e, s.ptr(0), &mut user) },
            };
            if verdict(call, status, matches!(token, Text::Null), token.is_utf8()) {
                unsafe { ember_user_free(user) };
            }
        }
        Call::RevokeSession { token } => {
            let s = Strings::new(&[token]);
            let status = unsafe { ember_revoke_session(e, s.ptr(0)) };
            verdict(call, status, matches!(token, Text::Null), token.is_utf8());
        }
        Call::UserByLogin { login } => {
            let s = Strings::new(&[login]);
            let mut user = null_mut();
            let status = unsafe { ember_user_by_login(e, s.ptr(0), &mut user) };
            if verdict(call, status, matches!(login, Text::Null), login.is_utf8()) {
                unsafe { ember_user_free(user) };
            }
        }
        Call::SetBotWebhook { bot, url } => {
            let s = Strings::new(&[url]);
            let status = unsafe { ember_set_bot_webhook(e, f.id(bot), s.ptr(0)) };
            // NULL clears the webhook: not a NULL error.
            verdict(call, status, false, url.is_utf8());
        }
        Call::Post {
            null_engine,
            user,
            room,
            cmid,
            content,
            null_message,
            null_duplicate,
        } => {
            let s = Strings::new(&[content]);
            let (mut message, mut duplicate) = (null_mut(), false);
            let status = unsafe {
                ember_post(
                    f.engine(*null_engine),
                    f.id(user),
                    f.id(room),
                    ember_uuid { bytes: *cmid },
                    s.ptr(0),
                    out(&mut message, *null_message),
                    out(&mut duplicate, *null_duplicate),
                )
            };
            let null =
                *null_engine || *null_message || *null_duplicate || matches!(content, Text::Null);
            if verdict(call, status, null, content.is_utf8()) {
                unsafe { ember_message_free(message) };
            }
        }
        Call::Edit {
            user,
            message,
            content,
            null_out,
        } => {
            let s = Strings::new(&[content]);
            let mut m = null_mut();
            let status = unsafe {
                ember_edit_message(
                    e,
                    f.id(user),
                    f.id(message),
                    s.ptr(0),
                    out(&mut m, *null_out),
                )
            };
            if verdict(
                call,
                status,
                *null_out || matches!(content, Text::Null),
                content.is_utf8(),
            ) {
                unsafe { ember_message_free(m) };
            }
        }
        Call::Delete { user, message } => {
            let mut m = null_mut();
            if verdict(
                call,
                unsafe { ember_delete_message(e, f.id(user), f.id(message), &mut m) },
                false,
                true,
            ) {
                unsafe { ember_message_free(m) };
            }
        }
        Call::Search {
            user,
            text,
            limit,
            null_out,
        } => {
            let s = Strings::new(&[text]);
            let mut list = null_mut();
            let status =
                unsafe { ember_search(e, f.id(user), s.ptr(0), *limit, out(&mut list, *null_out)) };
            if verdict(
                call,
                status,
                *null_out || matches!(text, Text::Null),
                text.is_utf8(),
            ) {
                unsafe { ember_message_list_free(list) };
            }
        }
        Call::History {
            user,
            room,
            before,
            limit,
        } => {
            let mut list = null_mut();
            let status = unsafe {
                ember_messages_before(e, f.id(user), f.id(room), *before, *limit, &mut list)
            };
            if verdict(call, status, false, true) {
                unsafe { ember_message_list_free(list) };
            }
        }
        Call::Around { user, message, n } => {
            let mut list = null_mut();
            let status =
                unsafe { ember_messages_around(e, f.id(user), f.id(message), *n, &mut list) };
            if verdict(call, status, false, true) {
                unsafe { ember_message_list_free(list) };
            }
        }
        Call::Changes {
            user,
            room,
            since,
            limit,
            null_more,
        } => {
            let (mut list, mut more, mut head) = (null_mut(), false, 0);
            let status = unsafe {
                ember_changes_since(
                    e,
                    f.id(user),
                    f.id(room),
                    *since,
                    *limit,
                    &mut list,
                    out(&mut more, *null_more),
                    &mut head,
                )
            };
            if verdict(call, status, *null_more, true) {
                unsafe { ember_message_list_free(list) };
            }
        }
        Call::CreateRoom {
            kind,
            name,
            members,
            null_members,
        } => {
            let s = Strings::new(&[name]);
            let ids: Vec<ember_uuid> = members.iter().take(8).map(|m| f.id(m)).collect();
            let members_ptr = if *null_members { null() } else { ids.as_ptr() };
            let mut room = null_mut();
            let status = unsafe {
                ember_create_room(
                    e,
                    f.admin,
                    *kind,
                    s.ptr(0),
                    members_ptr,
                    ids.len(),
                    &mut room,
                )
            };
            let null = matches!(name, Text::Null) || (*null_members && !ids.is_empty());
            if verdict(call, status, null, name.is_utf8()) {
                unsafe { ember_room_free(room) };
            }
        }
        Call::DirectRoom { others } => {
            let ids: Vec<ember_uuid> = others.iter().take(8).map(|m| f.id(m)).collect();
            let mut room = null_mut();
            if verdict(
                call,
                unsafe { ember_direct_room(e, f.member, ids.as_ptr(), ids.len(), &mut room) },
                false,
                true,
            ) {
                unsafe { ember_room_free(room) };
            }
        }
        Call::Involvement { user, room, level } => {
            verdict(
                call,
                unsafe { ember_set_involvement(e, f.id(user), f.id(room), *level) },
                false,
                true,
            );
        }
        Call::MarkRead { user, room, seq } => {
            let mut unread = 0;
            verdict(
                call,
                unsafe { ember_mark_read(e, f.id(user), f.id(room), *seq, &mut unread) },
                false,
                true,
            );
        }
        Call::Typing { user, room, active } => {
            verdict(
                call,
                unsafe { ember_typing(e, f.id(user), f.id(room), *active) },
                false,
                true,
            );
        }
        Call::Subscribe {
            user,
            room,
            since,
            null_out,
        } => subscribe(f, call, user, room, *since, *null_out),
        Call::UuidParse { text, null_out } => {
            let s = Strings::new(&[text]);
            let mut id = ember_uuid { bytes: [0; 16] };
            let status = unsafe { ember_uuid_parse(s.ptr(0), out(&mut id, *null_out)) };
            verdict(
                call,
                status,
                *null_out || matches!(text, Text::Null),
                text.is_utf8(),
            );
        }
        Call::UuidFormat { buf_len, null_buf } => {
            let mut buf = [0xAAu8; 64];
            let len = usize::from(*buf_len) % (buf.len() + 1);
            let ptr = if *null_buf {
                null_mut()
            } else {
                buf.as_mut_ptr().cast()
            };
            let status = unsafe { ember_uuid_format(&f.room, ptr, len) };
            if verdict(call, status, *null_buf, true) {
                assert_eq!(buf[36], 0, "the formatted UUID ends with a NUL");
                assert!(
                    buf[37..].iter().all(|&b| b == 0xAA),
                    "ember_uuid_format wrote past 37 bytes"
                );
            }
        }
        Call::StatusName { status } => {
            let name = ember_status_name(*status);
            assert!(!name.is_null());
            // SAFETY: a static NUL-terminated string.
            assert!(
                unsafe { CStr::from_ptr(name) }
                    .to_str()
                    .is_ok_and(|n| n.starts_with("EMBER_"))
            );
        }
        Call::Pipeline { content, cmid } => pipeline(f, call, content, *cmid),
        Call::NullHandles => null_handles(call),
    }
}
