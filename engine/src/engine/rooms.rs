//! Rooms, memberships, read positions.

use super::Engine;
use crate::content::normalize_name;
use crate::error::Result;
use crate::ids::{RoomId, UserId};
use crate::model::{Involvement, Member, Room, RoomKind, RoomSummary};
use crate::store::Op;

impl Engine {
    /// Creates an open room (every active person is a member, now and later) or a closed
    /// room (the creator plus `members`). Bots cannot create rooms.
    pub fn create_room(
        &self,
        creator: UserId,
        kind: RoomKind,
        name: &str,
        members: &[UserId],
    ) -> Result<Room> {
        let name = normalize_name("name", name)?;
        self.write(|reply| Op::CreateRoom {
            creator,
            kind,
            name,
            members: members.to_vec(),
            reply,
        })
    }

    /// The direct room of `creator` and `others` (one per exact set of users): created the
    /// first time, returned as it is every time after.
    pub fn direct_room(&self, creator: UserId, others: &[UserId]) -> Result<Room> {
        self.write(|reply| Op::DirectRoom {
            creator,
            users: others.to_vec(),
            reply,
        })
    }

    /// Adds `user` to a room; `actor` must be an admin or the room's creator. Adding a
    /// member again changes nothing. Bots join open rooms only this way.
    pub fn add_member(&self, actor: UserId, room: RoomId, user: UserId) -> Result<()> {
        self.write(|reply| Op::AddMember {
            actor,
            room,
            user,
            reply,
        })
    }

    /// Removes `user` from a closed room (or a bot from an open room); `actor` must be an
    /// admin, the room's creator, or the user themselves.
    pub fn remove_member(&self, actor: UserId, room: RoomId, user: UserId) -> Result<()> {
        self.write(|reply| Op::RemoveMember {
            actor,
            room,
            user,
            reply,
        })
    }

    /// Sets how much the user hears from a room.
    pub fn set_involvement(
        &self,
        user: UserId,
        room: RoomId,
        involvement: Involvement,
    ) -> Result<()> {
        self.write(|reply| Op::SetInvolvement {
            user,
            room,
            involvement,
            reply,
        })
    }

    /// Moves the user's read position to `seq` (never backwards, never past the newest
    /// message) and returns the room's unread count for them.
    pub fn mark_read(&self, user: UserId, room: RoomId, seq: u64) -> Result<u64> {
        self.write(|reply| Op::MarkRead {
            user,
            room,
            seq,
            reply,
        })
    }

    /// The user's rooms, most recently active first, with unread counts.
    pub fn rooms_for(&self, user: UserId) -> Result<Vec<RoomSummary>> {
        self.store().reads()?.room_list(user)
    }

    /// A room the user belongs to.
    pub fn room(&self, user: UserId, room: RoomId) -> Result<Room> {
        self.store().reads()?.room(user, room)
    }

    /// Every room, for administration (host-level: no access check).
    pub fn all_rooms(&self) -> Result<Vec<Room>> {
        self.store().reads()?.all_rooms()
    }

    /// The members of a room the user belongs to.
    pub fn members(&self, user: UserId, room: RoomId) -> Result<Vec<Member>> {
        self.store().reads()?.members(user, room)
    }
}
