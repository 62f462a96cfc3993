//! `libember`: the C ABI over the Ember chat engine.
//!
//! The header `include/ember.h` is generated from this crate by cbindgen. Conventions (those
//! of rustls-ffi and SQLite):
//!
//! - Objects are opaque handles (`ember_engine`, `ember_subscription`, `ember_pipeline`,
//!   `ember_draft`) or plain structs; everything libember hands out has a free function, named in the docs of
//!   the function that hands it out.
//! - Every fallible function returns an [`ember_status`] with a fixed number. After a
//!   failure, `ember_last_error()` gives a message for this thread, valid until its next
//!   call that returns an `ember_status` (`EMBER_TIMEOUT` is not a failure: no message).
//!   Output parameters are written only on success.
//! - Strings are NUL-terminated UTF-8; invalid UTF-8 is `EMBER_ERR_INVALID_ARGUMENT`. A NULL
//!   pointer where one is required is `EMBER_ERR_NULL`.
//! - No panic crosses the boundary: each body runs under one `catch_unwind` guard and a
//!   panic is `EMBER_ERR_PANIC`.
//!
//! Rust hosts load C plugins from shared libraries with [`load_plugin`].
//!
//! # Safety
//!
//! Every exported function is `unsafe`: each pointer argument must be NULL or valid for the
//! access its documentation describes (a string NUL-terminated, an array of the stated
//! length, a handle made by libember and not yet freed, an output parameter writable).
//! Handles must be used as their thread-safety notes say.

#![warn(missing_docs)]
#![allow(non_camel_case_types, clippy::missing_safety_doc)]

mod accounts;
mod boundary;
mod engine;
mod events;
mod handles;
mod ids;
mod live;
mod loader;
mod messages;
mod pipeline;
mod plugin_status;
mod plugins;
mod rooms;
mod status;

pub use accounts::*;
pub use engine::*;
pub use events::*;
pub use ids::*;
pub use live::*;
pub use loader::{LoadError, load_plugin};
pub use messages::*;
pub use pipeline::*;
pub use plugin_status::*;
pub use plugins::*;
pub use rooms::*;
pub use status::*;
