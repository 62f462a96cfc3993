//! Measurements, not tests (ignored by default; numbers go to BENCHMARKS.md and
//! docs/cluster.md): cross-engine delivery latency (COMMIT on A → event on B) and the time
//! and store reads a Redis restart costs. Run with
//! `cargo test --release -p ember-engine --test cluster_measurements -- --ignored --nocapture --test-threads=1`
//! (needs PostgreSQL and redis-server, as the cluster tests do). `EMBER_MEASURE_RATE`
//! (posts per second, default 20) and `EMBER_MEASURE_POSTS` (default 200) tune the first.

mod cluster_support;
mod common;

use std::time::{Duration, Instant};

use cluster_support::{node, services};
use common::{member, new_post, open_room};
use ember_engine::Event;

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

#[test]
#[ignore = "a measurement: run with --ignored --nocapture"]
fn cross_engine_delivery_latency() {
    let Some((db, redis)) = services(false) else {
        return;
    };
    common::watchdog::arm_for(Duration::from_secs(600));
    let a = node(&db, &redis);
    let b = node(&db, &redis);
    let ann = member(&a, "ann");
    let room = open_room(&a, ann.id, "Lobby");
    let on_a = a.subscribe(ann.id, room, None).expect("subscribe on A");
    let on_b = b.subscribe(ann.id, room, None).expect("subscribe on B");
    let rate = env("EMBER_MEASURE_RATE", 20).max(1);
    let posts = env("EMBER_MEASURE_POSTS", 200);
    let mut latencies = Vec::new();
    let mut local = Vec::new();
    for i in 0..posts {
        let tick = Instant::now();
        a.post(new_post(ann.id, room, &format!("ping {i}")))
            .expect("post");
        let committed = on_a
            .events()
            .recv_timeout(Duration::from_secs(5))
            .expect("on A");
        let arrived = on_b
            .events()
            .recv_timeout(Duration::from_secs(5))
            .expect("on B");
        let at_b = Instant::now();
        assert!(matches!(arrived.event(), Event::MessageCreated(m) if m.seq == i + 1));
        latencies.push(at_b - committed.published());
        local.push(committed.published().elapsed());
        std::thread::sleep(Duration::from_micros(1_000_000 / rate).saturating_sub(tick.elapsed()));
    }
    latencies.sort();
    eprintln!(
        "cross-engine delivery at {rate} posts/s, {posts} posts: p50 {:?} p99 {:?} max {:?}; gap-fill reads A {} B {}",
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.99),
        latencies[latencies.len() - 1],
        a.cluster_store_reads(),
        b.cluster_store_reads()
    );
}

#[test]
#[ignore = "a measurement: run with --ignored --nocapture"]
fn gap_fill_after_a_redis_restart() {
    let Some((db, mut redis)) = services(true) else {
        return;
    };
    common::watchdog::arm_for(Duration::from_secs(600));
    let a = node(&db, &redis);
    let b = node(&db, &redis);
    let ann = member(&a, "ann");
    let rooms: Vec<_> = (0..10)
        .map(|i| open_room(&a, ann.id, &format!("room {i}")))
        .collect();
    let subs: Vec<_> = rooms
        .iter()
        .map(|r| b.subscribe(ann.id, *r, None).expect("subscribe on B"))
        .collect();
    // 200 posts/s on A over 10 rooms; Redis away for 500 ms in the middle.
    let post_for = |d: Duration, from: usize| {
        let until = Instant::now() + d;
        let mut i = from;
        while Instant::now() < until {
            a.post(new_post(ann.id, rooms[i % 10], &format!("p {i}")))
                .expect("post");
            i += 1;
            std::thread::sleep(Duration::from_millis(5));
        }
        i
    };
    let n = post_for(Duration::from_millis(500), 0);
    redis.stop();
    post_for(Duration::from_millis(500), n);
    let reads_before = b.cluster_store_reads();
    let heads: Vec<u64> = rooms
        .iter()
        .map(|r| a.room(ann.id, *r).expect("room").head_change_seq)
        .collect();
    let restarted = Instant::now();
    redis.start();
    for (sub, head) in subs.iter().zip(&heads) {
        let mut last = 0;
        while last < *head {
            let e = sub
                .events()
                .recv_timeout(Duration::from_secs(10))
                .expect("catch up");
            last = e.event().change_seq().unwrap_or(last);
        }
    }
    eprintln!(
        "Redis restart: every subscriber on B had every change {:?} after redis-server was started again; store reads for it on B: {} (10 rooms), {} in all",
        restarted.elapsed(),
        b.cluster_store_reads() - reads_before,
        b.cluster_store_reads()
    );
}

/// What one shared stream would cost against per-room channels: a node on one shared
/// channel receives (and must decode enough to filter) every publication of the cluster;
/// with per-room channels Redis hands it only its rooms' publications, and Redis's cost of
/// a PUBLISH does not grow with the number of other channels subscribed.
#[test]
#[ignore = "a measurement: run with --ignored --nocapture"]
fn one_stream_versus_room_channels() {
    let Some(redis) = cluster_support::Redis::own() else {
        return;
    };
    common::watchdog::arm_for(Duration::from_secs(600));
    let client = redis::Client::open(redis.url.as_str()).expect("client");
    let payload = br#"{"k":"m","kind":"c","m":{"id":"0192f0a4-7f3e-7c1a-9d6e-0123456789ab","room":"0192f0a4-7f3e-7c1a-9d6e-0123456789ac","seq":12345,"cs":12345,"creator":"0192f0a4-7f3e-7c1a-9d6e-0123456789ad","cmid":"0192f0a4-7f3e-7c1a-9d6e-0123456789ae","content":"a chat message of about a hundred bytes, which is what the field notes measured with","at":1764500000000}}"#;
    const N: usize = 20_000;
    for channels in [1usize, 1000] {
        let mut sub_conn = client.get_connection().expect("connect");
        let mut ps = sub_conn.as_pubsub();
        let names: Vec<String> = (0..channels).map(|i| format!("bench:room:{i}")).collect();
        ps.subscribe(&names).expect("subscribe");
        let mut publisher = client.get_connection().expect("connect");
        let started = Instant::now();
        let receiver = std::thread::scope(|s| {
            let r = s.spawn(move || {
                let mut decoded = 0usize;
                let t = Instant::now();
                for _ in 0..N {
                    let msg = ps.get_message().expect("message");
                    let v: serde_json::Value =
                        serde_json::from_slice(msg.get_payload_bytes()).expect("json");
                    decoded += v.as_object().map_or(0, |o| o.len());
                }
                assert!(decoded > 0);
                t.elapsed()
            });
            for chunk in 0..N / 1000 {
                let mut pipe = redis::pipe();
                for i in 0..1000 {
                    pipe.cmd("PUBLISH")
                        .arg(&names[(chunk * 1000 + i) % channels])
                        .arg(&payload[..])
                        .ignore();
                }
                pipe.query::<()>(&mut publisher).expect("publish");
            }
            r.join().expect("receiver")
        });
        let all = started.elapsed();
        eprintln!(
            "{channels} channel(s) subscribed: {N} publications of {} bytes published and received+decoded in {all:?} ({:.1} µs each, {:.0}/s)",
            payload.len(),
            receiver.as_secs_f64() * 1e6 / N as f64,
            N as f64 / all.as_secs_f64()
        );
    }
}
