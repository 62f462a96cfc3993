//! `ember-soak`: a long mixed load against a running `ember-server`, sampling the server's
//! memory and open file descriptors every minute, to show that nothing grows.
//!
//! ```text
//! ember-soak --addr 127.0.0.1:8080 --pid PID --tokens DIR/tokens.txt --rooms DIR/rooms.txt
//!     [--minutes 30] [--clients 16] [--warmup 5]
//! ```
//! (`ember-load prepare` writes the token and room files; `scripts/soak` does everything.)
//! Each client connects, subscribes to a room from its last cursor, then mixes posts,
//! history pages, searches, re-subscriptions with `since`, and pings, and reconnects every
//! few hundred operations. Each minute one line: RSS, open descriptors, operations and
//! errors so far. At the end: growth of RSS and descriptors from the end of the warm-up to
//! the mean of the last three minutes (the goal is at most 5%).

use std::net::TcpStream;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use clap::Parser;
use rand::Rng;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::{self, Message, WebSocket};

/// A long mixed load against ember-server, with memory and descriptors sampled each minute.
#[derive(Debug, Parser)]
#[command(name = "ember-soak", version)]
struct Cli {
    /// The server's address.
    #[arg(long)]
    addr: String,
    /// The server's process id (for /proc/PID).
    #[arg(long)]
    pid: u32,
    /// Session tokens, one per line (`ember-load prepare`).
    #[arg(long)]
    tokens: PathBuf,
    /// Room ids, one per line (`ember-load prepare`).
    #[arg(long)]
    rooms: PathBuf,
    /// How long to run.
    #[arg(long, default_value_t = 30)]
    minutes: u64,
    /// Concurrent clients (one thread each).
    #[arg(long, default_value_t = 16)]
    clients: usize,
    /// Minutes before the baseline sample.
    #[arg(long, default_value_t = 5)]
    warmup: u64,
}

#[derive(Default)]
struct Counts {
    ops: AtomicU64,
    errors: AtomicU64,
    reconnects: AtomicU64,
}

fn main() {
    let cli = Cli::parse();
    let read = |p: &PathBuf| -> Vec<String> {
        std::fs::read_to_string(p)
            .unwrap_or_else(|e| panic!("read {}: {e}", p.display()))
            .lines()
            .map(str::to_owned)
            .filter(|l| !l.is_empty())
            .collect()
    };
    let (tokens, rooms) = (read(&cli.tokens), read(&cli.rooms));
    assert!(
        !tokens.is_empty() && !rooms.is_empty(),
        "no tokens or rooms"
    );
    let stop = Arc::new(AtomicBool::new(false));
    let counts = Arc::new(Counts::default());
    let threads: Vec<_> = (0..cli.clients)
        .map(|i| {
            let token = tokens[i % tokens.len()].clone();
            let room = rooms[i % rooms.len()].clone();
            let (addr, stop, counts) = (cli.addr.clone(), stop.clone(), counts.clone());
            std::thread::spawn(move || client(&addr, &token, &room, &stop, &counts))
        })
        .collect();
    println!("minute  rss_kib  fds  ops  errors  reconnects");
    let started = Instant::now();
    let mut samples = Vec::new();
    for minute in 0..=cli.minutes {
        let next = started + Duration::from_secs(60 * minute);
        std::thread::sleep(next.saturating_duration_since(Instant::now()));
        let (rss, fds) = (rss_kib(cli.pid), fds(cli.pid));
        println!(
            "{minute:>6}  {rss:>7}  {fds:>3}  {}  {}  {}",
            counts.ops.load(Ordering::Relaxed),
            counts.errors.load(Ordering::Relaxed),
            counts.reconnects.load(Ordering::Relaxed)
        );
        samples.push((rss, fds));
    }
    stop.store(true, Ordering::Relaxed);
    for t in threads {
        let _ = t.join();
    }
    let base = samples[(cli.warmup as usize).min(samples.len() - 1)];
    let tail = &samples[samples.len().saturating_sub(3)..];
    let mean =
        |f: fn(&(u64, u64)) -> u64| tail.iter().map(f).sum::<u64>() as f64 / tail.len() as f64;
    let growth = |now: f64, then: u64| 100.0 * (now - then as f64) / then.max(1) as f64;
    println!(
        "growth after warm-up (minute {} -> mean of the last {}): RSS {:+.1}%, fds {:+.1}%",
        cli.warmup,
        tail.len(),
        growth(mean(|s| s.0), base.0),
        growth(mean(|s| s.1), base.1)
    );
}

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

