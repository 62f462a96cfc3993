//! Rooms, memberships, involvement and read positions.

use std::ffi::c_char;

use ::ember_engine::{Involvement, Member, Room, RoomKind, RoomSummary, UserId};

use crate::accounts::ember_user;
use crate::handles::arg_engine;

use crate::boundary::{
    Failure, arg_out, arg_slice, arg_str, c_string, free_box, free_c_string, free_raw_slice, guard,
    guard_value, into_raw_slice,
};
use crate::engine::ember_engine;
use crate::ids::ember_uuid;
use crate::status::ember_status;

/// The kind of a room.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ember_room_kind {
    /// Every active person is a member, including people created later.
    EMBER_ROOM_OPEN = 0,
    /// Only explicitly added members.
    EMBER_ROOM_CLOSED = 1,
    /// One room per exact set of users (`ember_direct_room`).
    EMBER_ROOM_DIRECT = 2,
}

/// How much a member wants to hear from a room.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ember_involvement {
    /// Hidden from the room list, no notifications.
    EMBER_INVOLVEMENT_INVISIBLE = 0,
    /// Listed, no notifications.
    EMBER_INVOLVEMENT_NOTHING = 1,
    /// Notified when mentioned (default for shared rooms).
    EMBER_INVOLVEMENT_MENTIONS = 2,
    /// Notified of every message (default for direct rooms).
    EMBER_INVOLVEMENT_EVERYTHING = 3,
}

impl From<Involvement> for ember_involvement {
    fn from(i: Involvement) -> Self {
        match i {
            Involvement::Invisible => ember_involvement::EMBER_INVOLVEMENT_INVISIBLE,
            Involvement::Nothing => ember_involvement::EMBER_INVOLVEMENT_NOTHING,
            Involvement::Mentions => ember_involvement::EMBER_INVOLVEMENT_MENTIONS,
            Involvement::Everything => ember_involvement::EMBER_INVOLVEMENT_EVERYTHING,
        }
    }
}

/// A room. Owned by the caller when handed out alone: free with `ember_room_free`.
#[repr(C)]
#[derive(Debug)]
pub struct ember_room {
    /// Stable id.
    pub id: ember_uuid,
    /// Open, closed or direct.
    pub kind: ember_room_kind,
    /// Name (UTF-8; for direct rooms, the members' names).
    pub name: *mut c_char,
    /// Who created it.
    pub creator_id: ember_uuid,
    /// Creation time (ms since the Unix epoch).
    pub created_at: i64,
    /// True when the room has messages; then `last_message_at` is the newest one's time.
    pub has_messages: bool,
    /// Time of the newest message (ms), 0 when `has_messages` is false.
    pub last_message_at: i64,
    /// `seq` of the newest message (0 when empty).
    pub head_seq: u64,
    /// Newest `change_seq` (0 when nothing happened yet): a cursor for `since`.
    pub head_change_seq: u64,
}

impl From<Room> for ember_room {
    fn from(r: Room) -> Self {
        ember_room {
            id: r.id.into(),
            kind: match r.kind {
                RoomKind::Open => ember_room_kind::EMBER_ROOM_OPEN,
                RoomKind::Closed => ember_room_kind::EMBER_ROOM_CLOSED,
                RoomKind::Direct => ember_room_kind::EMBER_ROOM_DIRECT,
            },
            name: c_string(r.name),
            creator_id: r.creator_id.into(),
            created_at: r.created_at,
            has_messages: r.last_message_at.is_some(),
            last_message_at: r.last_message_at.unwrap_or(0),
            head_seq: r.head_seq,
            head_change_seq: r.head_change_seq,
        }
    }
}

impl Drop for ember_room {
    fn drop(&mut self) {
        free_c_string(self.name);
    }
}

/// One line of a user's room list.
#[repr(C)]
#[derive(Debug)]
pub struct ember_room_summary {
    /// The room (its strings belong to the summary).
    pub room: ember_room,
    /// The user's involvement.
    pub involvement: ember_involvement,
    /// Messages after the user's read position.
    pub unread: u64,
    /// The user's read position (`seq`).
    pub last_read_seq: u64,
}

