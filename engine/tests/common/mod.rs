//! Helpers shared by the behaviour tests: an engine on a fresh database of the current
//! store (a SQLite file in a temporary directory, or a database of its own on the test
//! PostgreSQL server, see [`pg`]) with cheap password hashing, users, rooms, posts, and
//! polling for the asynchronous indexer.
//!
//! A behaviour test is written once as a plain function and run against both stores by
//! [`both_stores!`]: `common::both_stores!(name);` generates the tests `name::sqlite` and
//! `name::postgres`, each of which sets the current thread's store ([`store`]) and calls
//! `name`. [`open`], [`open_with`] and [`place`] then give a database of that store.
//! `cargo test -p ember-engine postgres` runs the PostgreSQL variants alone.

// Each test binary compiles this module and uses only part of it.
#![allow(dead_code)]

use std::cell::Cell;
use std::ops::Deref;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use ember_engine::{
    ClientMessageId, Engine, Message, NewPost, NewUser, Options, PasswordCost, Role, RoomId,
    RoomKind, User, UserId,
};
use tempfile::TempDir;

pub mod authz;
pub mod child;
pub mod disk;
pub mod pg;
pub mod redis;
pub mod watchdog;

/// Generates, for each named test function, a module of that name with two tests:
/// `sqlite` and `postgres`, which run the function on that store (see [`run_on`]).
#[allow(unused_macros)]
macro_rules! both_stores {
    ($($name:ident),+ $(,)?) => {$(
        mod $name {
            #[test]
            fn sqlite() {
                $crate::common::run_on($crate::common::Store::Sqlite, super::$name);
            }
            #[test]
            fn postgres() {
                $crate::common::run_on($crate::common::Store::Postgres, super::$name);
            }
        }
    )+};
}
#[allow(unused_imports)]
pub(crate) use both_stores;

/// Generates, for each named test function, a module of that name with one test,
/// `postgres`, which runs the function on PostgreSQL (see [`run_on`]): for tests only a
/// shared database makes possible.
#[allow(unused_macros)]
macro_rules! postgres_only {
    ($($name:ident),+ $(,)?) => {$(
        mod $name {
            #[test]
            fn postgres() {
                $crate::common::run_on($crate::common::Store::Postgres, super::$name);
            }
        }
    )+};
}
#[allow(unused_imports)]
pub(crate) use postgres_only;

/// The store a test's databases live in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Store {
    /// A SQLite file in a temporary directory.
    Sqlite,
    /// A database of its own on the test PostgreSQL server.
    Postgres,
}

thread_local! {
    static STORE: Cell<Store> = const { Cell::new(Store::Sqlite) };
}

/// The store of the test running on this thread (SQLite unless [`run_on`] said otherwise).
/// Threads a test spawns start on SQLite: open databases on the test's own thread.
pub fn store() -> Store {
    STORE.with(Cell::get)
}

/// Runs `test` with this thread's store set to `store`. On PostgreSQL without a server
/// (see [`pg::available`]) it prints the skip line once and returns without running it,
/// or fails when `EMBER_REQUIRE_PG=1`.
pub fn run_on(store: Store, test: impl FnOnce()) {
    if store == Store::Postgres && !pg::available() {
        return;
    }
    struct Reset;
    impl Drop for Reset {
        fn drop(&mut self) {
            STORE.with(|s| s.set(Store::Sqlite));
        }
    }
    STORE.with(|s| s.set(store));
    let _reset = Reset;
    test();
}

/// A fresh, empty database of the current store: a path in a temporary directory, or the
/// URL of a database of its own on the test PostgreSQL server. Removed (dropped) with
/// this value.
pub struct Place {
    path: PathBuf,
    pg: Option<pg::Database>,
    _dir: Option<TempDir>,
}

impl Place {
    /// The path or URL to put in `Options::path`.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The PostgreSQL database, when the place is one.
    pub fn pg(&self) -> Option<&pg::Database> {
        self.pg.as_ref()
    }
}

/// A fresh database of the current [`store`].
pub fn place() -> Place {
    match store() {
        Store::Sqlite => {
            let dir = tempfile::tempdir().expect("create a temporary directory");
            Place {
                path: dir.path().join("ember.db"),
                pg: None,
                _dir: Some(dir),
            }
        }
        Store::Postgres => {
            let db = pg::Database::create_shared();
            Place {
                path: PathBuf::from(&db.url),
                pg: Some(db),
                _dir: None,
            }
        }
    }
}

/// The password every test user gets.
pub const PASSWORD: &str = "correct horse battery";

/// How long [`eventually`] waits before failing.
pub const PATIENCE: Duration = Duration::from_secs(10);

/// An engine on a fresh database of the current store ([`place`]). Dereferences to the
/// engine; the engine is dropped (closed) before the database is removed.
pub struct TestDb {
    pub engine: Engine,
    place: Place,
}

impl Deref for TestDb {
    type Target = Engine;
    fn deref(&self) -> &Engine {
        &self.engine
    }
}

impl TestDb {
    /// The database file, or the PostgreSQL database's URL.
    pub fn path(&self) -> &Path {
        self.place.path()
    }

    /// Where the database is.
    pub fn place(&self) -> &Place {
        &self.place
    }

