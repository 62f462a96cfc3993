//! `serve` and `demo`.

use std::path::PathBuf;
use std::time::Duration;

use ember_engine::{
    ClientMessageId, Engine, Location, NewPost, NewUser, Options, RateLimit, Role, RoomKind,
};
use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook::iterator::Signals;

use super::{Cli, ServeArgs};
use crate::server::{Config, Server};

/// Opens the database and serves until SIGINT or SIGTERM.
pub fn serve(mut opts: Options, args: &ServeArgs) -> Result<(), String> {
    opts.presence_ttl = Duration::from_millis(args.presence_ttl_ms.max(1));
    if let Some(rate) = args.post_rate {
        opts.post_rate = RateLimit::new(rate, (rate * 2.0).max(1.0) as u32);
    }
    let engine = Engine::open(opts).map_err(|e| e.to_string())?;
    let result = load_plugins(&engine, &args.plugins).and_then(|()| run(&engine, args, |_| {}));
    engine.close();
    result
}

/// Loads the `--plugin` libraries in order; the first that fails stops the server.
fn load_plugins(engine: &Engine, plugins: &[PathBuf]) -> Result<(), String> {
    for path in plugins {
        ember::load_plugin(engine, path).map_err(|e| e.to_string())?;
        log::info!("loaded plugin {}", path.display());
    }
    Ok(())
}

fn run(engine: &Engine, args: &ServeArgs, on_ready: impl FnOnce(&str)) -> Result<(), String> {
    raise_fd_limit();
    let config = Config {
        max_connections: args.max_connections,
        ping_interval: Duration::from_millis(args.ping_interval_ms.max(1)),
        idle_timeout: Duration::from_millis(args.idle_timeout_ms.max(1)),
        request_timeout: Duration::from_millis(args.request_timeout_ms.max(1)),
        read_buffer: args.read_buffer.max(256),
        max_write_buffer: args.max_write_buffer.max(1024),
        max_output: args.max_output,
        stall_timeout: Duration::from_millis(args.stall_timeout_ms),
        socket_send_buffer: args.socket_send_buffer,
        ..Config::new(args.listen)
    };
    let server = Server::bind(engine.clone(), config)
        .map_err(|e| format!("cannot listen on {}: {e}", args.listen))?;
    let url = format!("http://{}/", server.local_addr());
    let mut signals = Signals::new([SIGINT, SIGTERM]).map_err(|e| e.to_string())?;
    let stop = server.shutdown_handle();
    std::thread::Builder::new()
        .name("ember-signals".into())
        .spawn(move || {
            if let Some(sig) = signals.forever().next() {
                log::info!("signal {sig}: shutting down");
                stop.shutdown();
            }
        })
        .map_err(|e| e.to_string())?;
    println!("listening on {url}");
    on_ready(&url);
    server.run().map_err(|e| e.to_string())?;
    log::info!("stopped");
    Ok(())
}

/// Creates a fresh demo database (always an embedded SQLite file) and serves it.
pub fn demo(cli: &Cli, args: &ServeArgs) -> Result<(), String> {
    let path = match &cli.db {
        Some(p) => match Location::parse(&p.to_string_lossy()) {
            Location::Postgres(_) => {
                return Err("demo runs on its own SQLite file; to serve a PostgreSQL \
                            database use `serve --db postgres://…`"
                    .into());
            }
            Location::Sqlite(file) if file.exists() => {
                return Err(format!(
                    "{} exists; demo wants a fresh database",
                    file.display()
                ));
            }
            Location::Sqlite(_) => p.clone(),
        },
        None => fresh_temp_path(),
    };
    let mut opts = super::options(cli, path.clone());
    opts.presence_ttl = Duration::from_millis(args.presence_ttl_ms.max(1));
    let engine = Engine::open(opts).map_err(|e| e.to_string())?;
    seed(&engine).map_err(|e| e.to_string())?;
    let result = load_plugins(&engine, &args.plugins).and_then(|()| {
        run(&engine, args, |url| {
            println!("Ember demo at {url}");
            println!("  database: {}", path.display());
            for (login, password, role) in DEMO_USERS {
                println!("  login: {login} / {password} ({role})");
            }
            println!(
                "  tokens for scripts: ember-server token create ann --db {}",
                path.display()
            );
        })
    });
    engine.close();
    result
}

const DEMO_USERS: [(&str, &str, &str); 3] = [
    ("admin", "admin-password", "admin"),
    ("ann", "ann-password", "member"),
    ("bob", "bob-password", "member"),
];

fn seed(engine: &Engine) -> ember_engine::Result<()> {
    let mut ids = Vec::new();
    for (login, password, role) in DEMO_USERS {
        let mut name = login.to_owned();
        name[..1].make_ascii_uppercase();
        let user = engine.create_user(NewUser {
            login: login.into(),
            name,
            password: password.into(),
            role: Role::parse(role).unwrap_or(Role::Member),
        })?;
        ids.push(user.id);
    }
    let room = engine.create_room(ids[0], RoomKind::Open, "Lobby", &[])?;
    let lines = [
        (0, "Welcome to Ember! This room is open to everyone."),
        (1, "Hi all, @Bob are you there?"),
        (2, "Here! Try /play tada"),
    ];
    for (who, text) in lines {
        engine.post(NewPost {
            user: ids[who],
            room: room.id,
            client_message_id: ClientMessageId::new_v7(),
            content: text.into(),
        })?;
    }
    Ok(())
}

fn fresh_temp_path() -> PathBuf {
    let dir = std::env::temp_dir();
    let path = dir.join(format!("ember-demo-{}.db", std::process::id()));
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
    path
}

/// Raises the soft open-files limit to the hard limit (many connections need many fds).
fn raise_fd_limit() {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit only read and write the struct we pass.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) == 0 && lim.rlim_cur < lim.rlim_max {
            let old = lim.rlim_cur;
            lim.rlim_cur = lim.rlim_max;
            if libc::setrlimit(libc::RLIMIT_NOFILE, &lim) == 0 {
                log::info!("open files limit raised from {old} to {}", lim.rlim_max);
            }
        }
    }
}