impl From<RoomSummary> for ember_room_summary {
    fn from(s: RoomSummary) -> Self {
        ember_room_summary {
            room: s.room.into(),
            involvement: s.involvement.into(),
            unread: s.unread,
            last_read_seq: s.last_read_seq,
        }
    }
}

/// A user's room list, most recently active first. Free with `ember_room_list_free`.
#[repr(C)]
#[derive(Debug)]
pub struct ember_room_list {
    /// `len` summaries (NULL when `len` is 0).
    pub items: *mut ember_room_summary,
    /// How many.
    pub len: usize,
}

impl Drop for ember_room_list {
    fn drop(&mut self) {
        free_raw_slice(self.items, self.len);
    }
}

/// A list of rooms (without a user's unread counts). Free with `ember_room_array_free`.
#[repr(C)]
#[derive(Debug)]
pub struct ember_room_array {
    /// `len` rooms (NULL when `len` is 0).
    pub items: *mut ember_room,
    /// How many.
    pub len: usize,
}

impl Drop for ember_room_array {
    fn drop(&mut self) {
        free_raw_slice(self.items, self.len);
    }
}

/// A member of a room.
#[repr(C)]
#[derive(Debug)]
pub struct ember_member {
    /// The user (its strings belong to the member).
    pub user: ember_user,
    /// Their involvement in the room.
    pub involvement: ember_involvement,
}

impl From<Member> for ember_member {
    fn from(m: Member) -> Self {
        ember_member {
            user: m.user.into(),
            involvement: m.involvement.into(),
        }
    }
}

/// The members of a room. Free with `ember_member_list_free`.
#[repr(C)]
#[derive(Debug)]
pub struct ember_member_list {
    /// `len` members (NULL when `len` is 0).
    pub items: *mut ember_member,
    /// How many.
    pub len: usize,
}

impl Drop for ember_member_list {
    fn drop(&mut self) {
        free_raw_slice(self.items, self.len);
    }
}

fn boxed_room(r: Room) -> *mut ember_room {
    Box::into_raw(Box::new(r.into()))
}

fn user_ids(ids: &[ember_uuid]) -> Vec<UserId> {
    ids.iter().map(|&u| u.into()).collect()
}

/// Creates a room: `kind` is `EMBER_ROOM_OPEN` (every active person is a member) or
/// `EMBER_ROOM_CLOSED` (the creator plus the `members_len` users in `members`, which may be
/// NULL when `members_len` is 0). Bots cannot create rooms. On success `*out` is the new
/// room, owned by the caller (`ember_room_free`).
///
/// Thread-safe. Errors: `EMBER_ERR_NULL`; `EMBER_ERR_INVALID_ARGUMENT` (not UTF-8, kind not
/// open or closed); `EMBER_ERR_VALIDATION`; `EMBER_ERR_FORBIDDEN`; `EMBER_ERR_NOT_FOUND`;
/// `EMBER_ERR_CLOSED`; `EMBER_ERR_STORAGE`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ember_create_room(
    engine: *const ember_engine,
    creator: ember_uuid,
    kind: u32,
    name: *const c_char,
    members: *const ember_uuid,
    members_len: usize,
    out: *mut *mut ember_room,
) -> ember_status {
    guard(|| {
        let engine = &arg_engine(engine)?.engine;
        let name = arg_str(name, "name")?;
        let members = arg_slice(members, members_len, "members")?;
        let out = arg_out(out, "out")?;
        let kind = match kind {
            0 => RoomKind::Open,
            1 => RoomKind::Closed,
            2 => {
                return Err(Failure::invalid(
                    "direct rooms are made with ember_direct_room",
                ));
            }
            n => {
                return Err(Failure::invalid(format!(
                    "kind {n} is not an ember_room_kind"
                )));
            }
        };
        let room = engine.create_room(creator.into(), kind, name, &user_ids(members))?;
        out.write(boxed_room(room));
        Ok(())
    })
}

