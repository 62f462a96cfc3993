//! Live layer figures: fan-out latency from COMMIT to the last of many subscribers, writer
//! throughput with subscribers attached, and memory per idle subscription.
//!
//! `cargo bench -p ember-benches --bench live_fanout`; sizes from `EMBER_BENCH_SUBSCRIBERS`
//! (1000), `EMBER_BENCH_FANOUT_MESSAGES` (300), `EMBER_BENCH_IDLE_SUBSCRIPTIONS` (10000),
//! `EMBER_BENCH_MESSAGES` (20000, for the throughput runs).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use ember_benches::fixture::{World, new_engine};
use ember_benches::measure::{Latencies, Table};
use ember_benches::text::Vocabulary;
use ember_benches::{bench_data_dir, env_usize};
use ember_engine::{Engine, Events, RecvError, Request, SharedEvent, Subscription};
use parking_lot::Mutex;
use rand::SeedableRng;
use rand::rngs::StdRng;

fn main() {
    let subscribers = env_usize("EMBER_BENCH_SUBSCRIBERS", 1000);
    let messages = env_usize("EMBER_BENCH_FANOUT_MESSAGES", 300);
    let idle = env_usize("EMBER_BENCH_IDLE_SUBSCRIPTIONS", 10_000);
    let posts = env_usize("EMBER_BENCH_MESSAGES", 20_000);

    let mut table = Table::new(&["measurement", "result", "target"]);
    let mut lat = fan_out_latency(subscribers, messages);
    table.row(vec![
        format!("COMMIT → last of {subscribers} subscribers received, p50 / p99 / max ms ({messages} msgs)"),
        lat.summary(),
        "p99 ≤ 2 ms".into(),
    ]);
    let (bare, attached, idle_attached) = throughput_with_subscribers(subscribers, posts);
    table.row(vec![
        "16 posters, no subscribers (posts/s, median of 3 interleaved runs)".into(),
        format!("{bare:.0}"),
        String::new(),
    ]);
    table.row(vec![
        format!("16 posters, {subscribers} idle subscriptions on another room (posts/s, ratio)"),
        format!("{idle_attached:.0} ({:.2}×)", idle_attached / bare),
        "≥ 0.9×".into(),
    ]);
    table.row(vec![
        format!(
            "16 posters, {subscribers} subscriptions to the posted rooms, drained (posts/s, ratio)"
        ),
        format!("{attached:.0} ({:.2}×)", attached / bare),
        "(fan-out work shares the 2 cores)".into(),
    ]);
    let (fresh, used) = memory_per_subscription(idle);
    table.row(vec![
        format!("RSS per idle subscription, {idle} subscriptions, never used"),
        format!("{fresh:.0} B"),
        "≤ 1 KB".into(),
    ]);
    table.row(vec![
        format!("RSS per idle subscription, {idle} subscriptions, after one event each"),
        format!("{used:.0} B"),
        "≤ 1 KB".into(),
    ]);
    println!("{}", table.render());
}

fn scratch() -> tempfile::TempDir {
    tempfile::tempdir_in(bench_data_dir()).expect("scratch dir")
}

/// Posts one message at a time through a pipeline whose notify callback stamps the moment
/// after COMMIT; reader threads block on their subscribers in turn and stamp the last one.
fn fan_out_latency(subscribers: usize, messages: usize) -> Latencies {
    let dir = scratch();
    let (engine, world) = new_engine(&dir.path().join("fanout.db"));
    let (user, room) = (world.users[0], world.rooms[0]);
    let subs: Vec<Subscription> = (0..subscribers)
        .map(|_| engine.subscribe(user, room, None).expect("subscribe"))
        .collect();
    let committed = Arc::new(Mutex::new(None::<Instant>));
    let stamp = committed.clone();
    let mut pipeline = engine.pipeline().with_notify(move || {
        *stamp.lock() = Some(Instant::now());
    });
    // One reader thread takes every subscriber's event in turn, as a server's event loop
    // would; `EMBER_BENCH_READERS` spreads them over more threads.
    let readers = env_usize("EMBER_BENCH_READERS", 1).max(1);
    let mut groups: Vec<Vec<Subscription>> = (0..readers).map(|_| Vec::new()).collect();
    for (i, s) in subs.into_iter().enumerate() {
        groups[i % readers].push(s);
    }
    let (done_tx, done_rx) = crossbeam_channel::unbounded::<Instant>();
    let threads: Vec<_> = groups
        .into_iter()
        .map(|group| {
            let done = done_tx.clone();
            std::thread::spawn(move || {
                for _ in 0..messages {
                    for s in &group {
                        s.events().recv().expect("event");
                    }
                    let _ = done.send(Instant::now());
                }
            })
        })
        .collect();
    let vocab = Vocabulary::standard();
    let mut rng = StdRng::seed_from_u64(7);
    let mut lat = Latencies::with_capacity(messages);
    for _ in 0..messages {
        let mut post = world.post(0, &vocab, &mut rng);
        post.room = room;
        pipeline.submit(Request::Post(post)).expect("submit");
        pipeline
            .completions()
            .recv()
            .expect("ack")
            .result
            .expect("posted");
        let last = (0..readers)
            .map(|_| done_rx.recv().expect("readers"))
            .max()
            .expect("readers");
        let commit = committed.lock().take().expect("notify ran");
        lat.push(last.saturating_duration_since(commit));
        std::thread::sleep(Duration::from_millis(2));
    }
    for t in threads {
        t.join().expect("reader");
    }
    engine.close();
    lat
}

