//! The command line: `serve`, `demo`, and admin commands on the same database.
//!
//! Every flag can also come from an environment variable (`EMBER_DB`, `EMBER_LISTEN`, ...).
//! `--db` names the store for every command: a SQLite file (a path or a `sqlite:` URL) or a
//! PostgreSQL database (`postgres://…`) that several servers may share.

mod admin;
mod serve;

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use ember_engine::{Options, PasswordCost};

/// Ember: a chat server in one process, on one port, on one SQLite file or a shared
/// PostgreSQL database.
#[derive(Debug, Parser)]
#[command(name = "ember-server", version, about)]
pub struct Cli {
    /// The database: a SQLite file (a path or `sqlite:path`, created when missing) or a
    /// PostgreSQL URL (`postgres://user@host:port/db`, migrated on open; several servers may
    /// share it). Default: ember.db; for `demo`, a fresh SQLite file in the temporary
    /// directory.
    #[arg(long, global = true, env = "EMBER_DB")]
    pub db: Option<PathBuf>,
    /// Password hash memory in KiB (tests only; the default is OWASP's 19 MiB).
    #[arg(long, global = true, hide = true, env = "EMBER_PASSWORD_MEMORY_KIB")]
    pub password_memory_kib: Option<u32>,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve HTTP and WebSocket clients.
    Serve(ServeArgs),
    /// Serve a fresh demo database (an admin, two users, a room with messages).
    Demo(ServeArgs),
    /// Manage users.
    #[command(subcommand)]
    User(admin::UserCommand),
    /// Manage rooms.
    #[command(subcommand)]
    Room(admin::RoomCommand),
    /// Manage bots.
    #[command(subcommand)]
    Bot(admin::BotCommand),
    /// Manage session tokens.
    #[command(subcommand)]
    Token(admin::TokenCommand),
}

/// Flags of `serve` and `demo`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on (loopback by default).
    #[arg(long, default_value = "127.0.0.1:8080", env = "EMBER_LISTEN")]
    pub listen: std::net::SocketAddr,
    /// A C plugin (shared library) to load; repeatable.
    #[arg(long = "plugin", env = "EMBER_PLUGINS", value_delimiter = ',')]
    pub plugins: Vec<PathBuf>,
    /// Most open connections.
    #[arg(long, default_value_t = 20_000, env = "EMBER_MAX_CONNECTIONS")]
    pub max_connections: usize,
    /// Read buffer per WebSocket, bytes.
    #[arg(long, default_value_t = 4096, env = "EMBER_READ_BUFFER")]
    pub read_buffer: usize,
    /// Output budget per connection, bytes: past it the server stops reading the
    /// connection's requests until its output drains (one reply may exceed it).
    #[arg(long, default_value_t = 256 * 1024, env = "EMBER_MAX_WRITE_BUFFER")]
    pub max_write_buffer: usize,
    /// Most bytes queued for all connections together: past it, history, search, replays
    /// and message pages are refused with `overloaded`.
    #[arg(long, default_value_t = 512 * 1024 * 1024, env = "EMBER_MAX_OUTPUT")]
    pub max_output: usize,
    /// An HTTP request or upgrade must complete within this many ms.
    #[arg(
        long,
        default_value_t = 10_000,
        hide = true,
        env = "EMBER_REQUEST_TIMEOUT_MS"
    )]
    pub request_timeout_ms: u64,
    /// Server ping interval, ms.
    #[arg(
        long,
        default_value_t = 30_000,
        hide = true,
        env = "EMBER_PING_INTERVAL_MS"
    )]
    pub ping_interval_ms: u64,
    /// A silent client is dropped after this many ms.
    #[arg(
        long,
        default_value_t = 60_000,
        hide = true,
        env = "EMBER_IDLE_TIMEOUT_MS"
    )]
    pub idle_timeout_ms: u64,
    /// Presence lapses after this many ms without a refresh.
    #[arg(
        long,
        default_value_t = 60_000,
        hide = true,
        env = "EMBER_PRESENCE_TTL_MS"
    )]
    pub presence_ttl_ms: u64,
    /// A client whose output stays full this many ms is closed with 1008.
    #[arg(
        long,
        default_value_t = 5_000,
        hide = true,
        env = "EMBER_STALL_TIMEOUT_MS"
    )]
    pub stall_timeout_ms: u64,
    /// SO_SNDBUF of accepted sockets in bytes (default: the kernel's autotuning).
    #[arg(long, hide = true, env = "EMBER_SOCKET_SEND_BUFFER")]
    pub socket_send_buffer: Option<usize>,
    /// Posts per second per person (burst: twice that).
    #[arg(long, hide = true, env = "EMBER_POST_RATE")]
    pub post_rate: Option<f64>,
}

/// Runs a parsed command line.
pub fn run(cli: Cli) -> Result<(), String> {
    match cli.command {
        Command::Serve(ref args) => {
            let path = cli.db.clone().unwrap_or_else(|| "ember.db".into());
            serve::serve(options(&cli, path), args)
        }
        Command::Demo(ref args) => serve::demo(&cli, args),
        Command::User(ref c) => admin::user(&open(&cli)?, c),
        Command::Room(ref c) => admin::room(&open(&cli)?, c),
        Command::Bot(ref c) => admin::bot(&open(&cli)?, c),
        Command::Token(ref c) => admin::token(&open(&cli)?, c),
    }
}

/// Engine options for the database at `path` (production defaults).
fn options(cli: &Cli, path: PathBuf) -> Options {
    let mut opts = Options::new(path);
    if let Some(kib) = cli.password_memory_kib {
        opts.password_cost = PasswordCost {
            memory_kib: kib.max(8),
            iterations: 1,
        };
    }
    opts
}

fn open(cli: &Cli) -> Result<ember_engine::Engine, String> {
    let path = cli.db.clone().unwrap_or_else(|| "ember.db".into());
    ember_engine::Engine::open(options(cli, path)).map_err(|e| e.to_string())
}