    /// Closes the engine and opens the same database again with the same options.
    pub fn reopen(&mut self) {
        let opts = self.engine.options().clone();
        self.engine.close();
        self.engine = Engine::open(opts).expect("reopen the database");
    }
}

/// Options for a database at `path` (a file or a `postgres://` URL): cheap password hashing and a short search delay.
pub fn options(path: &Path) -> Options {
    watchdog::arm();
    let mut opts = Options::new(path);
    opts.password_cost = PasswordCost {
        memory_kib: 8,
        iterations: 1,
    };
    opts.search_delay = Duration::from_millis(10);
    // Posting rate limits are tested on their own; elsewhere they would only get in the way.
    opts.post_rate = ember_engine::RateLimit::new(1e9, 1_000_000_000);
    opts.bot_post_rate = opts.post_rate;
    opts
}

/// Sets a stop flag when dropped, so that threads polling it end even when the thread that
/// was to set it panicked.
pub struct SetOnDrop<'a>(pub &'a std::sync::atomic::AtomicBool);

impl Drop for SetOnDrop<'_> {
    fn drop(&mut self) {
        self.0.store(true, std::sync::atomic::Ordering::Release);
    }
}

/// A fresh database of the current [`store`] with the test [`options`].
pub fn open() -> TestDb {
    open_with(|_| {})
}

/// A fresh database with the test [`options`], adjusted by `tune` before opening.
pub fn open_with(tune: impl FnOnce(&mut Options)) -> TestDb {
    let place = place();
    let mut opts = options(place.path());
    tune(&mut opts);
    let engine = Engine::open(opts).expect("open a fresh database");
    TestDb { engine, place }
}

/// Creates a person whose display name is `login` capitalised.
pub fn user(engine: &Engine, login: &str, role: Role) -> User {
    let mut name = login.to_owned();
    if let Some(first) = name.get_mut(..1) {
        first.make_ascii_uppercase();
    }
    engine
        .create_user(NewUser {
            login: login.into(),
            name,
            password: PASSWORD.into(),
            role,
        })
        .unwrap_or_else(|e| panic!("create user {login}: {e}"))
}

/// Creates a member (not an admin).
pub fn member(engine: &Engine, login: &str) -> User {
    user(engine, login, Role::Member)
}

/// Creates an admin.
pub fn admin(engine: &Engine, login: &str) -> User {
    user(engine, login, Role::Admin)
}

/// Creates an open room (every person is a member) and returns its id.
pub fn open_room(engine: &Engine, creator: UserId, name: &str) -> RoomId {
    engine
        .create_room(creator, RoomKind::Open, name, &[])
        .unwrap_or_else(|e| panic!("create room {name}: {e}"))
        .id
}

/// A post with a fresh client message id.
pub fn new_post(user: UserId, room: RoomId, content: &str) -> NewPost {
    NewPost {
        user,
        room,
        client_message_id: ClientMessageId::new_v7(),
        content: content.into(),
    }
}

/// Posts `content` as a new message and returns it.
pub fn post(engine: &Engine, user: UserId, room: RoomId, content: &str) -> Message {
    let posted = engine
        .post(new_post(user, room, content))
        .unwrap_or_else(|e| panic!("post {content:?}: {e}"));
    assert!(!posted.duplicate, "a fresh client id was taken as a retry");
    posted.message
}

/// Every message of a room, oldest first, read by paging `messages_before` back to the
/// start `page` messages at a time.
pub fn history_in_pages(engine: &Engine, user: UserId, room: RoomId, page: usize) -> Vec<Message> {
    let mut all = Vec::new();
    let mut before = None;
    loop {
        let older = engine
            .messages_before(user, room, before, page)
            .unwrap_or_else(|e| panic!("messages_before {before:?}: {e}"));
        let Some(first) = older.first() else { break };
        before = Some(first.seq);
        all.splice(0..0, older);
    }
    all
}

/// Every message of a room, oldest first.
pub fn history(engine: &Engine, user: UserId, room: RoomId) -> Vec<Message> {
    history_in_pages(engine, user, room, ember_engine::MAX_PAGE)
}

/// Polls `done` every few milliseconds until it holds; fails naming `what` after
/// [`PATIENCE`].
pub fn eventually(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + PATIENCE;
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// The ids of the messages a search returns, in the order returned.
pub fn search_ids(engine: &Engine, user: UserId, text: &str) -> Vec<ember_engine::MessageId> {
    engine
        .search(user, text, ember_engine::MAX_PAGE)
        .unwrap_or_else(|e| panic!("search {text:?}: {e}"))
        .into_iter()
        .map(|m| m.id)
        .collect()
}

/// Runs a property over `cases` values of `strategy` (shrinking on failure) and fails the
/// test with the smallest counterexample. Unlike `proptest!`, the property may borrow
/// state set up once, such as an open engine, so that cases do not pay for opening one.
pub fn check_property<S: proptest::strategy::Strategy>(
    cases: u32,
    strategy: S,
    property: impl Fn(S::Value) -> Result<(), proptest::test_runner::TestCaseError>,
) {
    let config = proptest::test_runner::Config {
        cases,
        failure_persistence: None,
        ..proptest::test_runner::Config::default()
    };
    let mut runner = proptest::test_runner::TestRunner::new(config);
    if let Err(e) = runner.run(&strategy, property) {
        panic!("{e}");
    }
}