fn fds(pid: u32) -> u64 {
    std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, |d| d.count() as u64)
}

/// Connects, works a few hundred operations, reconnects from its cursor; until stopped.
fn client(addr: &str, token: &str, room: &str, stop: &AtomicBool, counts: &Counts) {
    let mut cursor: Option<u64> = None;
    let mut rng = rand::rng();
    while !stop.load(Ordering::Relaxed) {
        match session(addr, token, room, &mut cursor, stop, counts, &mut rng) {
            Ok(()) => {}
            Err(e) => {
                counts.errors.fetch_add(1, Ordering::Relaxed);
                eprintln!("client error: {e}");
                std::thread::sleep(Duration::from_millis(500));
            }
        }
        counts.reconnects.fetch_add(1, Ordering::Relaxed);
    }
}

type Ws = WebSocket<TcpStream>;

fn session(
    addr: &str,
    token: &str,
    room: &str,
    cursor: &mut Option<u64>,
    stop: &AtomicBool,
    counts: &Counts,
    rng: &mut impl Rng,
) -> Result<(), String> {
    let stream = TcpStream::connect(addr).map_err(|e| e.to_string())?;
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .map_err(|e| e.to_string())?;
    let url = format!("ws://{addr}/ws?token={token}");
    let (mut ws, _) = tungstenite::client(url.as_str(), stream).map_err(|e| e.to_string())?;
    answer(&mut ws, "ready", cursor)?;
    subscribe(&mut ws, room, cursor)?;
    for _ in 0..rng.random_range(100..400) {
        if stop.load(Ordering::Relaxed) {
            break;
        }
        let roll = rng.random_range(0..100);
        let (frame, reply) = match roll {
            0..40 => (
                json!({"type": "post", "room_id": room, "client_message_id": uuid::Uuid::now_v7().to_string(),
                       "content": format!("soak {}", rng.random::<u32>()), "ref": 1}),
                "ack",
            ),
            40..55 => (
                json!({"type": "history", "room_id": room, "limit": 50, "ref": 2}),
                "history",
            ),
            55..65 => (
                json!({"type": "search", "query": "soak", "limit": 20, "ref": 3}),
                "search_results",
            ),
            65..80 => {
                send(
                    &mut ws,
                    json!({"type": "unsubscribe", "room_id": room, "ref": 4}),
                )?;
                answer(&mut ws, "unsubscribed", cursor)?;
                subscribe(&mut ws, room, cursor)?;
                counts.ops.fetch_add(1, Ordering::Relaxed);
                continue;
            }
            _ => (json!({"type": "ping", "ref": 5}), "pong"),
        };
        send(&mut ws, frame)?;
        answer(&mut ws, reply, cursor)?;
        counts.ops.fetch_add(1, Ordering::Relaxed);
        std::thread::sleep(Duration::from_millis(rng.random_range(20..60)));
    }
    let _ = ws.close(None);
    Ok(())
}

fn send(ws: &mut Ws, v: Value) -> Result<(), String> {
    ws.send(Message::text(v.to_string()))
        .map_err(|e| e.to_string())
}

fn subscribe(ws: &mut Ws, room: &str, cursor: &mut Option<u64>) -> Result<(), String> {
    send(
        ws,
        json!({"type": "subscribe", "room_id": room, "since": *cursor, "ref": 6}),
    )?;
    let subscribed = answer(ws, "subscribed", cursor)?;
    if cursor.is_none() || subscribed["reset"] == true {
        *cursor = subscribed["head_seq"].as_u64();
    }
    Ok(())
}

/// Reads frames until one of type `ty`, moving the cursor with every message frame; an
/// error frame is an error.
fn answer(ws: &mut Ws, ty: &str, cursor: &mut Option<u64>) -> Result<Value, String> {
    loop {
        let frame = ws.read().map_err(|e| e.to_string())?;
        let Message::Text(t) = frame else { continue };
        let v: Value = serde_json::from_str(t.as_str()).map_err(|e| e.to_string())?;
        match v["type"].as_str() {
            Some(t) if t == ty => return Ok(v),
            Some("error") => return Err(format!("error frame: {v}")),
            Some("message") => {
                if let Some(c) = v["message"]["change_seq"].as_u64() {
                    *cursor = Some(cursor.map_or(c, |old| old.max(c)));
                }
            }
            _ => {}
        }
    }
}
