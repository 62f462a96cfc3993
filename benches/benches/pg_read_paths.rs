//! Read paths on a big PostgreSQL database: replaying 100 missed messages and top-20 search
//! over `EMBER_BENCH_PG_CORPUS` messages (default 1M) in 100 rooms.
//!
//! The corpus is made in this run: an engine creates the database, its users and rooms;
//! the messages are then written by `ember_benches::raw_pg` (1000 per transaction,
//! searchable at commit, sequence numbers from the room rows as Ember takes them), the
//! tables are vacuumed and analysed, and an engine is opened on it again. Each measurement
//! is a plain loop (`EMBER_BENCH_READS` calls, default 300) and prints the median and p99.
//! Run: `cargo bench -p ember-benches --bench pg_read_paths`.

use std::path::Path;
use std::time::{Duration, Instant};

use ember_benches::fixture::{World, new_engine, options};
use ember_benches::measure::{CpuMeter, Latencies, Table, ms};
use ember_benches::pg_fixture::drive_raw;
use ember_benches::pg_server::{PgServer, reset_statements, statements};
use ember_benches::raw_pg::RawPg;
use ember_benches::text::{COMMON_RANK, RARE_RANK, Vocabulary};
use ember_benches::{ROOMS, env_usize};
use ember_engine::Engine;

/// Messages replayed per call.
const MISSED: u64 = 100;

fn timed(n: usize, mut f: impl FnMut(usize)) -> Latencies {
    let mut lat = Latencies::with_capacity(n);
    for i in 0..n {
        let start = Instant::now();
        f(i);
        lat.push(start.elapsed());
    }
    lat
}

fn main() {
    let corpus = env_usize("EMBER_BENCH_PG_CORPUS", 1_000_000);
    let reads = env_usize("EMBER_BENCH_READS", 300);
    let v = Vocabulary::standard();
    let mut pg = PgServer::start();
    let url = pg.database("ember_corpus");
    let (engine, _) = new_engine(Path::new(&url));
    engine.close();
    eprintln!("corpus: writing {corpus} messages...");
    let start = Instant::now();
    let mut raw = RawPg::connect(&url).expect("raw connection");
    drive_raw(&mut raw, &v, 7, corpus, 1000);
    raw.client()
        .batch_execute("VACUUM ANALYZE")
        .expect("vacuum analyze");
    drop(raw);
    eprintln!("  {:.0} s", start.elapsed().as_secs_f64());

    let engine = Engine::open(options(Path::new(&url))).expect("open corpus");
    let world = World::load(&engine).expect("load world");
    let reader = world.users[1];
    let cursors: Vec<_> = world
        .rooms
        .iter()
        .map(|&r| {
            let head = engine.room(reader, r).expect("room").head_change_seq;
            (r, head.saturating_sub(MISSED))
        })
        .collect();
    let page = engine
        .changes_since(reader, cursors[0].0, cursors[0].1, 1000)
        .expect("changes");
    assert_eq!((page.messages.len() as u64, page.more), (MISSED, false));

    reset_statements(&url);
    let meter = CpuMeter::start();
    let mut rows = Vec::new();
    let mut one = timed(reads, |_| {
        engine
            .changes_since(reader, cursors[0].0, cursors[0].1, 1000)
            .expect("changes");
    });
    rows.push((
        "replay 100, one room",
        one.percentile(50.0),
        one.percentile(99.0),
        1.0,
    ));
    let mut rotating = timed(reads, |i| {
        let (room, since) = cursors[i % cursors.len()];
        engine
            .changes_since(reader, room, since, 1000)
            .expect("changes");
    });
    rows.push((
        "replay 100, rotating rooms",
        rotating.percentile(50.0),
        rotating.percentile(99.0),
        1.0,
    ));
    let mut labels = Vec::new();
    for (name, rank) in [("common", COMMON_RANK), ("rare", RARE_RANK)] {
        let word = v.word(rank);
        let hits = engine.search(reader, word, 20).expect("search");
        assert!(!hits.is_empty(), "{word} found nothing");
        labels.push(format!("search top-20, {name} word {word:?}"));
        let mut lat = timed(reads, |_| {
            engine.search(reader, word, 20).expect("search");
        });
        rows.push(("", lat.percentile(50.0), lat.percentile(99.0), 10.0));
    }
    let others = meter.others_percent();
    engine.close();

    println!("\n## Reads on PostgreSQL, {corpus} messages in {ROOMS} rooms ({reads} calls each)\n");
    let mut t = Table::new(&["read", "median ms", "p99 ms", "target (median)", "verdict"]);
    let mut labels = labels.into_iter();
    for (name, p50, p99, target) in rows {
        let name = if name.is_empty() {
            labels.next().unwrap_or_default()
        } else {
            name.to_owned()
        };
        let ok = p50 <= Duration::from_secs_f64(target / 1e3);
        t.row(vec![
            name,
            ms(p50),
            ms(p99),
            format!("≤ {target} ms"),
            if ok { "met" } else { "MISSED" }.into(),
        ]);
    }
    print!("{}", t.render());
    if let Some(o) = others {
        println!("\nother processes (PostgreSQL included) used {o:.0}% of the machine's CPUs");
    }
    profile(&url, &v);
}

/// The server's side of the reads above: time by statement (`pg_stat_statements`), then
/// the plan of the search query's core for each word (the engine's statement with its
/// joins for the returned columns left out).
fn profile(url: &str, v: &Vocabulary) {
    println!("\n### Server time by statement during the reads\n");
    let mut t = Table::new(&["calls", "total ms", "mean ms", "rows", "statement"]);
    for r in statements(url, 8) {
        t.row(r);
    }
    print!("{}", t.render());
    let mut c = postgres::Client::connect(url, postgres::NoTls).expect("connect for EXPLAIN");
    let reader: i64 = c
        .query_one("SELECT key FROM users ORDER BY key OFFSET 1 LIMIT 1", &[])
        .expect("reader")
        .get(0);
    for rank in [COMMON_RANK, RARE_RANK] {
        let word = v.word(rank);
        let hits: i64 = c
            .query_one(
                "SELECT count(*) FROM messages WHERE search @@ phraseto_tsquery('ember', $1)",
                &[&word],
            )
            .expect("count")
            .get(0);
        println!("\n`{word}` is in {hits} messages; plan of the search's core:\n\n```");
        let plan = c
            .query(
                "EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) SELECT m.pos FROM messages m \
                 JOIN memberships mb ON mb.room_key = m.room_key AND mb.user_key = $1 \
                 WHERE m.search @@ phraseto_tsquery('ember'::regconfig, $2) AND NOT m.deleted \
                 ORDER BY m.pos DESC LIMIT 20",
                &[&reader, &word],
            )
            .expect("explain");
        for row in plan {
            println!("{}", row.get::<_, String>(0));
        }
        println!("```");
    }
}
