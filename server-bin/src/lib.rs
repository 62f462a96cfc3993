//! `ember-server`: one process, one port, one SQLite file.
//!
//! [`server`] is the mio event loop serving HTTP and the WebSocket protocol
//! (`docs/protocol.md`); [`cli`] holds the command line: `serve`, `demo` and the admin
//! commands that work on the same database file.

pub mod cli;
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;
pub mod server;
