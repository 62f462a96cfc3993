//! `ember-load`: a WebSocket load generator for `ember-server` (and the tokio comparison
//! server, which speaks the same protocol subset). `ember-load --help` and
//! `ember-load run --help` list every flag with its default.
//!
//! ```text
//! ember-load prepare --db ember.db --rooms 10 --users 20 --out DIR
//!     creates users, open rooms and session tokens; writes DIR/tokens.txt and DIR/rooms.txt
//! ember-load run --target ember=127.0.0.1:8080@PID [--target tokio=127.0.0.1:9090@PID]
//!     --tokens DIR/tokens.txt --rooms DIR/rooms.txt
//!     [--clients 1000] [--senders 10] [--rate 50] [--duration 10] [--idle] [--hold 0]
//!     [--wave 100] [--arrivals steady|poisson|in-step]
//! ```
//! Client `i` subscribes to room `i % R`; clients `0..S` also post `--rate` messages per
//! second each: `steady` (the default) at a fixed period from a random phase, so senders are
//! independent as real ones are; `poisson` at exponentially distributed gaps (random
//! clustering); `in-step` all on the same clock, every sender posting at the same instant
//! (a worst case: each tick is a burst of S posts). Per target it prints one JSON line,
//! then a readable summary: connect time, ack and delivery latency (p50/p99/max), delivered
//! frames/s, missing deliveries, and the server's RSS (per connection) and CPU from
//! `/proc/PID`.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use clap::Parser;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

mod args;

use args::{Arrivals, Cli, Command, PrepareArgs, RunArgs};

type Ws = tokio_tungstenite::WebSocketStream<TcpStream>;
type Res<T> = Result<T, String>;

fn main() {
    let result = match Cli::parse().command {
        Command::Prepare(args) => prepare(&args),
        Command::Run(args) => run(&args),
    };
    if let Err(e) = result {
        eprintln!("ember-load: {e}");
        std::process::exit(1);
    }
}

fn prepare(args: &PrepareArgs) -> Res<()> {
    use ember_engine::{Engine, NewUser, Options, PasswordCost, Role, RoomKind};
    let (rooms, users) = (args.rooms, args.users);
    let mut opts = Options::new(&args.db);
    opts.password_cost = PasswordCost {
        memory_kib: 64,
        iterations: 1,
    };
    let engine = Engine::open(opts).map_err(|e| e.to_string())?;
    let stamp = std::process::id();
    let mut tokens = Vec::new();
    let mut admin = None;
    for u in 0..users.max(1) {
        let user = engine
            .create_user(NewUser {
                login: format!("load-{stamp}-{u}"),
                name: format!("Load {stamp} {u}"),
                password: "load-password".into(),
                role: if u == 0 { Role::Admin } else { Role::Member },
            })
            .map_err(|e| e.to_string())?;
        admin.get_or_insert(user.id);
        tokens.push(
            engine
                .create_session(user.id)
                .map_err(|e| e.to_string())?
                .token,
        );
    }
    let admin = admin.ok_or("no users")?;
    let mut ids = Vec::new();
    for r in 0..rooms.max(1) {
        let room = engine
            .create_room(admin, RoomKind::Open, &format!("load {stamp} {r}"), &[])
            .map_err(|e| e.to_string())?;
        ids.push(room.id.to_string());
    }
    engine.close();
    let out = &args.out;
    std::fs::write(out.join("tokens.txt"), tokens.join("\n") + "\n").map_err(|e| e.to_string())?;
    std::fs::write(out.join("rooms.txt"), ids.join("\n") + "\n").map_err(|e| e.to_string())?;
    println!(
        "wrote {} tokens and {} rooms to {}",
        tokens.len(),
        ids.len(),
        out.display()
    );
    Ok(())
}

/// What one run measures.
#[derive(Clone, Debug)]
struct Plan {
    clients: usize,
    senders: usize,
    rate: u64,
    duration: Duration,
    idle: bool,
    hold: Duration,
    wave: usize,
    arrivals: Arrivals,
    tokens: Vec<String>,
    rooms: Vec<String>,
}

fn lines(path: Option<&PathBuf>, default: &str) -> Res<Vec<String>> {
    let Some(path) = path else {
        return Ok(vec![default.to_owned()]);
    };
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect())
}

