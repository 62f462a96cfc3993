//! Posting, editing, deleting, history, the changes feed and search.

use std::ffi::c_char;

use ::ember_engine::{Message, NewPost};

use crate::boundary::{
    arg_out, arg_str, c_string, c_string_opt, free_box, free_c_string, free_raw_slice, guard,
    guard_value, into_raw_slice,
};
use crate::engine::ember_engine;
use crate::handles::arg_engine;
use crate::ids::ember_uuid;
use crate::status::ember_status;

/// A message as it is now. A deleted message is a tombstone: `deleted` is true and
/// `content` is "". Owned by the caller when handed out alone: free with
/// `ember_message_free`; inside a list or an event it belongs to that.
#[repr(C)]
#[derive(Debug)]
pub struct ember_message {
    /// Stable id.
    pub id: ember_uuid,
    /// The room.
    pub room_id: ember_uuid,
    /// Position in the room: 1, 2, 3, ... with no gaps.
    pub seq: u64,
    /// The room's change sequence value of the latest create, edit or delete: a cursor for
    /// `since`.
    pub change_seq: u64,
    /// Author.
    pub creator_id: ember_uuid,
    /// The id the client posted it with.
    pub client_message_id: ember_uuid,
    /// Normalised content (UTF-8, never NULL); "" once deleted.
    pub content: *mut c_char,
    /// When it was posted (ms since the Unix epoch).
    pub created_at: i64,
    /// True when edited; then `edited_at` is the time of the last edit.
    pub edited: bool,
    /// Time of the last edit (ms), 0 when `edited` is false.
    pub edited_at: i64,
    /// True once deleted.
    pub deleted: bool,
    /// A sound attached by `/play`, or NULL.
    pub sound: *mut c_char,
    /// Members named with `@Name` (NULL when `mentions_len` is 0).
    pub mentions: *mut ember_uuid,
    /// How many mentions.
    pub mentions_len: usize,
}

impl From<Message> for ember_message {
    fn from(m: Message) -> Self {
        let (mentions, mentions_len) =
            into_raw_slice(m.mentions.into_iter().map(Into::into).collect());
        ember_message {
            id: m.id.into(),
            room_id: m.room_id.into(),
            seq: m.seq,
            change_seq: m.change_seq,
            creator_id: m.creator_id.into(),
            client_message_id: m.client_message_id.into(),
            content: c_string(m.content),
            created_at: m.created_at,
            edited: m.edited_at.is_some(),
            edited_at: m.edited_at.unwrap_or(0),
            deleted: m.deleted,
            sound: c_string_opt(m.sound),
            mentions,
            mentions_len,
        }
    }
}

impl Drop for ember_message {
    fn drop(&mut self) {
        free_c_string(self.content);
        free_c_string(self.sound);
        free_raw_slice(self.mentions, self.mentions_len);
    }
}

/// A list of messages. Free with `ember_message_list_free`.
#[repr(C)]
#[derive(Debug)]
pub struct ember_message_list {
    /// `len` messages (NULL when `len` is 0).
    pub items: *mut ember_message,
    /// How many.
    pub len: usize,
}

impl Drop for ember_message_list {
    fn drop(&mut self) {
        free_raw_slice(self.items, self.len);
    }
}

pub(crate) fn boxed_message(m: Message) -> *mut ember_message {
    Box::into_raw(Box::new(m.into()))
}

fn boxed_list(messages: Vec<Message>) -> *mut ember_message_list {
    let (items, len) = into_raw_slice(messages.into_iter().map(Into::into).collect());
    Box::into_raw(Box::new(ember_message_list { items, len }))
}

