//! `ember-load`: a WebSocket load generator for `ember-server` (and the tokio comparison
//! server, which speaks the same protocol subset). `ember-load --help` and
//! `ember-load run --help` list every flag with its default.
//!
//! ```text
//! ember-load prepare --db ember.db --rooms 10 --users 20 --out DIR
//!     creates users, open rooms and session tokens; writes DIR/tokens.txt and DIR/rooms.txt
//! ember-load run --target ember=127.0.0.1:8080@PID [--target tokio=127.0.0.1:9090@PID]
//!     [--target cluster=127.0.0.1:8081@PID,127.0.0.1:8082@PID] [--watch PID]
//!     --tokens DIR/tokens.txt --rooms DIR/rooms.txt
//!     [--clients 1000] [--senders 10] [--rate 50] [--duration 10] [--idle] [--hold 0]
//!     [--wave 100] [--arrivals steady|poisson|in-step] [--drain 2]
//!     [--during 'SHELL COMMAND' --during-at 3]
//! ```
//! `prepare --db` also takes a `postgres://` URL (the database a cluster shares).
//! Client `i` subscribes to room `i % R`; clients `0..S` also post `--rate` messages per
//! second each: `steady` (the default) at a fixed period from a random phase, so senders are
//! independent as real ones are; `poisson` at exponentially distributed gaps (random
//! clustering); `in-step` all on the same clock, every sender posting at the same instant
//! (a worst case: each tick is a burst of S posts). Per target it prints one JSON line,
//! then a readable summary: connect time, ack and delivery latency (p50/p99/max), delivered
//! frames/s, missing, doubled and out-of-order deliveries, and the server's RSS (per
//! connection) and CPU from `/proc/PID`, also per delivered frame.
//!
//! A target with several nodes (a cluster on one database and one broker) spreads its
//! clients: the clients of each room alternate over the nodes, and so do the senders. Its
//! report adds the delivery latency to clients on the sender's node and on the others, and
//! the time from the sender's ack (which leaves its node after COMMIT) to the frame on
//! another node. `--watch PID` adds the CPU of other processes (PostgreSQL with its backends,
//! Redis); `--during` runs a command mid-run (a broker restart) and reports how long after
//! it every subscriber had caught up (`recovery_ms`).

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
mod procs;
mod summary;
mod tally;