/// The direct room of `creator` and the `others_len` users in `others`: created the first
/// time, the same room every time after. On success `*out` is owned by the caller
/// (`ember_room_free`).
///
/// Thread-safe. Errors: `EMBER_ERR_NULL`; `EMBER_ERR_VALIDATION`; `EMBER_ERR_FORBIDDEN`;
/// `EMBER_ERR_NOT_FOUND`; `EMBER_ERR_CLOSED`; `EMBER_ERR_STORAGE`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ember_direct_room(
    engine: *const ember_engine,
    creator: ember_uuid,
    others: *const ember_uuid,
    others_len: usize,
    out: *mut *mut ember_room,
) -> ember_status {
    guard(|| {
        let engine = &arg_engine(engine)?.engine;
        let others = arg_slice(others, others_len, "others")?;
        let out = arg_out(out, "out")?;
        let room = engine.direct_room(creator.into(), &user_ids(others))?;
        out.write(boxed_room(room));
        Ok(())
    })
}

/// A room `user` belongs to. On success `*out` is owned by the caller (`ember_room_free`).
///
/// Thread-safe. Errors: `EMBER_ERR_NULL`; `EMBER_ERR_NOT_FOUND`; `EMBER_ERR_FORBIDDEN`;
/// `EMBER_ERR_CLOSED`; `EMBER_ERR_STORAGE`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ember_room_get(
    engine: *const ember_engine,
    user: ember_uuid,
    room: ember_uuid,
    out: *mut *mut ember_room,
) -> ember_status {
    guard(|| {
        let engine = &arg_engine(engine)?.engine;
        let out = arg_out(out, "out")?;
        out.write(boxed_room(engine.room(user.into(), room.into())?));
        Ok(())
    })
}

/// Adds `user` to a room; `actor` must be an admin or the room's creator. Adding a member
/// again changes nothing.
///
/// Thread-safe. Errors: `EMBER_ERR_NULL`; `EMBER_ERR_FORBIDDEN`; `EMBER_ERR_NOT_FOUND`;
/// `EMBER_ERR_VALIDATION`; `EMBER_ERR_CLOSED`; `EMBER_ERR_STORAGE`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ember_add_member(
    engine: *const ember_engine,
    actor: ember_uuid,
    room: ember_uuid,
    user: ember_uuid,
) -> ember_status {
    guard(|| {
        let engine = &arg_engine(engine)?.engine;
        engine.add_member(actor.into(), room.into(), user.into())?;
        Ok(())
    })
}

/// Removes `user` from a closed room (or a bot from an open room); `actor` must be an
/// admin, the room's creator or the user themselves. The user's room subscription ends
/// with an `EMBER_EVENT_REVOKED` event.
///
/// Thread-safe. Errors: as `ember_add_member`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ember_remove_member(
    engine: *const ember_engine,
    actor: ember_uuid,
    room: ember_uuid,
    user: ember_uuid,
) -> ember_status {
    guard(|| {
        let engine = &arg_engine(engine)?.engine;
        engine.remove_member(actor.into(), room.into(), user.into())?;
        Ok(())
    })
}

/// Sets how much `user` hears from a room; `involvement` is an `ember_involvement`.
///
/// Thread-safe. Errors: `EMBER_ERR_NULL`; `EMBER_ERR_INVALID_ARGUMENT` (unknown value);
/// `EMBER_ERR_NOT_FOUND`; `EMBER_ERR_FORBIDDEN`; `EMBER_ERR_CLOSED`; `EMBER_ERR_STORAGE`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ember_set_involvement(
    engine: *const ember_engine,
    user: ember_uuid,
    room: ember_uuid,
    involvement: u32,
) -> ember_status {
    guard(|| {
        let engine = &arg_engine(engine)?.engine;
        let involvement = match involvement {
            0 => Involvement::Invisible,
            1 => Involvement::Nothing,
            2 => Involvement::Mentions,
            3 => Involvement::Everything,
            n => {
                return Err(Failure::invalid(format!(
                    "involvement {n} is not an ember_involvement"
                )));
            }
        };
        engine.set_involvement(user.into(), room.into(), involvement)?;
        Ok(())
    })
}

