//! The engine's data: users, rooms, memberships and messages as callers see them.

use crate::ids::{ClientMessageId, MessageId, RoomId, UserId};

macro_rules! int_enum {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident = $num:literal => $text:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
        pub enum $name {
            $($(#[$vdoc])* $variant = $num),+
        }

        impl $name {
            /// The lower-case name used in protocols and on the command line.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            /// Parses the lower-case name.
            pub fn parse(s: &str) -> Option<Self> {
                match s { $($text => Some($name::$variant),)+ _ => None }
            }

            pub(crate) fn from_i64(n: i64) -> rusqlite::Result<Self> {
                match n {
                    $($num => Ok($name::$variant),)+
                    _ => Err(rusqlite::Error::IntegralValueOutOfRange(0, n)),
                }
            }
        }
    };
}

int_enum!(
    /// What a user may do.
    Role {
        /// Manages users and rooms; may edit or delete any message.
        Admin = 0 => "admin",
        /// A person.
        Member = 1 => "member",
        /// A program; authenticates with a bot key and only sees rooms it was added to.
        Bot = 2 => "bot",
    }
);

int_enum!(
    /// The kind of a room.
    RoomKind {
        /// Every active person is a member, including people created later.
        Open = 0 => "open",
        /// Only explicitly added members.
        Closed = 1 => "closed",
        /// A conversation between one exact set of users; there is one per set.
        Direct = 2 => "direct",
    }
);

int_enum!(
    /// How much a member wants to hear from a room (Campfire's levels).
    Involvement {
        /// Hidden from the room list, no notifications.
        Invisible = 0 => "invisible",
        /// Listed, no notifications.
        Nothing = 1 => "nothing",
        /// Notified when mentioned (default for shared rooms).
        Mentions = 2 => "mentions",
        /// Notified of every message (default for direct rooms).
        Everything = 3 => "everything",
    }
);

/// A user account.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct User {
    /// Stable id.
    pub id: UserId,
    /// Unique login, compared case-insensitively.
    pub login: String,
    /// Display name (also what `@Name` mentions match).
    pub name: String,
    /// What the user may do.
    pub role: Role,
    /// False once deactivated; a deactivated user can do nothing.
    pub active: bool,
    /// Creation time, milliseconds since the Unix epoch.
    pub created_at: i64,
}

/// What [`crate::Engine::create_user`] needs.
#[derive(Clone, Debug)]
pub struct NewUser {
    /// Unique login (case-insensitive), 1..=64 characters, no spaces or control characters.
    pub login: String,
    /// Display name, 1..=100 characters.
    pub name: String,
    /// Password, 8..=1024 bytes; stored as an argon2id hash.
    pub password: String,
    /// [`Role::Admin`] or [`Role::Member`]; bots are made with [`crate::Engine::create_bot`].
    pub role: Role,
}

/// A session handed out by [`crate::Engine::login`].
#[derive(Clone, Debug)]
pub struct Login {
    /// The bearer token: 64 hex characters (256 random bits). Only its hash is stored, so
    /// this is the only time it can be read.
    pub token: String,
    /// Who logged in.
    pub user: User,
    /// When the session lapses unless used (milliseconds since the Unix epoch).
    pub expires_at: i64,
}

/// A bot account and its secret key.
#[derive(Clone, Debug)]
pub struct Bot {
    /// The bot's user record (role [`Role::Bot`]).
    pub user: User,
    /// The secret key (64 hex characters); only its hash is stored, so this is the only time
    /// it can be read.
    pub key: String,
    /// The secret the host signs the bot's webhook calls with (64 hex characters; see
    /// [`crate::Engine::bot_webhook_secret`]). Stored as is, since signing needs it.
    pub webhook_secret: String,
}

/// A room.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Room {
    /// Stable id.
    pub id: RoomId,
    /// Open, closed or direct.
    pub kind: RoomKind,
    /// Name (for direct rooms, the members' names).
    pub name: String,
    /// Who created it.
    pub creator_id: UserId,
    /// Creation time (ms).
    pub created_at: i64,
    /// Time of the newest message (ms), if any.
    pub last_message_at: Option<i64>,
    /// `seq` of the newest message (0 when empty).
    pub head_seq: u64,
    /// Newest `change_seq` (0 when nothing happened yet).
    pub head_change_seq: u64,
}

/// One line of a user's room list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RoomSummary {
    /// The room.
    pub room: Room,
    /// The user's involvement.
    pub involvement: Involvement,
    /// Messages after the user's read position.
    pub unread: u64,
    /// The user's read position (`seq`).
    pub last_read_seq: u64,
}

/// A member of a room.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Member {
    /// The user.
    pub user: User,
    /// Their involvement in the room.
    pub involvement: Involvement,
}

/// A message as it is now. A deleted message is a tombstone: `deleted` is true and
/// `content` is empty.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    /// Stable id.
    pub id: MessageId,
    /// The room it belongs to.
    pub room_id: RoomId,
    /// Position in the room: 1, 2, 3, ... with no gaps.
    pub seq: u64,
    /// The room's change sequence value of the latest create, edit or delete of this message.
    pub change_seq: u64,
    /// Author.
    pub creator_id: UserId,
    /// The id the client posted it with.
    pub client_message_id: ClientMessageId,
    /// Normalised content; empty once deleted.
    pub content: String,
    /// When it was posted (ms).
    pub created_at: i64,
    /// When it was last edited (ms).
    pub edited_at: Option<i64>,
    /// True once deleted.
    pub deleted: bool,
    /// A sound attached by `/play`.
    pub sound: Option<String>,
    /// Members named with `@Name` in the content.
    pub mentions: Vec<UserId>,
}

/// What [`crate::Engine::post`] needs.
#[derive(Clone, Debug)]
pub struct NewPost {
    /// The author (already authenticated by the caller).
    pub user: UserId,
    /// Where to post.
    pub room: RoomId,
    /// The client's id for this post; retrying with the same id never creates a second message.
    pub client_message_id: ClientMessageId,
    /// 1..=10000 characters after trimming.
    pub content: String,
}

/// The answer to a post.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Posted {
    /// The stored message (for a duplicate: the original, unchanged).
    pub message: Message,
    /// True when `(room, client_message_id)` had been posted before and nothing was written.
    pub duplicate: bool,
}

/// A page of the changes feed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Changes {
    /// The current state of each message changed after the cursor, in change order.
    pub messages: Vec<Message>,
    /// True when more changes remain: ask again from the last message's `change_seq`.
    pub more: bool,
    /// The room's newest `change_seq` when the page was read.
    pub head_change_seq: u64,
}
