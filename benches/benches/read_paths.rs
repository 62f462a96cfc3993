//! Read paths on a big database: replaying 100 missed messages, top-20 search, and how long
//! after its acknowledgement a new message becomes searchable.
//!
//! Runs on the cached corpus of `EMBER_BENCH_CORPUS` messages (default 1M; see
//! `ember_benches::corpus`), built once under `target/bench-data/`.
//! Run: `cargo bench -p ember-benches --bench read_paths`.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::Criterion;
use ember_benches::fixture::{World, options};
use ember_benches::measure::{CpuMeter, Latencies, ms, wait_for_quiet};
use ember_benches::text::{COMMON_RANK, RARE_RANK, Vocabulary};
use ember_benches::{corpus, env_usize};
use ember_engine::{ClientMessageId, Engine, NewPost, RoomId, UserId};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// Messages replayed per call.
const MISSED: u64 = 100;

/// The engine on the corpus and who reads.
struct Fixture {
    path: std::path::PathBuf,
    engine: Engine,
    world: World,
    /// A member (not the admin) of every room.
    reader: UserId,
}

impl Fixture {
    fn open(messages: usize) -> Self {
        let path = corpus::ensure(messages);
        let engine = Engine::open(options(&path)).expect("open corpus");
        let world = World::load(&engine).expect("load world");
        let reader = world.users[1];
        Self {
            path,
            engine,
            world,
            reader,
        }
    }

    /// The cursor that leaves exactly [`MISSED`] changes in `room`.
    fn cursor_before_last(&self, room: RoomId) -> u64 {
        let head = self
            .engine
            .room(self.reader, room)
            .expect("room")
            .head_change_seq;
        head.saturating_sub(MISSED)
    }
}

fn bench_replay(c: &mut Criterion, fx: &Fixture) {
    let mut group = c.benchmark_group("replay");
    let room = fx.world.rooms[0];
    let since = fx.cursor_before_last(room);
    let page = fx
        .engine
        .changes_since(fx.reader, room, since, 1000)
        .expect("changes");
    assert_eq!((page.messages.len() as u64, page.more), (MISSED, false));
    group.bench_function("changes_since_100/one_room", |b| {
        b.iter(|| {
            fx.engine
                .changes_since(fx.reader, room, black_box(since), 1000)
                .expect("changes")
        })
    });
    let cursors: Vec<(RoomId, u64)> = fx
        .world
        .rooms
        .iter()
        .map(|&r| (r, fx.cursor_before_last(r)))
        .collect();
    let mut next = 0;
    group.bench_function("changes_since_100/rotating_rooms", |b| {
        b.iter(|| {
            let (room, since) = cursors[next % cursors.len()];
            next += 1;
            fx.engine
                .changes_since(fx.reader, room, since, 1000)
                .expect("changes")
        })
    });
    group.finish();
}

fn bench_search(c: &mut Criterion, fx: &Fixture, vocab: &Vocabulary) {
    let mut group = c.benchmark_group("search_top20");
    for (name, rank) in [("common", COMMON_RANK), ("rare", RARE_RANK)] {
        let word = vocab.word(rank);
        let hits = fx.engine.search(fx.reader, word, 20).expect("search");
        assert!(!hits.is_empty(), "{word}");
        assert!(hits.windows(2).all(|w| w[0].created_at >= w[1].created_at));
        group.bench_function(format!("{name}/{word}"), |b| {
            b.iter(|| {
                fx.engine
                    .search(fx.reader, black_box(word), 20)
                    .expect("search")
            })
        });
    }
    group.finish();
}

/// Posts `probes` messages with a unique word each and polls search (every 1 ms) until the
/// message is found; prints the delay from acknowledgement to searchable.
fn searchable(fx: &Fixture, probes: usize) {
    let mut rng = StdRng::seed_from_u64(
        Instant::now().elapsed().as_nanos() as u64 ^ std::process::id() as u64,
    );
    let run: u32 = rng.random();
    let mut delays = Latencies::with_capacity(probes);
    for i in 0..probes {
        // Land at a random point of the writer's indexing cycle.
        std::thread::sleep(Duration::from_millis(rng.random_range(0..200)));
        let token = format!("probe{run}x{i}");
        let post = NewPost {
            user: fx.reader,
            room: fx.world.rooms[i % fx.world.rooms.len()],
            client_message_id: ClientMessageId::new_v7(),
            content: format!("searchable {token}"),
        };
        fx.engine.post(post).expect("probe post");
        let acked = Instant::now();
        while fx
            .engine
            .search(fx.reader, &token, 1)
            .expect("search")
            .is_empty()
        {
            assert!(
                acked.elapsed() < Duration::from_secs(10),
                "{token} never became searchable"
            );
            std::thread::sleep(Duration::from_millis(1));
        }
        delays.push(acked.elapsed());
    }
    println!(
        "\nsearchable after ack ({probes} probes, search_delay {} ms): p50 {} ms, p90 {} ms, max {} ms (target ≤ 250 ms)",
        fx.engine.options().search_delay.as_millis(),
        ms(delays.percentile(50.0)),
        ms(delays.percentile(90.0)),
        ms(delays.max()),
    );
}

/// Prints the corpus's size and how many messages contain each query word.
fn describe(fx: &Fixture, vocab: &Vocabulary) {
    let rooms = fx.engine.all_rooms().expect("rooms");
    let messages: u64 = rooms.iter().map(|r| r.head_seq).sum();
    println!("corpus: {messages} messages in {} rooms", rooms.len());
    let conn =
        rusqlite::Connection::open_with_flags(&fx.path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .expect("open corpus read-only");
    for rank in [COMMON_RANK, RARE_RANK] {
        let word = vocab.word(rank);
        let hits: i64 = conn
            .query_row(
                "SELECT count(*) FROM messages_fts WHERE messages_fts MATCH ?1",
                [word],
                |r| r.get(0),
            )
            .expect("count matches");
        println!("query word of rank {rank}: {word:?} in {hits} messages");
    }
}

fn main() {
    let fx = Fixture::open(env_usize("EMBER_BENCH_CORPUS", 1_000_000));
    let vocab = Vocabulary::standard();
    describe(&fx, &vocab);
    // Wait (up to 2 minutes) for other processes to leave the CPUs alone, and say how busy
    // they kept the machine during the measurements.
    wait_for_quiet(
        env_usize("EMBER_BENCH_QUIET_PERCENT", 10) as f64,
        Duration::from_secs(120),
    );
    let meter = CpuMeter::start();
    let mut c = Criterion::default().configure_from_args();
    bench_replay(&mut c, &fx);
    bench_search(&mut c, &fx, &vocab);
    searchable(&fx, env_usize("EMBER_BENCH_PROBES", 50));
    if let Some(others) = meter.others_percent() {
        println!("other processes used {others:.0}% of the machine's CPUs during the measurements");
    }
    fx.engine.close();
    c.final_summary();
}
