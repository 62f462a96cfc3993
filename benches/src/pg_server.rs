//! The PostgreSQL server the PostgreSQL benches run against.
//!
//! With `EMBER_BENCH_PG_URL` set (a `postgres://` URL of a database whose user may
//! `CREATE DATABASE`), the benches create and drop their databases there. Otherwise
//! [`PgServer::start`] makes a throw-away cluster under `target/bench-data/` (the same disk
//! as the SQLite benches' files): `initdb` (as the `postgres` system user when running as
//! root, since initdb refuses root), `pg_ctl start` on a free loopback port with default
//! settings (`synchronous_commit` on, `fsync` on) plus `pg_stat_statements` loaded (for
//! [`statements`]), and stops and deletes it on drop.

use std::path::{Path, PathBuf};
use std::process::Command;

use postgres::{Client, NoTls};

/// Where the PostgreSQL 15 binaries of Debian's `postgresql` package live.
const PG_BIN: &str = "/usr/lib/postgresql/15/bin";

/// A PostgreSQL server: a throw-away cluster of our own, or the one `EMBER_BENCH_PG_URL`
/// names.
pub struct PgServer {
    /// The URL of a database to connect to for `CREATE DATABASE`.
    admin_url: String,
    /// The URL up to the database name (`postgres://user@host:port/`).
    base: String,
    /// The throw-away cluster's data directory, if we started one.
    cluster: Option<tempfile::TempDir>,
    /// Databases made by [`PgServer::database`], dropped on drop.
    made: Vec<String>,
}

impl PgServer {
    /// The server of `EMBER_BENCH_PG_URL`, or a new throw-away cluster. Panics (this is a
    /// bench) when neither works, saying why.
    pub fn start() -> PgServer {
        if let Ok(url) = std::env::var("EMBER_BENCH_PG_URL") {
            let base = match url.rfind('/') {
                Some(i) if i > "postgres://".len() => url[..=i].to_owned(),
                _ => panic!("EMBER_BENCH_PG_URL={url}: expected postgres://user@host:port/db"),
            };
            return PgServer {
                admin_url: url,
                base,
                cluster: None,
                made: Vec::new(),
            };
        }
        let dir = tempfile::Builder::new()
            .prefix("pg-")
            .tempdir_in(crate::bench_data_dir())
            .expect("scratch dir for PostgreSQL");
        let data = dir.path().join("data");
        std::fs::create_dir(&data).expect("mkdir data");
        let root = unsafe { libc::geteuid() } == 0;
        if root {
            chown_postgres(dir.path());
        }
        run_pg(
            root,
            Command::new(Path::new(PG_BIN).join("initdb"))
                .args(["-D", &data.to_string_lossy(), "-A", "trust", "-U", "ember"])
                .args(["-E", "UTF8", "--locale=C.UTF-8"]),
        );
        let port = free_port();
        let opts = format!(
            "-p {port} -k {} -c listen_addresses=127.0.0.1 -c max_connections=200 \
             -c shared_preload_libraries=pg_stat_statements -c pg_stat_statements.track=all",
            data.display()
        );
        run_pg(
            root,
            Command::new(Path::new(PG_BIN).join("pg_ctl"))
                .args(["-D", &data.to_string_lossy(), "-o", &opts, "-w"])
                .args(["-l", &data.join("log").to_string_lossy(), "start"]),
        );
        let base = format!("postgres://ember@127.0.0.1:{port}/");
        PgServer {
            admin_url: format!("{base}postgres"),
            base,
            cluster: Some(dir),
            made: Vec::new(),
        }
    }

    /// A new empty database named `name` (dropped first if it exists); its URL.
    pub fn database(&mut self, name: &str) -> String {
        let mut admin = self.admin();
        admin
            .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .expect("drop database");
        admin
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .expect("create database");
        // Experiments: EMBER_BENCH_PG_DB_SETTINGS="plan_cache_mode=force_custom_plan,...".
        if let Ok(list) = std::env::var("EMBER_BENCH_PG_DB_SETTINGS") {
            for setting in list.split(',').filter(|s| !s.trim().is_empty()) {
                let (key, value) = setting.split_once('=').expect("setting=value");
                admin
                    .batch_execute(&format!("ALTER DATABASE {name} SET {key} = '{value}'"))
                    .expect("database setting");
            }
        }
        if !self.made.iter().any(|m| m == name) {
            self.made.push(name.to_owned());
        }
        format!("{}{name}", self.base)
    }

