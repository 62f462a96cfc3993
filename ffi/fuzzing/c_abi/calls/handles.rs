//! The calls that open, register or make handles: engines, plugins, subscriptions,
//! pipelines, and NULL handles everywhere.

use std::ptr::{null, null_mut};
use std::sync::atomic::Ordering;

use ember::*;

use super::command_continues;
use crate::c_abi::{
    Call, Fixture, Id, MAX_PLUGINS, OpenPath, Strings, Text, last_error, options, out, verdict,
};

pub(super) fn open(
    f: &Fixture,
    call: &Call,
    path: &OpenPath,
    null_options: bool,
    struct_size: usize,
    null_out: bool,
) {
    let bytes = match path {
        OpenPath::Null => None,
        OpenPath::NotUtf8(b) => Some([0xFF].iter().chain(b).copied().chain([0]).collect()),
        OpenPath::Temp => Some(f.open_path.clone()),
    };
    let path_ptr = bytes.as_ref().map_or(null(), |b| b.as_ptr().cast());
    let mut opts = options();
    opts.struct_size = struct_size;
    let opts_ptr = if null_options {
        null()
    } else {
        &opts as *const ember_options
    };
    let mut engine = null_mut();
    // SAFETY: NULL or valid arguments.
    let status = unsafe { ember_engine_open(path_ptr, opts_ptr, out(&mut engine, null_out)) };
    let null = matches!(path, OpenPath::Null) || null_options || null_out;
    let utf8 = !matches!(path, OpenPath::NotUtf8(_));
    if verdict(call, status, null, utf8) {
        assert_eq!(struct_size, size_of::<ember_options>());
        // SAFETY: the engine just opened, closed once.
        verdict(call, unsafe { ember_engine_close(engine) }, false, true);
    } else if !null && utf8 {
        assert_eq!(
            status,
            ember_status::EMBER_ERR_ABI_MISMATCH,
            "{call:?}: {}",
            last_error()
        );
    }
}

pub(super) fn register_plugin(f: &Fixture, call: &Call) {
    let Call::RegisterPlugin {
        null_engine,
        null_plugin,
        abi_version,
        struct_size,
        name,
        commands,
    } = call
    else {
        return;
    };
    let abi_version = abi_version.value(u64::from(EMBER_PLUGIN_ABI_VERSION)) as u32;
    let struct_size = struct_size.value(size_of::<ember_plugin>() as u64) as u32;
    let valid_head = abi_version == EMBER_PLUGIN_ABI_VERSION
        && struct_size as usize == size_of::<ember_plugin>();
    if valid_head
        && !*null_engine
        && !*null_plugin
        && f.plugins.load(Ordering::Relaxed) >= MAX_PLUGINS
    {
        return;
    }
    let commands = &commands[..commands.len().min(4)];
    let names: Vec<&Text> = std::iter::once(name)
        .chain(commands.iter().map(|c| &c.name))
        .collect();
    let s = Strings::new(&names);
    let specs: Vec<ember_plugin_command> = commands
        .iter()
        .enumerate()
        .map(|(n, c)| ember_plugin_command {
            name: s.ptr(n + 1),
            priority: c.priority,
            handler: c.handler.then_some(command_continues as _),
        })
        .collect();
    let plugin = ember_plugin {
        abi_version,
        struct_size,
        name: s.ptr(0),
        user_data: null_mut(),
        destroy: None,
        on_post: None,
        on_event: None,
        commands: if specs.is_empty() {
            null()
        } else {
            specs.as_ptr()
        },
        commands_len: specs.len(),
    };
    let plugin_ptr = if *null_plugin {
        null()
    } else {
        &plugin as *const ember_plugin
    };
    // SAFETY: NULL or valid arguments; the strings outlive the call.
    let status = unsafe { ember_engine_register_plugin(f.engine(*null_engine), plugin_ptr) };
    let null_inside =
        names.iter().any(|t| matches!(t, Text::Null)) || commands.iter().any(|c| !c.handler);
    let null = *null_engine || *null_plugin || (valid_head && null_inside);
    let utf8 = !valid_head || names.iter().all(|t| t.is_utf8());
    if verdict(call, status, null, utf8) {
        f.plugins.fetch_add(1, Ordering::Relaxed);
    } else if !*null_engine && !*null_plugin && !valid_head {
        assert_eq!(
            status,
            ember_status::EMBER_ERR_ABI_MISMATCH,
            "{call:?}: {}",
            last_error()
        );
    }
}

