//! Ember: an embedded chat engine on SQLite.
//!
//! Rooms, members and messages with **exactly-once posting** (a retried
//! `client_message_id` never creates a second message), **gapless replay** (a per-room
//! changes feed that a client pages through after reconnecting), unread counts, search,
//! edits and deletes.
//!
//! One [`Engine`] owns one SQLite database in WAL mode. All writes go through a single
//! writer thread that commits many requests per transaction (group commit) and
//! acknowledges each only after COMMIT; reads run on a pool of read-only connections.
//! There is no async runtime: every call is synchronous, and [`Pipeline`] submits writes
//! without waiting for an event loop.
//!
//! ```no_run
//! use ember_engine::{ClientMessageId, Engine, NewPost, NewUser, Options, Role, RoomKind};
//!
//! let engine = Engine::open(Options::new("chat.db"))?;
//! let ann = engine.create_user(NewUser {
//!     login: "ann".into(),
//!     name: "Ann".into(),
//!     password: "correct horse".into(),
//!     role: Role::Admin,
//! })?;
//! let room = engine.create_room(ann.id, RoomKind::Open, "Lobby", &[])?;
//! let post = NewPost {
//!     user: ann.id,
//!     room: room.id,
//!     client_message_id: ClientMessageId::new_v7(),
//!     content: "hello".into(),
//! };
//! let first = engine.post(post.clone())?;
//! let retry = engine.post(post)?; // same client_message_id: the original comes back
//! assert!(retry.duplicate && retry.message.id == first.message.id);
//! # Ok::<(), ember_engine::Error>(())
//! ```

#![warn(missing_docs)]

mod auth;
mod clock;
mod cluster;
mod content;
mod engine;
mod error;
mod events;
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;
mod ids;
mod live;
mod login_limit;
mod model;
mod open_files;
mod options;
mod pipeline;
mod plugins;
mod ratelimit;
mod stats;
mod store;

pub use clock::Clock;
pub use content::MAX_CONTENT_CHARS;
pub use engine::{Engine, MAX_CHANGES_PAGE, MAX_PAGE};
pub use error::{Error, Result};
pub use events::{Event, Notification, Shared, SharedEvent, UserEvent};
pub use ids::{ClientMessageId, Epoch, MessageId, RoomId, UserId};
pub use live::{
    Events, NotificationStream, PresenceHandle, RecvError, RecvTimeoutError, Subscription,
    TryRecvError, UserSubscription,
};
pub use model::{
    Bot, Changes, Involvement, Login, Member, Message, NewPost, NewUser, Posted, Role, Room,
    RoomKind, RoomSummary, User,
};
pub use options::{Location, Options, PasswordCost, Synchronous};
pub use pipeline::{Completion, Pipeline, Request, Response};
pub use plugins::{
    CommandOutcome, CommandSpec, Decision, Draft, Plugin, PluginStatus, PostContext, SOUNDS, Sounds,
};
pub use ratelimit::RateLimit;
pub use stats::Stats;
#[cfg(feature = "bench-internals")]
#[doc(hidden)]
pub use store::sqlite::raw::RawStore;
/// The PostgreSQL schema's migrations in order (for the benches' raw PostgreSQL baseline).
#[cfg(feature = "bench-internals")]
#[doc(hidden)]
pub const PG_MIGRATIONS: &[&str] = store::pg::schema::MIGRATIONS;
pub use store::sqlite::schema::{PAGE_SIZE, SCHEMA_VERSION};
