//! Rules both stores enforce, each in its own SQL, and the errors they give: one copy, so
//! that SQLite and PostgreSQL cannot drift apart on who may do what.

use crate::error::Error;
use crate::model::Role;

/// An active user, as a store keys it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Actor {
    pub key: i64,
    pub role: Role,
}

impl Actor {
    /// Admins and the room's creator manage membership (anyone may remove themselves).
    pub(crate) fn manages(&self, creator_key: i64) -> bool {
        self.role == Role::Admin || self.key == creator_key
    }
}

/// Adding or removing someone else by a user who does not manage the room.
pub(crate) fn not_manager() -> Error {
    Error::Forbidden("only an admin or the room's creator manages members")
}

/// Adding or removing a member of a direct room.
pub(crate) fn direct_is_fixed() -> Error {
    Error::validation("room", "a direct room's members are fixed")
}

/// A post whose `client_message_id` another user already used in the room.
pub(crate) fn client_id_taken() -> Error {
    Error::validation(
        "client_message_id",
        "was already used by another user in this room",
    )
}