/// The rooms of `user`, most recently active first, with unread counts. On success `*out`
/// is owned by the caller (`ember_room_list_free`).
///
/// Thread-safe. Errors: `EMBER_ERR_NULL`; `EMBER_ERR_CLOSED`; `EMBER_ERR_STORAGE`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ember_rooms_for(
    engine: *const ember_engine,
    user: ember_uuid,
    out: *mut *mut ember_room_list,
) -> ember_status {
    guard(|| {
        let engine = &arg_engine(engine)?.engine;
        let out = arg_out(out, "out")?;
        let rooms = engine.rooms_for(user.into())?;
        let (items, len) = into_raw_slice(rooms.into_iter().map(Into::into).collect());
        out.write(Box::into_raw(Box::new(ember_room_list { items, len })));
        Ok(())
    })
}

/// Moves `user`'s read position in a room to `seq` (never backwards, never past the newest
/// message); `*out_unread` is the room's unread count for them afterwards.
///
/// Thread-safe. Errors: `EMBER_ERR_NULL`; `EMBER_ERR_NOT_FOUND`; `EMBER_ERR_FORBIDDEN`;
/// `EMBER_ERR_CLOSED`; `EMBER_ERR_STORAGE`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ember_mark_read(
    engine: *const ember_engine,
    user: ember_uuid,
    room: ember_uuid,
    seq: u64,
    out_unread: *mut u64,
) -> ember_status {
    guard(|| {
        let engine = &arg_engine(engine)?.engine;
        let out_unread = arg_out(out_unread, "out_unread")?;
        out_unread.write(engine.mark_read(user.into(), room.into(), seq)?);
        Ok(())
    })
}

/// Every room, for administration (host-level: no access check, direct rooms included).
/// On success `*out` is owned by the caller (`ember_room_array_free`).
///
/// Thread-safe. Errors: `EMBER_ERR_NULL`; `EMBER_ERR_CLOSED`; `EMBER_ERR_STORAGE`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ember_all_rooms(
    engine: *const ember_engine,
    out: *mut *mut ember_room_array,
) -> ember_status {
    guard(|| {
        let engine = &arg_engine(engine)?.engine;
        let out = arg_out(out, "out")?;
        let rooms = engine.all_rooms()?;
        let (items, len) = into_raw_slice(rooms.into_iter().map(Into::into).collect());
        out.write(Box::into_raw(Box::new(ember_room_array { items, len })));
        Ok(())
    })
}

/// The members of a room `user` belongs to, each with their involvement. On success `*out`
/// is owned by the caller (`ember_member_list_free`).
///
/// Thread-safe. Errors: `EMBER_ERR_NULL`; `EMBER_ERR_NOT_FOUND`; `EMBER_ERR_FORBIDDEN`
/// (not a member); `EMBER_ERR_CLOSED`; `EMBER_ERR_STORAGE`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ember_members(
    engine: *const ember_engine,
    user: ember_uuid,
    room: ember_uuid,
    out: *mut *mut ember_member_list,
) -> ember_status {
    guard(|| {
        let engine = &arg_engine(engine)?.engine;
        let out = arg_out(out, "out")?;
        let members = engine.members(user.into(), room.into())?;
        let (items, len) = into_raw_slice(members.into_iter().map(Into::into).collect());
        out.write(Box::into_raw(Box::new(ember_member_list { items, len })));
        Ok(())
    })
}

/// Frees a room handed out by libember, with its name. NULL is ignored.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ember_room_free(room: *mut ember_room) {
    guard_value((), || free_box(room))
}

/// Frees a room list and every summary in it. NULL is ignored.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ember_room_list_free(list: *mut ember_room_list) {
    guard_value((), || free_box(list))
}

/// Frees a room array and every room in it. NULL is ignored.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ember_room_array_free(list: *mut ember_room_array) {
    guard_value((), || free_box(list))
}

/// Frees a member list and every member in it. NULL is ignored.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn ember_member_list_free(list: *mut ember_member_list) {
    guard_value((), || free_box(list))
}