pub(super) fn subscribe(
    f: &Fixture,
    call: &Call,
    user: &Id,
    room: &Id,
    since: Option<u64>,
    null_out: bool,
) {
    let mut sub = null_mut();
    // SAFETY: valid handle and ids; the output NULL or valid.
    let status = unsafe {
        match since {
            None => ember_subscribe_room(f.engine, f.id(user), f.id(room), out(&mut sub, null_out)),
            Some(s) => ember_subscribe_room_since(
                f.engine,
                f.id(user),
                f.id(room),
                s,
                out(&mut sub, null_out),
            ),
        }
    };
    if !verdict(call, status, null_out, true) {
        return;
    }
    let (mut head, mut complete) = (0, false);
    // SAFETY: the subscription just made, NULL outputs on purpose, freed once at the end.
    unsafe {
        verdict(
            call,
            ember_subscription_head_change_seq(sub, &mut head),
            false,
            true,
        );
        verdict(
            call,
            ember_subscription_head_change_seq(sub, null_mut()),
            true,
            true,
        );
        verdict(
            call,
            ember_subscription_complete(sub, &mut complete),
            false,
            true,
        );
        verdict(
            call,
            ember_subscription_next(sub, 0, null_mut()),
            true,
            true,
        );
        let mut event = null_mut();
        let status = ember_subscription_next(sub, 0, &mut event);
        verdict(call, status, false, true);
        if status == ember_status::EMBER_OK {
            ember_event_free(event);
        }
        ember_subscription_free(sub);
    }
}

pub(super) fn pipeline(f: &Fixture, call: &Call, content: &Text, cmid: [u8; 16]) {
    let mut p = null_mut();
    // SAFETY: valid handle and output; no callback.
    let status = unsafe { ember_pipeline_new(f.engine, None, null_mut(), None, &mut p) };
    if !verdict(call, status, false, true) {
        return;
    }
    let s = Strings::new(&[content]);
    let mut ticket = 0;
    // SAFETY: the pipeline just made; the string valid or NULL; freed once at the end.
    unsafe {
        let status = ember_pipeline_post(
            p,
            f.member,
            f.room,
            ember_uuid { bytes: cmid },
            s.ptr(0),
            &mut ticket,
        );
        if verdict(
            call,
            status,
            matches!(content, Text::Null),
            content.is_utf8(),
        ) {
            let mut completion = null_mut();
            let status = ember_pipeline_next(p, 10_000, &mut completion);
            assert_eq!(
                status,
                ember_status::EMBER_OK,
                "{call:?}: the completion of an accepted post: {}",
                last_error()
            );
            ember_completion_free(completion);
        }
        ember_pipeline_free(p);
    }
}

/// Every function that takes a handle, given NULL: `EMBER_ERR_NULL`, or nothing for frees.
pub(super) fn null_handles(call: &Call) {
    let id = ember_uuid { bytes: [1; 16] };
    // SAFETY: NULL handles are allowed (refused with EMBER_ERR_NULL or ignored).
    unsafe {
        let mut sink = null_mut();
        for status in [
            ember_engine_close(null_mut()),
            ember_engine_epoch(null(), null_mut()),
            ember_subscription_next(null_mut(), 0, &mut sink),
            ember_subscription_head_change_seq(null(), null_mut()),
            ember_pipeline_post(null_mut(), id, id, id, c"x".as_ptr(), null_mut()),
            ember_pipeline_next(null_mut(), 0, null_mut()),
            ember_draft_content(null(), null_mut()),
            ember_draft_set_content(null_mut(), c"x".as_ptr()),
            ember_draft_set_sound(null_mut(), null()),
            ember_draft_set_reason(null_mut(), c"x".as_ptr()),
            ember_uuid_equal(null(), null(), null_mut()),
            ember_uuid_new(null_mut()),
        ] {
            verdict(call, status, true, true);
        }
        ember_string_free(null_mut());
        ember_user_free(null_mut());
        ember_user_list_free(null_mut());
        ember_message_free(null_mut());
        ember_message_list_free(null_mut());
        ember_room_free(null_mut());
        ember_room_list_free(null_mut());
        ember_room_array_free(null_mut());
        ember_member_list_free(null_mut());
        ember_event_free(null_mut());
        ember_uuid_list_free(null_mut());
        ember_subscription_free(null_mut());
        ember_completion_free(null_mut());
        ember_pipeline_free(null_mut());
        ember_plugin_status_list_free(null_mut());
    }
}