    /// A connection to the server's administrative database.
    pub fn admin(&self) -> Client {
        Client::connect(&self.admin_url, NoTls).expect("connect to PostgreSQL")
    }

    /// The data directory of the throw-away cluster (for its log), if this run made one.
    pub fn data_dir(&self) -> Option<PathBuf> {
        self.cluster.as_ref().map(|d| d.path().join("data"))
    }
}

impl Drop for PgServer {
    fn drop(&mut self) {
        match &self.cluster {
            Some(dir) => {
                let data = dir.path().join("data");
                let root = unsafe { libc::geteuid() } == 0;
                let mut stop = Command::new(Path::new(PG_BIN).join("pg_ctl"));
                stop.args([
                    "-D",
                    &data.to_string_lossy(),
                    "-m",
                    "immediate",
                    "-w",
                    "stop",
                ]);
                let _ = wrap(root, &stop).output();
            }
            None => {
                if let Ok(mut admin) = Client::connect(&self.admin_url, NoTls) {
                    for name in &self.made {
                        let _ = admin
                            .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
                    }
                }
            }
        }
    }
}

/// Runs a PostgreSQL tool (as `postgres` when `root`), panicking with its output on failure.
fn run_pg(root: bool, cmd: &mut Command) {
    let out = wrap(root, cmd).output().expect("run a PostgreSQL tool");
    assert!(
        out.status.success(),
        "{:?} failed: {}{}",
        cmd,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `cmd` as is, or under `runuser -u postgres --` when running as root.
fn wrap(root: bool, cmd: &Command) -> Command {
    if !root {
        let mut c = Command::new(cmd.get_program());
        c.args(cmd.get_args());
        return c;
    }
    let mut c = Command::new("runuser");
    c.args(["-u", "postgres", "--"]).arg(cmd.get_program());
    c.args(cmd.get_args());
    c
}

fn chown_postgres(dir: &Path) {
    let ok = Command::new("chown")
        .args(["-R", "postgres:postgres"])
        .arg(dir)
        .status()
        .is_ok_and(|s| s.success());
    assert!(ok, "chown postgres {}", dir.display());
}

/// A loopback port nobody listens on right now.
fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    l.local_addr().expect("local addr").port()
}

/// The statements that took the most server time in the database at `url` since
/// [`reset_statements`], as table rows: calls, total ms, mean ms, rows, the query's start.
/// Empty when `pg_stat_statements` is not loaded (an `EMBER_BENCH_PG_URL` server without it).
pub fn statements(url: &str, top: usize) -> Vec<Vec<String>> {
    let Ok(mut c) = Client::connect(url, NoTls) else {
        return Vec::new();
    };
    let rows = c.query(
        "SELECT calls, total_exec_time, mean_exec_time, rows, \
         regexp_replace(query, '\\s+', ' ', 'g') FROM pg_stat_statements \
         WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) \
         ORDER BY total_exec_time DESC LIMIT $1",
        &[&(top as i64)],
    );
    rows.map(|rows| {
        rows.iter()
            .map(|r| {
                let q: String = r.get(4);
                vec![
                    r.get::<_, i64>(0).to_string(),
                    format!("{:.0}", r.get::<_, f64>(1)),
                    format!("{:.3}", r.get::<_, f64>(2)),
                    r.get::<_, i64>(3).to_string(),
                    q.chars().take(90).collect::<String>().replace('|', "/"),
                ]
            })
            .collect()
    })
    .unwrap_or_default()
}

/// Creates `pg_stat_statements` in the database at `url` (if the server loaded it) and
/// clears its counters.
pub fn reset_statements(url: &str) {
    if let Ok(mut c) = Client::connect(url, NoTls) {
        let _ = c.batch_execute(
            "CREATE EXTENSION IF NOT EXISTS pg_stat_statements; SELECT pg_stat_statements_reset()",
        );
    }
}
