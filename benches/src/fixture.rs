//! Ember set-up and the `RawStore` driver.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use ember_engine::{
    ClientMessageId, Engine, NewPost, NewUser, Options, PasswordCost, RawStore, Role, RoomId,
    RoomKind, UserId,
};
use rand::Rng;
use rusqlite::{Connection, OpenFlags};

use crate::text::Vocabulary;

/// Ember's default options for `path`, with a cheap password hash so that set-up is quick
/// and no posting rate limit (a benchmark posts far faster than any person).
pub fn options(path: &Path) -> Options {
    let mut o = Options::new(path);
    o.password_cost = PasswordCost {
        memory_kib: 8,
        iterations: 1,
    };
    o.post_rate = ember_engine::RateLimit::new(f64::MAX, u32::MAX);
    o.bot_post_rate = o.post_rate;
    // For measuring the writer's page cache (the engine's default otherwise).
    if let Ok(kib) = std::env::var("EMBER_BENCH_WRITER_CACHE_KIB") {
        o.writer_cache_kib = kib
            .parse()
            .expect("EMBER_BENCH_WRITER_CACHE_KIB: a number of KiB");
    }
    o
}

/// The users and open rooms of a benchmark database.
#[derive(Clone, Debug)]
pub struct World {
    /// Users; the first is an admin. Every user is a member of every room.
    pub users: Vec<UserId>,
    /// Open rooms.
    pub rooms: Vec<RoomId>,
}

impl World {
    /// Creates `users` users, then `rooms` open rooms (which every user joins).
    pub fn create(engine: &Engine, users: usize, rooms: usize) -> ember_engine::Result<Self> {
        let users = (0..users)
            .map(|i| {
                let role = if i == 0 { Role::Admin } else { Role::Member };
                engine
                    .create_user(NewUser {
                        login: format!("user{i}"),
                        name: format!("User {i}"),
                        password: "bench password".into(),
                        role,
                    })
                    .map(|u| u.id)
            })
            .collect::<ember_engine::Result<Vec<_>>>()?;
        let rooms = (0..rooms)
            .map(|i| {
                engine
                    .create_room(users[0], RoomKind::Open, &format!("room {i}"), &[])
                    .map(|r| r.id)
            })
            .collect::<ember_engine::Result<Vec<_>>>()?;
        Ok(Self { users, rooms })
    }

    /// Reads the users and rooms of an existing database.
    pub fn load(engine: &Engine) -> ember_engine::Result<Self> {
        let users = engine.users()?.into_iter().map(|u| u.id).collect();
        let rooms = engine.all_rooms()?.into_iter().map(|r| r.id).collect();
        Ok(Self { users, rooms })
    }

    /// A new post by user number `user` (modulo the user count) into a random room, with a
    /// UUID v7 client id and vocabulary content.
    pub fn post(&self, user: usize, vocab: &Vocabulary, rng: &mut impl Rng) -> NewPost {
        NewPost {
            user: self.users[user % self.users.len()],
            room: self.rooms[rng.random_range(0..self.rooms.len())],
            client_message_id: ClientMessageId::new_v7(),
            content: vocab.message(rng),
        }
    }
}

/// Opens a new Ember database at `path` with [`crate::USERS`] users and [`crate::ROOMS`]
/// rooms.
pub fn new_engine(path: &Path) -> (Engine, World) {
    let engine = Engine::open(options(path)).expect("open engine");
    let world = World::create(&engine, crate::USERS, crate::ROOMS).expect("create users and rooms");
    (engine, world)
}

/// A new Ember database at `path` (set up through an [`Engine`], then closed), opened as a
/// [`RawStore`] with the writer's schema and pragmas.
pub fn new_raw(path: &Path) -> (RawStore, World) {
    let (engine, world) = new_engine(path);
    engine.close();
    (
        RawStore::open(&options(path)).expect("open raw store"),
        world,
    )
}

/// When a raw run indexes for full-text search.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IndexPolicy {
    /// `index_all()` after every batch.
    EachBatch,
    /// `index_all()` once this long has passed since the last indexing, and at the end.
    Every(Duration),
    /// As Ember's writer does under load: once the oldest unindexed message is this old,
    /// one chunk of the writer's size after each batch until nothing is left, and the rest
    /// at the end.
    LikeWriter(Duration),
}

