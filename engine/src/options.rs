//! How an engine is opened and tuned.

use std::path::PathBuf;
use std::time::Duration;

use crate::clock::Clock;
use crate::ratelimit::RateLimit;

/// How hard SQLite syncs to disk at commit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Synchronous {
    /// WAL + `synchronous=NORMAL`: an acknowledged write survives the process being killed;
    /// after a power cut the last commits may be lost. The default.
    #[default]
    Normal,
    /// `synchronous=FULL`: every commit is fsynced; also survives a power cut.
    Full,
}

/// Cost of the argon2id password hash.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PasswordCost {
    /// Memory in KiB (at least 8).
    pub memory_kib: u32,
    /// Passes over memory (at least 1).
    pub iterations: u32,
}

impl Default for PasswordCost {
    /// OWASP's argon2id recommendation: 19 MiB, 2 passes, 1 lane.
    fn default() -> Self {
        Self {
            memory_kib: 19 * 1024,
            iterations: 2,
        }
    }
}

/// Where an engine keeps its data, as [`Options::path`] names it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Location {
    /// A SQLite file: a plain path, or a `sqlite:` URL (`sqlite:chat.db`,
    /// `sqlite:///var/lib/ember/chat.db`).
    Sqlite(PathBuf),
    /// A PostgreSQL database several engines may share: a `postgres://` or
    /// `postgresql://` URL (`postgres://ember@db.example/ember`), in the form libpq takes.
    Postgres(String),
}

impl Location {
    /// Reads a path or URL: `postgres://` and `postgresql://` name PostgreSQL, `sqlite:`
    /// URLs and everything else a SQLite file.
    pub fn parse(text: &str) -> Location {
        if text.starts_with("postgres://") || text.starts_with("postgresql://") {
            return Location::Postgres(text.to_owned());
        }
        let file = text
            .strip_prefix("sqlite://")
            .or_else(|| text.strip_prefix("sqlite:"))
            .unwrap_or(text);
        Location::Sqlite(PathBuf::from(file))
    }
}

