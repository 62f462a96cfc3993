//! How a connection is named outside the loop (in tickets, user lists, wake-ups).

/// A connection: its slot in the slab and its unique id (slots are reused, ids are not,
/// so a stale name finds nothing).
pub type Who = (usize, u64);
