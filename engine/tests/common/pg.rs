//! A PostgreSQL server for the test process, and a database of its own for each test.
//!
//! Where the server comes from, in order:
//! 1. `EMBER_TEST_PG_URL`: a superuser URL of a running server
//!    (`postgres://ember@127.0.0.1:5432/postgres`), as `scripts/test` exports;
//! 2. otherwise, when the PostgreSQL 15 binaries are installed (`/usr/lib/postgresql/15/bin`,
//!    or `EMBER_TEST_PG_BIN`), a throw-away cluster started once per test process: `initdb`
//!    in a temporary directory (as the `postgres` system user when running as root, since
//!    initdb refuses root), its own free port on 127.0.0.1 and its own Unix socket
//!    directory, trust authentication, durability settings left at their defaults. It is
//!    stopped and its directory removed when the process exits (an `atexit` handler, which
//!    also runs after failed tests and the watchdog's exit), and by a detached reaper
//!    process if the test process is killed instead;
//! 3. otherwise none: [`available`] prints the skip line once and says no, unless
//!    `EMBER_REQUIRE_PG=1`, which turns that into a failure.

use std::io::Write;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, Once, OnceLock};
use std::time::Duration;

/// The line printed (once per test process) when the PostgreSQL variants are skipped.
pub const SKIP_LINE: &str =
    "PostgreSQL suite skipped: no PostgreSQL found; run scripts/test (or set EMBER_TEST_PG_URL)";

/// How long starting or stopping a cluster may take before the test fails.
const PG_CTL_WAIT_SECS: u32 = 30;

/// The superuser the throw-away clusters are created with.
const SUPERUSER: &str = "ember";

/// A running PostgreSQL server the tests may create databases on.
pub struct Server {
    /// Superuser URL of the server's `postgres` database.
    pub admin_url: String,
    /// The throw-away cluster behind it, when the harness started one (`None` for
    /// `EMBER_TEST_PG_URL`, which cannot be restarted from here).
    pub cluster: Option<&'static Cluster>,
}

static SERVER: OnceLock<Option<Server>> = OnceLock::new();
static SKIPPED: Once = Once::new();

/// Whether the PostgreSQL variants can run. Starts the shared cluster on first use. When
/// there is no PostgreSQL, prints [`SKIP_LINE`] once (straight to stderr, past the test
/// harness's capture) and returns false, or fails when `EMBER_REQUIRE_PG=1`.
pub fn available() -> bool {
    if server().is_some() {
        return true;
    }
    if std::env::var("EMBER_REQUIRE_PG").is_ok_and(|v| v == "1") {
        panic!(
            "EMBER_REQUIRE_PG=1 but no PostgreSQL found (set EMBER_TEST_PG_URL or install postgresql 15)"
        );
    }
    SKIPPED.call_once(|| {
        let _ = writeln!(std::io::stderr(), "{SKIP_LINE}");
    });
    false
}

/// A throw-away cluster of the test's own, for a test that stops or restarts its server
/// (the shared one, or an `EMBER_TEST_PG_URL` server, cannot be). `None`, after the skip
/// line, when the PostgreSQL binaries are missing, or a failure under `EMBER_REQUIRE_PG=1`.
pub fn private_cluster() -> Option<Cluster> {
    if bin_dir().is_some() {
        return Some(Cluster::start_new());
    }
    if std::env::var("EMBER_REQUIRE_PG").is_ok_and(|v| v == "1") {
        panic!(
            "EMBER_REQUIRE_PG=1 but the PostgreSQL binaries are missing (/usr/lib/postgresql/15/bin)"
        );
    }
    SKIPPED.call_once(|| {
        let _ = writeln!(std::io::stderr(), "{SKIP_LINE}");
    });
    None
}

/// The server, started on first use; `None` when there is no PostgreSQL.
pub fn server() -> Option<&'static Server> {
    SERVER.get_or_init(find_server).as_ref()
}

fn find_server() -> Option<Server> {
    if let Ok(url) = std::env::var("EMBER_TEST_PG_URL") {
        if !url.is_empty() {
            if let Err(e) = connect(&url) {
                panic!("EMBER_TEST_PG_URL={url}: cannot connect: {}", said(&e));
            }
            return Some(Server {
                admin_url: url,
                cluster: None,
            });
        }
    }
    bin_dir()?;
    let cluster: &'static Cluster = Box::leak(Box::new(Cluster::start_new()));
    register_exit_cleanup(cluster);
    Some(Server {
        admin_url: cluster.admin_url(),
        cluster: Some(cluster),
    })
}

/// The PostgreSQL binaries' directory, if installed.
pub fn bin_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("EMBER_TEST_PG_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/lib/postgresql/15/bin"));
    dir.join("initdb").exists().then_some(dir)
}