/// Posts/s of 16 blocking posters: without subscribers, with idle subscriptions on a room
/// nobody posts to, and with subscriptions on the posted rooms drained by one thread.
/// Each configuration runs three times, interleaved; the medians are returned.
fn throughput_with_subscribers(subscribers: usize, posts: usize) -> (f64, f64, f64) {
    let mut runs = [Vec::new(), Vec::new(), Vec::new()];
    for _ in 0..3 {
        let (bare, attached, idle) = throughput_round(subscribers, posts);
        runs[0].push(bare);
        runs[1].push(attached);
        runs[2].push(idle);
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    (
        median(&mut runs[0]),
        median(&mut runs[1]),
        median(&mut runs[2]),
    )
}

fn throughput_round(subscribers: usize, posts: usize) -> (f64, f64, f64) {
    let bare = run_posters(posts, |_, _| Vec::new());
    let idle = run_posters(posts, |engine, world| {
        // A room of its own, never posted to.
        let quiet = engine
            .create_room(world.users[0], ember_engine::RoomKind::Open, "quiet", &[])
            .expect("room");
        (0..subscribers)
            .map(|_| {
                engine
                    .subscribe(world.users[0], quiet.id, None)
                    .expect("subscribe")
            })
            .collect()
    });
    let attached = run_posters(posts, |engine, world| {
        (0..subscribers)
            .map(|i| {
                let room = world.rooms[i % world.rooms.len()];
                engine
                    .subscribe(world.users[0], room, None)
                    .expect("subscribe")
            })
            .collect()
    });
    (bare, attached, idle)
}

fn run_posters(posts: usize, attach: impl FnOnce(&Engine, &World) -> Vec<Subscription>) -> f64 {
    let dir = scratch();
    let (engine, world) = new_engine(&dir.path().join("tp.db"));
    let subs = attach(&engine, &world);
    let stop = Arc::new(AtomicBool::new(false));
    let receivers: Vec<Events<SharedEvent>> = subs.iter().map(|s| s.events().clone()).collect();
    let drainer = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                let mut got = 0;
                for r in &receivers {
                    got += r.try_iter().count();
                }
                if got == 0 {
                    std::thread::sleep(Duration::from_micros(200));
                }
            }
        })
    };
    let threads = 16;
    let per = posts / threads;
    let started = Instant::now();
    let handles: Vec<_> = (0..threads)
        .map(|t| {
            let (engine, world) = (engine.clone(), world.clone());
            std::thread::spawn(move || {
                let vocab = Vocabulary::standard();
                let mut rng = StdRng::seed_from_u64(t as u64);
                for _ in 0..per {
                    engine.post(world.post(t, &vocab, &mut rng)).expect("post");
                }
            })
        })
        .collect();
    for h in handles {
        h.join().expect("poster");
    }
    let rate = (per * threads) as f64 / started.elapsed().as_secs_f64();
    stop.store(true, Ordering::Relaxed);
    drainer.join().expect("drainer");
    let lagged = subs
        .iter()
        .filter(|s| matches!(s.events().ended(), Some(RecvError::Lagged { .. })))
        .count();
    if lagged > 0 {
        eprintln!("note: {lagged} subscriptions lagged");
    }
    drop(subs);
    engine.close();
    rate
}

fn rss_bytes() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    let kb: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .expect("VmRSS");
    kb * 1024.0
}

/// RSS growth per subscription for `n` room subscriptions: right after subscribing, and
/// after each has received and consumed one event.
fn memory_per_subscription(n: usize) -> (f64, f64) {
    let dir = scratch();
    let (engine, world) = new_engine(&dir.path().join("mem.db"));
    let (user, room) = (world.users[0], world.rooms[0]);
    // Warm up the allocator and the engine's maps before measuring.
    drop(
        (0..100)
            .map(|_| engine.subscribe(user, room, None).expect("subscribe"))
            .collect::<Vec<_>>(),
    );
    let before = rss_bytes();
    let subs: Vec<Subscription> = (0..n)
        .map(|_| engine.subscribe(user, room, None).expect("subscribe"))
        .collect();
    let fresh = (rss_bytes() - before) / n as f64;
    let vocab = Vocabulary::standard();
    let mut rng = StdRng::seed_from_u64(9);
    let mut post = world.post(0, &vocab, &mut rng);
    post.room = room;
    engine.post(post).expect("post");
    for s in &subs {
        s.events()
            .recv_timeout(Duration::from_secs(10))
            .expect("event");
    }
    let used = (rss_bytes() - before) / n as f64;
    drop(subs);
    engine.close();
    (fresh, used)
}
