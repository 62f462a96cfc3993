//! The read side: plain functions over a read-only connection.

pub(crate) mod accounts;
pub(crate) mod messages;
pub(crate) mod rooms;