/// A connection to `url` without TLS, failing after a few seconds.
pub fn connect(url: &str) -> Result<postgres::Client, postgres::Error> {
    let mut config: postgres::Config = url.parse()?;
    config.connect_timeout(Duration::from_secs(5));
    config.connect(postgres::NoTls)
}

/// The server's own words for an error (`postgres::Error`'s display hides them).
pub fn said(e: &postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => format!("{}: {}", db.code().code(), db.message()),
        None => e.to_string(),
    }
}

/// `url` with its database name replaced by `database`.
pub fn with_database(url: &str, database: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("postgres", url));
    let (authority, query) = match rest.split_once('/') {
        Some((authority, path)) => (authority, path.split_once('?').map(|(_, q)| q)),
        None => match rest.split_once('?') {
            Some((authority, q)) => (authority, Some(q)),
            None => (rest, None),
        },
    };
    match query {
        Some(q) => format!("{scheme}://{authority}/{database}?{q}"),
        None => format!("{scheme}://{authority}/{database}"),
    }
}

/// A database of its own for one test, dropped (with whatever is still connected to it)
/// when this value is dropped.
pub struct Database {
    /// The database's URL, as `Options::path` takes it.
    pub url: String,
    name: String,
    admin_url: String,
}

static NEXT_DATABASE: AtomicU64 = AtomicU64::new(0);

impl Database {
    /// Creates a fresh, empty database on `admin_url`'s server.
    pub fn create(admin_url: &str) -> Database {
        let n = NEXT_DATABASE.fetch_add(1, Ordering::Relaxed);
        let name = format!("ember_test_{}_{n}", std::process::id());
        let mut admin = connect(admin_url).unwrap_or_else(|e| {
            panic!("connect to the test PostgreSQL ({admin_url}): {}", said(&e))
        });
        // CREATE DATABASE copies template1 and fails while another session is connected
        // to it; retry briefly rather than fail a test on a neighbour's timing.
        let mut tries = 0;
        while let Err(e) = admin.batch_execute(&format!("CREATE DATABASE {name}")) {
            tries += 1;
            assert!(tries < 50, "create database {name}: {}", said(&e));
            std::thread::sleep(Duration::from_millis(100));
        }
        Database {
            url: with_database(admin_url, &name),
            name,
            admin_url: admin_url.to_owned(),
        }
    }

    /// Creates a fresh database on the shared server ([`server`]); panics if there is none.
    pub fn create_shared() -> Database {
        let server = server().expect("a PostgreSQL server (check pg::available() first)");
        Database::create(&server.admin_url)
    }

    /// The database's name.
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl Drop for Database {
    fn drop(&mut self) {
        // Best effort: the server may be down (a test stopped it) or gone.
        if let Ok(mut admin) = connect(&self.admin_url) {
            let _ = admin.batch_execute(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ));
        }
    }
}

/// A throw-away PostgreSQL cluster: its own data directory (which also holds its Unix
/// socket) and port. Stopped and removed on drop; the shared one at process exit.
pub struct Cluster {
    dir: PathBuf,
    port: u16,
    bin: PathBuf,
    as_postgres: bool,
    reaper: Mutex<Option<u32>>,
}

impl Cluster {
    /// Creates and starts a cluster of its own, for a test that must stop or restart its
    /// server while others use the shared one. Panics (with the server log) on failure.
    pub fn start_new() -> Cluster {
        let bin = bin_dir().expect("PostgreSQL binaries (/usr/lib/postgresql/15/bin)");
        // SAFETY: geteuid has no preconditions and cannot fail.
        let as_postgres = unsafe { libc::geteuid() } == 0;
        let dir = tempfile::Builder::new()
            .prefix("ember-test-pg-")
            .tempdir()
            .expect("create the cluster's directory")
            .keep();
        if as_postgres {
            run(
                Command::new("chown").args(["postgres:postgres"]).arg(&dir),
                "chown the cluster directory to postgres",
            );
        }
        let data = dir.join("data");
        let mut initdb = Command::new(bin.join("initdb"));
        initdb.arg("-D").arg(&data).args([
            "-A",
            "trust",
            "-U",
            SUPERUSER,
            "-E",
            "UTF8",
            "--no-sync",
        ]);
        let mut cluster = Cluster {
            dir,
            port: 0,
            bin,
            as_postgres,
            reaper: Mutex::new(None),
        };
        // From here on, a kill of this process leaves nothing behind.
        cluster.spawn_reaper();
        run(&mut cluster.command(initdb), "initdb");
        for attempt in 0.. {
            cluster.port = free_port();
            match cluster.try_start() {
                Ok(()) => break,
                Err(log) if attempt < 3 => eprintln!(
                    "PostgreSQL did not start on port {} (retrying): {log}",
                    cluster.port
                ),
                Err(log) => {
                    cluster.remove();
                    panic!("PostgreSQL did not start: {log}");
                }
            }
        }
        cluster
    }