fn run(args: &RunArgs) -> Res<()> {
    raise_fd_limit();
    let plan = Plan {
        clients: args.clients,
        senders: args.senders,
        rate: args.rate,
        duration: Duration::from_secs(args.duration),
        idle: args.idle,
        hold: Duration::from_secs(args.hold),
        wave: args.wave as usize,
        arrivals: args.arrivals,
        tokens: lines(args.tokens.as_ref(), "none")?,
        rooms: lines(args.rooms.as_ref(), "00000000-0000-7000-8000-000000000000")?,
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let mut reports = Vec::new();
    for t in &args.targets {
        let report = rt.block_on(load(&t.name, &t.addr, t.pid, &plan))?;
        println!("{report}");
        reports.push(report);
    }
    for r in &reports {
        summary(r);
    }
    Ok(())
}

fn base() -> Instant {
    static BASE: OnceLock<Instant> = OnceLock::new();
    *BASE.get_or_init(Instant::now)
}

fn micros() -> u64 {
    base().elapsed().as_micros() as u64
}

/// What one client saw.
#[derive(Default)]
struct Seen {
    acks: Vec<u64>,
    deliveries: Vec<u64>,
    acked_per_room: HashMap<usize, u64>,
    errors: u64,
}

async fn load(name: &str, addr: &str, pid: Option<u32>, plan: &Plan) -> Res<Value> {
    let rss_before = pid.and_then(rss_kib);
    let (stop_tx, stop_rx) = watch::channel(false);
    let (go_tx, go_rx) = watch::channel(false);
    let mut connect_us = Vec::with_capacity(plan.clients);
    let mut tasks = Vec::with_capacity(plan.clients);
    let started = Instant::now();
    for wave in (0..plan.clients).collect::<Vec<_>>().chunks(plan.wave) {
        let mut pending = Vec::new();
        for &i in wave {
            let token = plan.tokens[i % plan.tokens.len()].clone();
            let room = plan.rooms[i % plan.rooms.len()].clone();
            let addr = addr.to_owned();
            pending.push(tokio::spawn(
                async move { connect(&addr, &token, &room).await },
            ));
        }
        for (&i, p) in wave.iter().zip(pending) {
            let (ws, took) = p.await.map_err(|e| e.to_string())??;
            connect_us.push(took);
            let sender = i < plan.senders && !plan.idle;
            let ctx = Role {
                room: i % plan.rooms.len(),
                room_id: plan.rooms[i % plan.rooms.len()].clone(),
                sender,
                rate: plan.rate,
                arrivals: plan.arrivals,
            };
            tasks.push(tokio::spawn(client(
                ws,
                ctx,
                go_rx.clone(),
                stop_rx.clone(),
            )));
        }
    }
    let connect_total = started.elapsed();
    tokio::time::sleep(Duration::from_secs(3)).await; // let the server settle (and park)
    let rss_connected = pid.and_then(rss_kib);
    let cpu0 = pid.and_then(cpu_ticks);
    let t0 = Instant::now();
    if !plan.idle {
        let _ = go_tx.send(true);
        tokio::time::sleep(plan.duration).await;
        let _ = go_tx.send(false);
        tokio::time::sleep(Duration::from_secs(2)).await; // drain
    } else {
        tokio::time::sleep(plan.hold).await;
    }
    let elapsed = t0.elapsed();
    let cpu1 = pid.and_then(cpu_ticks);
    let rss_after = pid.and_then(rss_kib);
    let _ = stop_tx.send(true);
    let mut all = Seen::default();
    let mut subscribers: HashMap<usize, u64> = HashMap::new();
    for (i, t) in tasks.into_iter().enumerate() {
        *subscribers.entry(i % plan.rooms.len()).or_default() += 1;
        if let Ok(s) = t.await {
            all.acks.extend(s.acks);
            all.deliveries.extend(s.deliveries);
            all.errors += s.errors;
            for (r, n) in s.acked_per_room {
                *all.acked_per_room.entry(r).or_default() += n;
            }
        }
    }
    let expected: u64 = all
        .acked_per_room
        .iter()
        .map(|(r, n)| n * subscribers[r])
        .sum();
    let delivered = all.deliveries.len() as u64;
    let per_conn = match (rss_before, rss_connected) {
        (Some(a), Some(b)) => Some((b.saturating_sub(a) as f64 * 1024.0) / plan.clients as f64),
        _ => None,
    };
    let cpu_pct = match (cpu0, cpu1) {
        (Some(a), Some(b)) => Some((b - a) as f64 / clk_tck() / elapsed.as_secs_f64() * 100.0),
        _ => None,
    };
    Ok(json!({
        "target": name, "clients": plan.clients, "senders": plan.senders, "rate": plan.rate,
        "arrivals": format!("{:?}", plan.arrivals),
        "rooms": plan.rooms.len(), "idle": plan.idle,
        "connect_ms": pct_ms(&mut connect_us), "connect_total_s": connect_total.as_secs_f64(),
        "ack_ms": pct_ms(&mut all.acks), "delivery_ms": pct_ms(&mut all.deliveries),
        "acked": all.acks.len(), "delivered": delivered, "expected": expected,
        "missing": expected.saturating_sub(delivered), "errors": all.errors,
        "delivered_per_s": delivered as f64 / elapsed.as_secs_f64(),
        "rss_kib": {"before": rss_before, "connected": rss_connected, "after": rss_after},
        "rss_bytes_per_connection": per_conn, "server_cpu_pct": cpu_pct,
    }))
}

async fn connect(addr: &str, token: &str, room: &str) -> Res<(Ws, u64)> {
    let t = Instant::now();
    let stream = TcpStream::connect(addr)
        .await
        .map_err(|e| format!("connect {addr}: {e}"))?;
    let _ = stream.set_nodelay(true);
    let config = WebSocketConfig::default().read_buffer_size(4096);
    let url = format!("ws://{addr}/ws?token={token}");
    let (mut ws, _) = tokio_tungstenite::client_async_with_config(url, stream, Some(config))
        .await
        .map_err(|e| format!("handshake: {e}"))?;
    wait_for(&mut ws, "\"ready\"").await?;
    let took = t.elapsed().as_micros() as u64;
    let sub = json!({"type": "subscribe", "room_id": room, "since": null});
    ws.send(Message::text(sub.to_string()))
        .await
        .map_err(|e| e.to_string())?;
    wait_for(&mut ws, "\"subscribed\"").await?;
    Ok((ws, took))
}

async fn wait_for(ws: &mut Ws, needle: &str) -> Res<()> {
    loop {
        match ws.next().await {
            Some(Ok(Message::Text(t))) if t.as_str().contains(needle) => return Ok(()),
            Some(Ok(Message::Text(t))) if t.as_str().contains("\"error\"") => {
                return Err(format!("server said {t}"));
            }
            Some(Ok(_)) => {}
            Some(Err(e)) => return Err(e.to_string()),
            None => return Err("closed".into()),
        }
    }
}

/// What one client does.
struct Role {
    room: usize,
    room_id: String,
    sender: bool,
    rate: u64,
    arrivals: Arrivals,
}

/// One client: reads everything; a sender also posts at its rate while `go` is true.
async fn client(
    mut ws: Ws,
    role: Role,
    mut go: watch::Receiver<bool>,
    mut stop: watch::Receiver<bool>,
) -> Seen {
    use tokio::time::{Instant as At, sleep_until};
    let mut seen = Seen::default();
    let period = Duration::from_micros(1_000_000 / role.rate.max(1));
    // Set when sending starts; a post that falls behind is sent at once, and the schedule
    // moves on from there (no burst to catch up).
    let mut next = At::now();
    let pad = "x".repeat(80);
    let mut n = 0u64;
    loop {
        let sending = role.sender && *go.borrow();
        tokio::select! {
            frame = ws.next() => match frame {
                Some(Ok(Message::Text(t))) => record(t.as_str(), role.room, &mut seen),
                Some(Ok(_)) => {}
                _ => return seen,
            },
            _ = sleep_until(next), if sending => {
                next = (next + role.arrivals.gap(period)).max(At::now());
                n += 1;
                let post = json!({"type": "post", "room_id": role.room_id,
                    "client_message_id": uuid::Uuid::new_v4().to_string(),
                    "content": format!("load {} {n} {pad}", micros())});
                if ws.send(Message::text(post.to_string())).await.is_err() {
                    return seen;
                }
            }
            _ = go.changed() => next = At::now() + role.arrivals.first(period),
            _ = stop.changed() => return seen,
        }
    }
}

/// Classifies a frame without parsing all of it.
fn record(text: &str, room: usize, seen: &mut Seen) {
    let stamp = || {
        let at = text.find("\"content\":\"load ")? + 16;
        let digits: String = text[at..]
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        digits
            .parse::<u64>()
            .ok()
            .map(|t| micros().saturating_sub(t))
    };
    if text.starts_with("{\"type\":\"message\"") || text.contains("\"type\":\"message\"") {
        if let Some(l) = stamp() {
            seen.deliveries.push(l);
        }
    } else if text.contains("\"type\":\"ack\"") {
        if let Some(l) = stamp() {
            seen.acks.push(l);
            *seen.acked_per_room.entry(room).or_default() += 1;
        }
    } else if text.contains("\"type\":\"error\"") {
        seen.errors += 1;
    }
}

fn pct_ms(v: &mut [u64]) -> Value {
    if v.is_empty() {
        return Value::Null;
    }
    v.sort_unstable();
    let at = |p: f64| v[((v.len() - 1) as f64 * p).round() as usize] as f64 / 1000.0;
    json!({"p50": at(0.5), "p90": at(0.9), "p99": at(0.99), "p999": at(0.999), "max": at(1.0)})
}

fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn cpu_ticks(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = after.split_whitespace().collect();
    Some(fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?)
}

fn clk_tck() -> f64 {
    // SAFETY: sysconf only reads a system constant.
    let t = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if t > 0 { t as f64 } else { 100.0 }
}

fn raise_fd_limit() {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit only read and write the struct passed in.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) == 0 {
            lim.rlim_cur = lim.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
        }
    }
}

