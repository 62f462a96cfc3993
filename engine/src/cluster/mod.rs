//! Several engines on one PostgreSQL database, joined over Redis (docs/cluster.md):
//! presence, typing and posting limits shared by every node.

mod ephemeral;
mod link;
pub(crate) mod presence;
pub(crate) mod ratelimit;
pub(crate) mod typing;

pub(crate) use ephemeral::Ephemeral;

/// What every key and channel Ember uses in Redis starts with.
pub(crate) const PREFIX: &str = "ember:";