/// Posts `count` messages through `store`, `batch` per transaction, user `i % users` for the
/// `i`-th post, indexing as `policy` says (always everything by the end).
pub fn drive_raw(
    store: &mut RawStore,
    world: &World,
    vocab: &Vocabulary,
    rng: &mut impl Rng,
    count: usize,
    batch: usize,
    policy: IndexPolicy,
) {
    let mut last_index = Instant::now();
    let mut due_since: Option<Instant> = None;
    let mut done = 0;
    while done < count {
        let n = batch.min(count - done);
        let posts = (done..done + n)
            .map(|i| world.post(i, vocab, rng))
            .collect();
        let posted = store.post_batch(posts).expect("raw post_batch");
        assert_eq!(posted.len(), n);
        done += n;
        match policy {
            IndexPolicy::EachBatch => {
                store.index_all().expect("raw index_all");
            }
            IndexPolicy::Every(d) if last_index.elapsed() >= d => {
                store.index_all().expect("raw index_all");
                last_index = Instant::now();
            }
            IndexPolicy::Every(_) => {}
            IndexPolicy::LikeWriter(delay) => {
                let since = *due_since.get_or_insert_with(Instant::now);
                if since.elapsed() >= delay
                    && store.index_chunk_like_writer().expect("raw index chunk") == 0
                {
                    due_since = None;
                }
            }
        }
    }
    store.index_all().expect("raw index_all");
}

/// WAL checkpoints on a thread of their own, like Ember's checkpointer: `PASSIVE`, then a
/// 100 ms pause, until dropped. Raw runs use it because the writer's connection has
/// `wal_autocheckpoint=0`; without it the WAL would grow without bound.
pub struct Checkpointer {
    stop: Arc<AtomicBool>,
    passes: Arc<AtomicU64>,
    thread: Option<JoinHandle<()>>,
}

impl Checkpointer {
    /// Starts checkpointing the database at `path`.
    pub fn spawn(path: &Path) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let passes = Arc::new(AtomicU64::new(0));
        let conn = Connection::open(path).expect("open checkpointer");
        let (s, p) = (stop.clone(), passes.clone());
        let thread = std::thread::spawn(move || {
            while !s.load(Ordering::Relaxed) {
                let copied: i64 = conn
                    .query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| r.get(2))
                    .unwrap_or(0);
                if copied > 0 {
                    p.fetch_add(1, Ordering::Relaxed);
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        });
        Self {
            stop,
            passes,
            thread: Some(thread),
        }
    }

    /// Checkpoints that copied pages so far.
    pub fn passes(&self) -> u64 {
        self.passes.load(Ordering::Relaxed)
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Waits until the full-text backlog (`fts_pending`) of the database at `path` is empty,
/// polling every millisecond from a read-only connection; returns when it was seen empty.
pub fn wait_indexed(path: &Path) -> Instant {
    let conn =
        Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY).expect("open reader");
    loop {
        let left: i64 = conn
            .query_row("SELECT count(*) FROM fts_pending", [], |r| r.get(0))
            .expect("count fts_pending");
        if left == 0 {
            return Instant::now();
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// Runs a `TRUNCATE` checkpoint on the database at `path` from a new connection (so that
/// the sizes of finished databases compare), then returns their size as [`db_bytes`] does.
pub fn settle(path: &Path) -> u64 {
    let conn = Connection::open(path).expect("open for checkpoint");
    conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
        .expect("truncate checkpoint");
    drop(conn);
    db_bytes(path)
}

/// Bytes written through system calls (`wchar` in Linux's `/proc/.../io`) so far by this
/// process's thread named `name` (e.g. `ember-writer`), or by the calling thread when `name`
/// is `None`. `None` where `/proc` does not tell (not Linux, or no such thread). For a
/// single writer connection this is what it wrote to the WAL (and, for the naive baseline
/// whose checkpoints run inline, to the database file).
pub fn bytes_written(name: Option<&str>) -> Option<u64> {
    let dir = match name {
        None => PathBuf::from("/proc/thread-self"),
        Some(name) => std::fs::read_dir("/proc/self/task")
            .ok()?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .find(|p| std::fs::read_to_string(p.join("comm")).is_ok_and(|c| c.trim() == name))?,
    };
    let io = std::fs::read_to_string(dir.join("io")).ok()?;
    io.lines()
        .find_map(|l| l.strip_prefix("wchar:"))
        .and_then(|v| v.trim().parse().ok())
}

/// Deletes the database at `path` with its WAL and shared-memory files.
pub fn remove_db(path: &Path) {
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
}

/// Size in bytes of the database file plus its WAL.
pub fn db_bytes(path: &Path) -> u64 {
    let wal = PathBuf::from(format!("{}-wal", path.display()));
    [path.to_path_buf(), wal]
        .iter()
        .filter_map(|p| std::fs::metadata(p).ok())
        .map(|m| m.len())
        .sum()
}
