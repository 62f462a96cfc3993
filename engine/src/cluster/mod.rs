//! The cluster: engines on one shared store joined over Redis PUB/SUB (see docs/cluster.md).

pub(crate) mod broker;
pub(crate) mod reorder;