    /// The superuser URL of the cluster's `postgres` database.
    pub fn admin_url(&self) -> String {
        format!("postgres://{SUPERUSER}@127.0.0.1:{}/postgres", self.port)
    }

    /// The cluster's port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Stops the server abruptly (`pg_ctl stop -m immediate`: no checkpoint, as a crash
    /// or a power-cut of the server process would leave it; recovery replays the WAL).
    pub fn kill(&self) {
        self.stop_mode("immediate");
    }

    /// Stops the server cleanly (`-m fast`: disconnects clients, checkpoints).
    pub fn stop(&self) {
        self.stop_mode("fast");
    }

    /// Starts the stopped server again on the same port.
    pub fn start(&self) {
        if let Err(log) = self.try_start() {
            panic!("PostgreSQL did not start again: {log}");
        }
    }

    /// [`Cluster::kill`] then [`Cluster::start`].
    pub fn restart(&self) {
        self.kill();
        self.start();
    }

    fn data(&self) -> PathBuf {
        self.dir.join("data")
    }

    fn try_start(&self) -> Result<(), String> {
        let mut pg_ctl = Command::new(self.bin.join("pg_ctl"));
        pg_ctl
            .arg("-D")
            .arg(self.data())
            .arg("-o")
            .arg(format!(
                "-p {} -k {} -c listen_addresses=127.0.0.1 -c max_connections=300",
                self.port,
                self.dir.display()
            ))
            .arg("-l")
            .arg(self.dir.join("log"))
            .args(["-w", "-t", &PG_CTL_WAIT_SECS.to_string(), "start"]);
        let out = self.command(pg_ctl).stdin(Stdio::null()).output();
        match out {
            Ok(out) if out.status.success() => Ok(()),
            Ok(out) => Err(format!(
                "{}{}\n{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr),
                std::fs::read_to_string(self.dir.join("log")).unwrap_or_default()
            )),
            Err(e) => Err(format!("pg_ctl: {e}")),
        }
    }

    fn stop_mode(&self, mode: &str) {
        let mut pg_ctl = Command::new(self.bin.join("pg_ctl"));
        pg_ctl.arg("-D").arg(self.data()).args([
            "-m",
            mode,
            "-w",
            "-t",
            &PG_CTL_WAIT_SECS.to_string(),
            "stop",
        ]);
        let _ = self
            .command(pg_ctl)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }

    /// `command`, run as the `postgres` user when the test runs as root.
    fn command(&self, command: Command) -> Command {
        if !self.as_postgres {
            return command;
        }
        let mut wrapped = Command::new("runuser");
        wrapped
            .args(["-u", "postgres", "--"])
            .arg(command.get_program())
            .args(command.get_args());
        wrapped
    }

    /// A detached process that stops the cluster and removes its directory once this
    /// process is gone, in case it dies without running its exit handlers (a signal).
    fn spawn_reaper(&self) {
        let script = format!(
            "while kill -0 {pid} 2>/dev/null; do sleep 1; done; \
             {stop} -D '{data}' -m immediate stop >/dev/null 2>&1; rm -rf '{dir}'",
            pid = std::process::id(),
            stop = if self.as_postgres {
                format!(
                    "runuser -u postgres -- '{}'",
                    self.bin.join("pg_ctl").display()
                )
            } else {
                format!("'{}'", self.bin.join("pg_ctl").display())
            },
            data = self.data().display(),
            dir = self.dir.display(),
        );
        let child = Command::new("setsid")
            .args(["sh", "-c", &script])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn();
        if let Ok(child) = child {
            if let Ok(mut reaper) = self.reaper.lock() {
                *reaper = Some(child.id());
            }
        }
    }

    /// Stops the server, removes the directory and ends the reaper.
    fn remove(&self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
        if let Ok(mut reaper) = self.reaper.lock() {
            if let Some(pid) = reaper.take() {
                // SAFETY: kill has no memory preconditions; the pid is our own child's.
                unsafe { libc::kill(pid as libc::pid_t, libc::SIGKILL) };
            }
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.remove();
    }
}

static SHARED: OnceLock<&'static Cluster> = OnceLock::new();

fn register_exit_cleanup(cluster: &'static Cluster) {
    if SHARED.set(cluster).is_ok() {
        extern "C" fn stop_shared() {
            if let Some(cluster) = SHARED.get() {
                cluster.remove();
            }
        }
        // SAFETY: registers a plain function without arguments; it runs once at exit.
        unsafe { libc::atexit(stop_shared) };
    }
}

/// A port nothing listens on right now.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port on 127.0.0.1")
}

fn run(command: &mut Command, what: &str) {
    let out = command
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(
        out.status.success(),
        "{what} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