/// Posts a message, exactly once per `(room, client_message_id)`: posting the same pair
/// again writes nothing and returns the original message with `*out_duplicate` true.
/// Plugins run first (on this thread) and may rewrite or reject it. Returns after the
/// message is committed. On success `*out_message` is owned by the caller
/// (`ember_message_free`).
///
/// Thread-safe. Errors: `EMBER_ERR_NULL`; `EMBER_ERR_INVALID_ARGUMENT` (content not UTF-8);
/// `EMBER_ERR_VALIDATION` (empty or too long content, control characters);
/// `EMBER_ERR_FORBIDDEN` (not an active member); `EMBER_ERR_NOT_FOUND`;
/// `EMBER_ERR_RATE_LIMITED` (`ember_last_retry_after_ms`); `EMBER_ERR_REJECTED` (a plugin);
/// `EMBER_ERR_OVERLOADED`; `EMBER_ERR_CLOSED`; `EMBER_ERR_STORAGE`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ember_post(
    engine: *const ember_engine,
    user: ember_uuid,
    room: ember_uuid,
    client_message_id: ember_uuid,
    content: *const c_char,
    out_message: *mut *mut ember_message,
    out_duplicate: *mut bool,
) -> ember_status {
    guard(|| {
        let engine = &arg_engine(engine)?.engine;
        let content = arg_str(content, "content")?;
        let out_message = arg_out(out_message, "out_message")?;
        let out_duplicate = arg_out(out_duplicate, "out_duplicate")?;
        let posted = engine.post(NewPost {
            user: user.into(),
            room: room.into(),
            client_message_id: client_message_id.into(),
            content: content.to_owned(),
        })?;
        out_duplicate.write(posted.duplicate);
        out_message.write(boxed_message(posted.message));
        Ok(())
    })
}

/// Replaces a message's content (author or admin); the message takes the room's next
/// `change_seq`. On success `*out` is its new state (`ember_message_free`).
///
/// Thread-safe. Errors: `EMBER_ERR_NULL`; `EMBER_ERR_INVALID_ARGUMENT`;
/// `EMBER_ERR_VALIDATION`; `EMBER_ERR_FORBIDDEN`; `EMBER_ERR_NOT_FOUND`;
/// `EMBER_ERR_OVERLOADED`; `EMBER_ERR_CLOSED`; `EMBER_ERR_STORAGE`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ember_edit_message(
    engine: *const ember_engine,
    user: ember_uuid,
    message: ember_uuid,
    content: *const c_char,
    out: *mut *mut ember_message,
) -> ember_status {
    guard(|| {
        let engine = &arg_engine(engine)?.engine;
        let content = arg_str(content, "content")?;
        let out = arg_out(out, "out")?;
        let m = engine.edit_message(user.into(), message.into(), content)?;
        out.write(boxed_message(m));
        Ok(())
    })
}

/// Deletes a message (author or admin), leaving a tombstone with the same id and seq. On
/// success `*out` is the tombstone (`ember_message_free`).
///
/// Thread-safe. Errors: as `ember_edit_message`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ember_delete_message(
    engine: *const ember_engine,
    user: ember_uuid,
    message: ember_uuid,
    out: *mut *mut ember_message,
) -> ember_status {
    guard(|| {
        let engine = &arg_engine(engine)?.engine;
        let out = arg_out(out, "out")?;
        let m = engine.delete_message(user.into(), message.into())?;
        out.write(boxed_message(m));
        Ok(())
    })
}

/// A history page: up to `limit` (1 to 100) messages with `seq < before` (`before` = 0:
/// the newest), oldest first, tombstones included. On success `*out` is owned by the
/// caller (`ember_message_list_free`).
///
/// Thread-safe. Errors: `EMBER_ERR_NULL`; `EMBER_ERR_VALIDATION` (limit);
/// `EMBER_ERR_FORBIDDEN`; `EMBER_ERR_NOT_FOUND`; `EMBER_ERR_CLOSED`; `EMBER_ERR_STORAGE`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ember_messages_before(
    engine: *const ember_engine,
    user: ember_uuid,
    room: ember_uuid,
    before: u64,
    limit: usize,
    out: *mut *mut ember_message_list,
) -> ember_status {
    guard(|| {
        let engine = &arg_engine(engine)?.engine;
        let out = arg_out(out, "out")?;
        let before = (before > 0).then_some(before);
        let page = engine.messages_before(user.into(), room.into(), before, limit)?;
        out.write(boxed_list(page));
        Ok(())
    })
}

