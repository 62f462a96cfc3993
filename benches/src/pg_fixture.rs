//! Drivers and probes of the PostgreSQL benches: the naive pool, the raw writer, waiting
//! for the full-text backlog and the database's size.

use std::time::{Duration, Instant};

use postgres::{Client, NoTls};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use uuid::Uuid;

use crate::measure::Latencies;
use crate::naive_pg::NaivePg;
use crate::raw_pg::{RawPg, RawPost};
use crate::text::Vocabulary;

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// `threads` threads, each on its own connection of the naive database at `url` (a pool
/// of that size), posting `posts` in all into random rooms of `1..=rooms`; latency is call
/// to commit.
pub fn naive_posters(
    url: &str,
    vocab: &Vocabulary,
    posts: usize,
    threads: usize,
    users: usize,
    rooms: usize,
) -> Latencies {
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let mine = posts / threads + usize::from(t < posts % threads);
                s.spawn(move || {
                    let mut db = NaivePg::connect(url).expect("naive connection");
                    let mut rng = StdRng::seed_from_u64(300 + t as u64);
                    let mut lat = Latencies::with_capacity(mine);
                    for _ in 0..mine {
                        let room = rng.random_range(1..=rooms as i64);
                        let content = vocab.message(&mut rng);
                        let user = (t % users) as i64 + 1;
                        let sent = Instant::now();
                        db.post(room, user, Uuid::new_v4(), &content, now_ms())
                            .expect("naive post");
                        lat.push(sent.elapsed());
                    }
                    lat
                })
            })
            .collect();
        let mut all = Latencies::with_capacity(posts);
        for h in handles {
            all.merge(h.join().expect("naive poster"));
        }
        all
    })
}

/// Posts `count` messages through `raw`, `batch` per transaction, into random rooms, user
/// `i % users` for the `i`-th post; returns each batch's commit latency.
pub fn drive_raw(
    raw: &mut RawPg,
    vocab: &Vocabulary,
    seed: u64,
    count: usize,
    batch: usize,
) -> Latencies {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut lat = Latencies::with_capacity(count.div_ceil(batch));
    let mut done = 0;
    while done < count {
        let n = batch.min(count - done);
        let posts: Vec<RawPost> = (done..done + n)
            .map(|i| RawPost {
                room: raw.rooms[rng.random_range(0..raw.rooms.len())],
                user: raw.users[i % raw.users.len()],
                client_id: Uuid::now_v7(),
                content: vocab.message(&mut rng),
            })
            .collect();
        let start = Instant::now();
        let wrote = raw.post_batch(&posts, now_ms()).expect("raw batch");
        lat.push(start.elapsed());
        assert_eq!(wrote, n);
        done += n;
    }
    lat
}

/// Waits until the full-text backlog (`fts_pending`) of Ember's database at `url` is empty
/// (polling every millisecond, at most `limit`); returns when it was seen empty.
pub fn wait_indexed(url: &str, limit: Duration) -> Instant {
    let mut c = Client::connect(url, NoTls).expect("connect for fts_pending");
    let start = Instant::now();
    loop {
        let left: i64 = c
            .query_one("SELECT count(*) FROM fts_pending", &[])
            .expect("count fts_pending")
            .get(0);
        if left == 0 {
            return Instant::now();
        }
        assert!(start.elapsed() < limit, "{left} messages still unindexed");
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// The size of the database at `url` in bytes (`pg_database_size`).
pub fn db_bytes(url: &str) -> u64 {
    Client::connect(url, NoTls)
        .and_then(|mut c| c.query_one("SELECT pg_database_size(current_database())", &[]))
        .map_or(0, |r| r.get::<_, i64>(0) as u64)
}