use args::{Arrivals, Cli, Command, PrepareArgs, RunArgs, Target};
use procs::{clk_tck, cpu_ticks, raise_fd_limit, rss_kib, tree_cpu_ticks};
use tally::{Seen, Tally, pct_ms};

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
    drain: Duration,
    idle: bool,
    hold: Duration,
    wave: usize,
    arrivals: Arrivals,
    tokens: Vec<String>,
    rooms: Vec<String>,
    watch: Vec<u32>,
    during: Option<(String, Duration)>,
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
        drain: Duration::from_secs(args.drain),
        idle: args.idle,
        hold: Duration::from_secs(args.hold),
        wave: args.wave as usize,
        arrivals: args.arrivals,
        tokens: lines(args.tokens.as_ref(), "none")?,
        rooms: lines(args.rooms.as_ref(), "00000000-0000-7000-8000-000000000000")?,
        watch: args.watch.clone(),
        during: args
            .during
            .clone()
            .map(|c| (c, Duration::from_secs(args.during_at))),
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let mut reports = Vec::new();
    for t in &args.targets {
        let report = rt.block_on(load(t, &plan))?;
        println!("{report}");
        reports.push(report);
    }
    for r in &reports {
        summary::print(r);
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

/// The sum of `f` over the processes, if every one could be read.
fn sum_over(pids: &[u32], f: fn(u32) -> Option<u64>) -> Option<u64> {
    if pids.is_empty() {
        return None;
    }
    pids.iter().map(|&p| f(p)).sum()
}

/// Runs the `--during` command `at` after the posting starts; answers when it ended.
async fn during(command: String, at: Duration) -> Option<u64> {
    tokio::time::sleep(at).await;
    eprintln!("ember-load: running {command:?}");
    let status = tokio::task::spawn_blocking(move || {
        std::process::Command::new("sh")
            .arg("-c")
            .arg(&command)
            .status()
    })
    .await;
    match status {
        Ok(Ok(s)) if s.success() => {}
        other => eprintln!("ember-load: --during command failed: {other:?}"),
    }
    Some(micros())
}

async fn load(target: &Target, plan: &Plan) -> Res<Value> {
    let pids: Vec<u32> = target.nodes.iter().filter_map(|n| n.pid).collect();
    let rss_before = sum_over(&pids, rss_kib);
    let (stop_tx, stop_rx) = watch::channel(false);
    let (go_tx, go_rx) = watch::channel(false);
    let mut connect_us = Vec::with_capacity(plan.clients);
    let mut tasks = Vec::with_capacity(plan.clients);
    let node: Vec<usize> = (0..plan.clients)
        .map(|i| target.node_of(i, plan.rooms.len()))
        .collect();
    let started = Instant::now();
    for wave in (0..plan.clients).collect::<Vec<_>>().chunks(plan.wave) {
        let mut pending = Vec::new();
        for &i in wave {
            let token = plan.tokens[i % plan.tokens.len()].clone();
            let room = plan.rooms[i % plan.rooms.len()].clone();
            let addr = target.nodes[node[i]].addr.clone();
            pending.push(tokio::spawn(
                async move { connect(&addr, &token, &room).await },
            ));
        }
        for (&i, p) in wave.iter().zip(pending) {
            let (ws, took) = p.await.map_err(|e| e.to_string())??;
            connect_us.push(took);
            let ctx = Role {
                client: i,
                room_id: plan.rooms[i % plan.rooms.len()].clone(),
                sender: i < plan.senders && !plan.idle,
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
    let rss_connected = sum_over(&pids, rss_kib);
    let cpu0 = sum_over(&pids, cpu_ticks);
    let watch0 = sum_over(&plan.watch, tree_cpu_ticks);
    let t0 = Instant::now();
    let mut during_end = None;
    if !plan.idle {
        let _ = go_tx.send(true);
        let side = plan
            .during
            .clone()
            .map(|(command, at)| tokio::spawn(during(command, at)));
        tokio::time::sleep(plan.duration).await;
        let _ = go_tx.send(false);
        if let Some(side) = side {
            during_end = side.await.ok().flatten();
        }
        tokio::time::sleep(plan.drain).await;
    } else {
        tokio::time::sleep(plan.hold).await;
    }
    let elapsed = t0.elapsed();
    let cpu1 = sum_over(&pids, cpu_ticks);
    let watch1 = sum_over(&plan.watch, tree_cpu_ticks);
    let rss_after = sum_over(&pids, rss_kib);
    let _ = stop_tx.send(true);
    let mut seen = Vec::with_capacity(tasks.len());
    for t in tasks {
        seen.push(t.await.unwrap_or_default());
    }
    let rooms = plan.rooms.len();
    let mut subscribers = vec![0u64; rooms];
    let mut acked_per_room = vec![0u64; rooms];
    for (i, s) in seen.iter().enumerate() {
        subscribers[i % rooms] += 1;
        acked_per_room[i % rooms] += s.acked;
    }
    let expected: u64 = (0..rooms).map(|r| acked_per_room[r] * subscribers[r]).sum();
    let tally = Tally {
        seen,
        node,
        during_end,
    };
    let mut report = tally.report();
    let delivered = report["delivered"].as_u64().unwrap_or(0);
    let per_conn = match (rss_before, rss_connected) {
        (Some(a), Some(b)) => Some((b.saturating_sub(a) as f64 * 1024.0) / plan.clients as f64),
        _ => None,
    };
    let cpu_s = match (cpu0, cpu1) {
        (Some(a), Some(b)) => Some(b.saturating_sub(a) as f64 / clk_tck()),
        _ => None,
    };
    let watch_s = match (watch0, watch1) {
        (Some(a), Some(b)) => Some(b.saturating_sub(a) as f64 / clk_tck()),
        _ => None,
    };
    let per_frame = |s: Option<f64>| {
        s.filter(|_| delivered > 0)
            .map(|s| s * 1e6 / delivered as f64)
    };
    let fields = json!({
        "target": target.name, "nodes": target.nodes.len(), "clients": plan.clients,
        "senders": plan.senders, "rate": plan.rate,
        "arrivals": format!("{:?}", plan.arrivals),
        "rooms": rooms, "idle": plan.idle,
        "connect_ms": pct_ms(&mut connect_us), "connect_total_s": connect_total.as_secs_f64(),
        "expected": expected, "missing": expected.saturating_sub(delivered),
        "delivered_per_s": delivered as f64 / elapsed.as_secs_f64(),
        "rss_kib": {"before": rss_before, "connected": rss_connected, "after": rss_after},
        "rss_bytes_per_connection": per_conn,
        "server_cpu_pct": cpu_s.map(|s| s / elapsed.as_secs_f64() * 100.0),
        "server_cpu_s": cpu_s, "server_cpu_us_per_frame": per_frame(cpu_s),
        "watched_cpu_s": watch_s, "watched_cpu_us_per_frame": per_frame(watch_s),
    });
    if let (Some(r), Some(f)) = (report.as_object_mut(), fields.as_object()) {
        for (k, v) in f {
            r.insert(k.clone(), v.clone());
        }
    }
    Ok(report)
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
    client: usize,
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
                Some(Ok(Message::Text(t))) => seen.record(t.as_str(), micros()),
                Some(Ok(_)) => {}
                _ => break,
            },
            _ = sleep_until(next), if sending => {
                next = (next + role.arrivals.gap(period)).max(At::now());
                n += 1;
                let post = json!({"type": "post", "room_id": role.room_id,
                    "client_message_id": uuid::Uuid::new_v4().to_string(),
                    "content": format!("load {} {} {n} {pad}", micros(), role.client)});
                if ws.send(Message::text(post.to_string())).await.is_err() {
                    break;
                }
            }
            _ = go.changed() => next = At::now() + role.arrivals.first(period),
            _ = stop.changed() => break,
        }
    }
    seen.finish();
    seen
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
        assert_eq!(r.targets[0].nodes.len(), 1);
        assert_eq!(r.targets[0].nodes[0].addr, "127.0.0.1:18080");
        assert_eq!(r.targets[0].nodes[0].pid, Some(42));
        assert_eq!(r.targets[1].nodes[0].pid, None);
        assert!(r.idle);
        assert_eq!((r.clients, r.senders, r.rate), (1000, 10, 50));
        assert_eq!((r.duration, r.hold, r.wave), (10, 8, 100));
        assert!(matches!(r.arrivals, Arrivals::Steady));
    }

    #[test]
    fn a_cluster_target_spreads_every_room_and_the_senders_over_its_nodes() {
        let cli = Cli::try_parse_from([
            "ember-load",
            "run",
            "--target",
            "cluster=127.0.0.1:1@10,127.0.0.1:2,127.0.0.1:3@30",
            "--watch",
            "7",
            "--during",
            "true",
        ])
        .expect("run parses");
        let Command::Run(r) = cli.command else {
            panic!("not run")
        };
        let t = &r.targets[0];
        let pids: Vec<_> = t.nodes.iter().map(|n| n.pid).collect();
        assert_eq!(pids, [Some(10), None, Some(30)]);
        assert_eq!((r.watch.as_slice(), r.during_at), (&[7][..], 3));
        for rooms in [1, 2, 10] {
            for room in 0..rooms {
                let nodes: std::collections::BTreeSet<_> = (0..30)
                    .filter(|i| i % rooms == room)
                    .map(|i| t.node_of(i, rooms))
                    .collect();
                assert_eq!(nodes.len(), 3, "room {room} of {rooms}");
            }
        }
        let senders: Vec<_> = (0..3).map(|i| t.node_of(i, 10)).collect();
        assert_eq!(senders, [0, 1, 2]);
        let single = Target::parse("127.0.0.1:1").expect("parses");
        assert!((0..50).all(|i| single.node_of(i, 7) == 0));
    }

    #[test]
    fn a_bad_target_or_arrival_is_refused() {
        for args in [
            &["ember-load", "run"][..],
            &["ember-load", "run", "--target", "a=1.2.3.4:5@pid"],
            &["ember-load", "run", "--target", "a=1.2.3.4:5,"],
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