fn summary(r: &Value) {
    let ms = |k: &str| {
        let v = &r[k];
        if v.is_null() {
            "-".to_owned()
        } else {
            format!(
                "p50 {:.2} / p99 {:.2} / max {:.2} ms",
                v["p50"].as_f64().unwrap_or(0.0),
                v["p99"].as_f64().unwrap_or(0.0),
                v["max"].as_f64().unwrap_or(0.0)
            )
        }
    };
    println!(
        "== {} ({} clients, {} rooms, {} senders x {}/s)",
        r["target"].as_str().unwrap_or("?"),
        r["clients"],
        r["rooms"],
        r["senders"],
        r["rate"]
    );
    println!(
        "  connect   {} (all in {:.1} s)",
        ms("connect_ms"),
        r["connect_total_s"].as_f64().unwrap_or(0.0)
    );
    println!("  ack       {}", ms("ack_ms"));
    println!("  delivery  {}", ms("delivery_ms"));
    println!(
        "  delivered {} of {} ({} missing), {:.0} frames/s, {} errors",
        r["delivered"],
        r["expected"],
        r["missing"],
        r["delivered_per_s"].as_f64().unwrap_or(0.0),
        r["errors"]
    );
    println!(
        "  server    RSS {} KiB connected ({} bytes/connection), CPU {}%",
        r["rss_kib"]["connected"],
        r["rss_bytes_per_connection"]
            .as_f64()
            .map_or("-".into(), |b| format!("{b:.0}")),
        r["server_cpu_pct"]
            .as_f64()
            .map_or("-".into(), |c| format!("{c:.1}"))
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn the_documented_recipes_parse_with_their_defaults() {
        let cli = Cli::try_parse_from([
            "ember-load",
            "prepare",
            "--db",
            "/tmp/load.db",
            "--rooms",
            "10",
            "--users",
            "20",
            "--out",
            "/tmp",
        ])
        .expect("prepare parses");
        let Command::Prepare(p) = cli.command else {
            panic!("not prepare")
        };
        assert_eq!((p.rooms, p.users), (10, 20));

        let cli = Cli::try_parse_from([
            "ember-load",
            "run",
            "--target",
            "ember=127.0.0.1:18080@42",
            "--target",
            "tokio=127.0.0.1:19090",
            "--tokens",
            "/tmp/tokens.txt",
            "--rooms",
            "/tmp/rooms.txt",
            "--idle",
            "--hold",
            "8",
        ])
        .expect("run parses");
        let Command::Run(r) = cli.command else {
            panic!("not run")
        };
        assert_eq!(r.targets.len(), 2);
        assert_eq!(r.targets[0].name, "ember");
        assert_eq!(r.targets[0].addr, "127.0.0.1:18080");
        assert_eq!(r.targets[0].pid, Some(42));
        assert_eq!(r.targets[1].pid, None);
        assert!(r.idle);
        assert_eq!((r.clients, r.senders, r.rate), (1000, 10, 50));
        assert_eq!((r.duration, r.hold, r.wave), (10, 8, 100));
        assert!(matches!(r.arrivals, Arrivals::Steady));
    }

    #[test]
    fn a_bad_target_or_arrival_is_refused() {
        for args in [
            &["ember-load", "run"][..],
            &["ember-load", "run", "--target", "a=1.2.3.4:5@pid"],
            &[
                "ember-load",
                "run",
                "--target",
                "a=1.2.3.4:5",
                "--arrivals",
                "bursty",
            ],
        ] {
            assert!(Cli::try_parse_from(args).is_err(), "{args:?}");
        }
    }
}