/// The message `message` with up to `n` (0 to 100) messages on each side, oldest first,
/// tombstones included: e.g. to open the history at a search hit or a notification. On
/// success `*out` is owned by the caller (`ember_message_list_free`).
///
/// Thread-safe. Errors: `EMBER_ERR_NULL`; `EMBER_ERR_VALIDATION` (`n` over 100);
/// `EMBER_ERR_FORBIDDEN`; `EMBER_ERR_NOT_FOUND`; `EMBER_ERR_CLOSED`; `EMBER_ERR_STORAGE`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ember_messages_around(
    engine: *const ember_engine,
    user: ember_uuid,
    message: ember_uuid,
    n: usize,
    out: *mut *mut ember_message_list,
) -> ember_status {
    guard(|| {
        let engine = &arg_engine(engine)?.engine;
        let out = arg_out(out, "out")?;
        let page = engine.messages_around(user.into(), message.into(), n)?;
        out.write(boxed_list(page));
        Ok(())
    })
}

/// The changes feed: the current state of every message created, edited or deleted after
/// change sequence `since`, in change order, at most `limit` (1 to 1000). `*out_more` true
/// means more remain: ask again from the last message's `change_seq`. `*out_head` is the
/// room's newest `change_seq`. On success `*out` is owned by the caller
/// (`ember_message_list_free`).
///
/// Thread-safe. Errors: as `ember_messages_before`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ember_changes_since(
    engine: *const ember_engine,
    user: ember_uuid,
    room: ember_uuid,
    since: u64,
    limit: usize,
    out: *mut *mut ember_message_list,
    out_more: *mut bool,
    out_head: *mut u64,
) -> ember_status {
    guard(|| {
        let engine = &arg_engine(engine)?.engine;
        let out = arg_out(out, "out")?;
        let out_more = arg_out(out_more, "out_more")?;
        let out_head = arg_out(out_head, "out_head")?;
        let changes = engine.changes_since(user.into(), room.into(), since, limit)?;
        out_more.write(changes.more);
        out_head.write(changes.head_change_seq);
        out.write(boxed_list(changes.messages));
        Ok(())
    })
}

/// Messages matching the words of `text` in `user`'s rooms, newest first, at most `limit`
/// (1 to 100). New messages become searchable shortly after they are acknowledged
/// (`search_delay_ms`). On success `*out` is owned by the caller
/// (`ember_message_list_free`).
///
/// Thread-safe. Errors: `EMBER_ERR_NULL`; `EMBER_ERR_INVALID_ARGUMENT`;
/// `EMBER_ERR_VALIDATION`; `EMBER_ERR_CLOSED`; `EMBER_ERR_STORAGE`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ember_search(
    engine: *const ember_engine,
    user: ember_uuid,
    text: *const c_char,
    limit: usize,
    out: *mut *mut ember_message_list,
) -> ember_status {
    guard(|| {
        let engine = &arg_engine(engine)?.engine;
        let text = arg_str(text, "text")?;
        let out = arg_out(out, "out")?;
        out.write(boxed_list(engine.search(user.into(), text, limit)?));
        Ok(())
    })
}

/// One message, for a member of its room. On success `*out` is owned by the caller
/// (`ember_message_free`).
///
/// Thread-safe. Errors: `EMBER_ERR_NULL`; `EMBER_ERR_NOT_FOUND`; `EMBER_ERR_FORBIDDEN`;
/// `EMBER_ERR_CLOSED`; `EMBER_ERR_STORAGE`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ember_message_get(
    engine: *const ember_engine,
    user: ember_uuid,
    message: ember_uuid,
    out: *mut *mut ember_message,
) -> ember_status {
    guard(|| {
        let engine = &arg_engine(engine)?.engine;
        let out = arg_out(out, "out")?;
        out.write(boxed_message(engine.message(user.into(), message.into())?));
        Ok(())
    })
}

/// Frees a message handed out by libember, with its strings. NULL is ignored.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ember_message_free(message: *mut ember_message) {
    guard_value((), || free_box(message))
}

/// Frees a message list and every message in it. NULL is ignored.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ember_message_list_free(list: *mut ember_message_list) {
    guard_value((), || free_box(list))
}