/// Everything [`crate::Engine::open`] takes. Build with [`Options::new`] and adjust fields.
#[derive(Clone, Debug)]
pub struct Options {
    /// Where the data lives: a SQLite file (created when missing; a plain path or a
    /// `sqlite:` URL) or a `postgres://` URL (see [`Location`] and docs/engine.md).
    pub path: PathBuf,
    /// Commit durability.
    pub synchronous: Synchronous,
    /// Page cache of the writer's connection, in KiB. Default 8 MiB: enough for the pages
    /// posts keep touching (the right edges of the indexes, a leaf per busy room) in
    /// hundreds of busy rooms. Larger is not free: after a commit in which a B-tree split
    /// reordered pages, SQLite walks the whole writer cache (measured: 8.7% of the CPU
    /// with 64 MiB, 1.9% with 8 MiB; docs/perf-log.md). Raise it when thousands of rooms are
    /// busy at once.
    pub writer_cache_kib: u32,
    /// Page cache of each reader connection, in KiB.
    pub reader_cache_kib: u32,
    /// Read connections kept open for reuse.
    pub readers: usize,
    /// Commands that may wait for the writer before callers are pushed back.
    pub queue_capacity: usize,
    /// How long a blocking call waits for room in a full queue before [`crate::Error::Overloaded`].
    pub overload_wait: Duration,
    /// Most commands committed in one transaction.
    pub max_batch: usize,
    /// A new message becomes searchable within about this long after its acknowledgement
    /// (full-text indexing is batched off the acknowledgement path).
    pub search_delay: Duration,
    /// Session lifetime; each use pushes the expiry forward (sliding expiry).
    pub session_ttl: Duration,
    /// Password hashing cost.
    pub password_cost: PasswordCost,
    /// Login attempts allowed per (login, client address) within [`Options::login_window`]
    /// (10). A pair that keeps hitting the limit is locked out for twice as long each time
    /// (at most a day; a correct password resets that).
    pub login_attempts: u32,
    /// Login attempts allowed per login from all addresses together within
    /// [`Options::login_window`] (100), without back-off: what an attacker spreading over
    /// many addresses can cost the owner.
    pub login_attempts_per_login: u32,
    /// Window of the login rate limit.
    pub login_window: Duration,
    /// Events a subscription may hold unread before it gets `Lagged` and is detached.
    pub subscription_capacity: usize,
    /// Most changes replayed by one subscribe (capped by `subscription_capacity`).
    pub replay_cap: usize,
    /// A presence connection lapses when not refreshed for this long.
    pub presence_ttl: Duration,
    /// Posting rate per person.
    pub post_rate: RateLimit,
    /// Posting rate per bot.
    pub bot_post_rate: RateLimit,
    /// A plugin hook slower than this is logged with the plugin's name.
    pub plugin_budget: Duration,
    /// Registers the built-in `sounds` plugin (`/play <name>`).
    pub builtin_sounds: bool,
    /// A Redis URL (`redis://host:port`) joining this engine to a cluster: what it commits
    /// is published there, and what other engines on the same database publish is
    /// delivered to its subscribers (docs/cluster.md), with the guarantees of one engine:
    /// each change once, in per-room order, no duplicate at the replay→live handover; what
    /// Redis loses (a restart, a dropped connection) is read from the database. An
    /// unreachable Redis does not stop the engine: it keeps posting and serving its own
    /// subscribers, reads other engines' changes from the database every second, and
    /// reconnects by itself. `None` (the default): live events reach only this engine's
    /// subscribers.
    pub broker: Option<String>,
    /// PostgreSQL only: how long the writer keeps reconnecting and running a batch again
    /// while the database is unreachable (or keeps failing with transient errors) before
    /// the batch's callers get [`crate::Error::Unavailable`] (default 5 s). Once the
    /// database was declared unavailable, later batches try one connection each and fail
    /// at once until it answers again; the engine recovers by itself.
    pub unavailable_after: Duration,
    /// PostgreSQL only: `synchronous_commit` of the writer's connection (default true). On,
    /// an acknowledged write has reached the database server's disk (it survives a crash
    /// of the node and of PostgreSQL). Off, PostgreSQL acknowledges COMMIT before flushing
    /// its WAL: faster, and a crash of the database server (not of a node) may lose the last
    /// fraction of a second of acknowledged writes (never corrupts, never reorders).
    pub pg_synchronous_commit: bool,
    /// Time source.
    pub clock: Clock,
}

impl Options {
    /// Which store [`Options::path`] names.
    pub fn location(&self) -> Location {
        Location::parse(&self.path.to_string_lossy())
    }

    /// Defaults for a database at `path` (a file path or a URL, see [`Location`]).
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self {
            path: path.into(),
            synchronous: Synchronous::Normal,
            writer_cache_kib: 8 * 1024,
            reader_cache_kib: 16 * 1024,
            readers: 4,
            queue_capacity: 4096,
            overload_wait: Duration::from_millis(500),
            max_batch: 1024,
            search_delay: Duration::from_millis(100),
            session_ttl: Duration::from_secs(30 * 24 * 3600),
            password_cost: PasswordCost::default(),
            login_attempts: 10,
            login_attempts_per_login: 100,
            login_window: Duration::from_secs(180),
            subscription_capacity: 1024,
            replay_cap: 1000,
            presence_ttl: Duration::from_secs(60),
            post_rate: RateLimit::new(10.0, 20),
            bot_post_rate: RateLimit::new(20.0, 40),
            plugin_budget: Duration::from_millis(50),
            builtin_sounds: true,
            broker: None,
            unavailable_after: Duration::from_secs(5),
            pg_synchronous_commit: true,
            clock: Clock::system(),
        }
    }
}
