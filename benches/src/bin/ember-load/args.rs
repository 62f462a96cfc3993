//! ember-load's command line: subcommands, flags and their defaults.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

use super::Res;

/// A WebSocket load generator for ember-server (and the tokio comparison server).
#[derive(Debug, Parser)]
#[command(name = "ember-load", version)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Create users, open rooms and session tokens in a database; writes OUT/tokens.txt and
    /// OUT/rooms.txt.
    Prepare(PrepareArgs),
    /// Connect clients to each target in turn, post and measure; prints one JSON line per
    /// target, then a readable summary.
    Run(RunArgs),
}

#[derive(Debug, Args)]
pub(crate) struct PrepareArgs {
    /// The database file (created if missing).
    #[arg(long)]
    pub(crate) db: PathBuf,
    /// How many open rooms to create.
    #[arg(long, default_value_t = 10)]
    pub(crate) rooms: u64,
    /// How many users (the first is an admin), each with a session token.
    #[arg(long, default_value_t = 20)]
    pub(crate) users: u64,
    /// Directory to write tokens.txt and rooms.txt to.
    #[arg(long, default_value = ".")]
    pub(crate) out: PathBuf,
}

#[derive(Debug, Args)]
pub(crate) struct RunArgs {
    /// A server to load: NAME=HOST:PORT, or NAME=HOST:PORT@PID to also read its RSS and CPU
    /// from /proc. A cluster is a comma list of nodes, NAME=HOST:PORT@PID,HOST:PORT@PID:
    /// clients are spread over them so that every room has subscribers on every node and
    /// consecutive senders post to different nodes. Repeatable: targets are loaded one after
    /// another with the same plan.
    #[arg(long = "target", value_name = "NAME=HOST:PORT[@PID][,HOST:PORT[@PID]...]",
          required = true, value_parser = Target::parse)]
    pub(crate) targets: Vec<Target>,
    /// Another process whose CPU (with its children's, e.g. a PostgreSQL postmaster and its
    /// backends, or Redis) is read over each target's window; repeatable.
    #[arg(long = "watch", value_name = "PID")]
    pub(crate) watch: Vec<u32>,
    /// A shell command run once, `--during-at` seconds into the posting (e.g. a Redis
    /// restart); the report then says how long after it ended every subscriber had every
    /// message acknowledged before its end (`recovery_ms`).
    #[arg(long, value_name = "SHELL")]
    pub(crate) during: Option<String>,
    /// Seconds into the posting when `--during` runs.
    #[arg(long, default_value_t = 3)]
    pub(crate) during_at: u64,
    /// Session tokens, one a line (from `prepare`); client i uses token i mod N.
    #[arg(long, value_name = "FILE")]
    pub(crate) tokens: Option<PathBuf>,
    /// Room ids, one a line (from `prepare`); client i subscribes to room i mod R.
    #[arg(long, value_name = "FILE")]
    pub(crate) rooms: Option<PathBuf>,
    /// How many WebSocket clients.
    #[arg(long, default_value_t = 1000)]
    pub(crate) clients: usize,
    /// How many of the clients also post (clients 0..S).
    #[arg(long, default_value_t = 10)]
    pub(crate) senders: usize,
    /// Posts per second per sender.
    #[arg(long, default_value_t = 50)]
    pub(crate) rate: u64,
    /// Seconds of posting.
    #[arg(long, default_value_t = 10)]
    pub(crate) duration: u64,
    /// Seconds to wait after the posting for the last deliveries.
    #[arg(long, default_value_t = 2)]
    pub(crate) drain: u64,
    /// Only connect and hold (memory per idle connection); nobody posts.
    #[arg(long)]
    pub(crate) idle: bool,
    /// With --idle: seconds to hold the connections before measuring again.
    #[arg(long, default_value_t = 0)]
    pub(crate) hold: u64,
    /// Clients connected at once (a wave); keep it under the server's listen backlog.
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u64).range(1..))]
    pub(crate) wave: u64,
    /// When senders post.
    #[arg(long, value_enum, default_value_t = Arrivals::Steady)]
    pub(crate) arrivals: Arrivals,
}

/// One server to load: a single node or the nodes of a cluster.
#[derive(Clone, Debug)]
pub(crate) struct Target {
    pub(crate) name: String,
    pub(crate) nodes: Vec<Node>,
}

/// One node of a target.
#[derive(Clone, Debug)]
pub(crate) struct Node {
    pub(crate) addr: String,
    pub(crate) pid: Option<u32>,
}

impl Target {
    /// `NAME=HOST:PORT[@PID][,HOST:PORT[@PID]...]`; without `NAME=` the name is `server`.
    pub(crate) fn parse(t: &str) -> Res<Target> {
        let (name, rest) = t.split_once('=').unwrap_or(("server", t));
        let mut nodes = Vec::new();
        for node in rest.split(',') {
            let (addr, pid) = match node.split_once('@') {
                Some((a, p)) => (
                    a,
                    Some(p.parse::<u32>().map_err(|_| format!("bad pid in {t}"))?),
                ),
                None => (node, None),
            };
            if addr.is_empty() {
                return Err(format!("empty address in {t}"));
            }
            nodes.push(Node {
                addr: addr.to_owned(),
                pid,
            });
        }
        Ok(Target {
            name: name.to_owned(),
            nodes,
        })
    }

    /// The node client `i` connects to: clients of one room (`i % rooms`) alternate over
    /// the nodes, and so do consecutive clients (the senders are clients `0..S`).
    pub(crate) fn node_of(&self, i: usize, rooms: usize) -> usize {
        let rooms = rooms.max(1);
        (i % rooms + i / rooms) % self.nodes.len().max(1)
    }
}

/// When a sender posts.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub(crate) enum Arrivals {
    /// A fixed period, each sender from its own random phase.
    Steady,
    /// Exponentially distributed gaps with the same mean (random clustering).
    Poisson,
    /// A fixed period, every sender on the same phase: each tick is a burst of S posts.
    InStep,
}

impl Arrivals {
    /// Delay before the first post, once sending starts.
    pub(crate) fn first(self, period: Duration) -> Duration {
        match self {
            Self::Steady => period.mul_f64(rand::random::<f64>()),
            Self::Poisson => self.gap(period),
            Self::InStep => period,
        }
    }

    /// Delay from one post to the next.
    pub(crate) fn gap(self, period: Duration) -> Duration {
        match self {
            Self::Steady | Self::InStep => period,
            // Inverse transform sampling; 1 - U is in (0, 1], so ln is finite.
            Self::Poisson => period.mul_f64(-(1.0 - rand::random::<f64>()).ln()),
        }
    }
}
