//! Posting throughput and acknowledgement latency, all modes in one run.
//!
//! Every mode grows its own new database from 0 to `EMBER_BENCH_MESSAGES` (default 200k)
//! messages in 100 rooms with ~100-byte contents:
//!
//! - `naive`: the baseline of `ember_benches::naive` (1 transaction per post);
//! - `raw-1000`: `RawStore`, 1000 posts per transaction, `index_all()` after each batch;
//! - `ember-1/4/16`: 1, 4, 16 threads calling the blocking `Engine::post`;
//! - `pipelined`: one thread keeping 256 posts in flight through `Engine::pipeline()`;
//! - `raw-b<N>`: `RawStore` at the average batch size the Ember modes achieved, indexing
//!   everything every 100 ms;
//! - `raw-w<N>`: the same, indexing as Ember's writer does under load (chunks of its size
//!   after each batch once the oldest unindexed message is 100 ms old), so that the only
//!   difference left against Ember is the channel, the threads and the replies.
//!
//! Then the paced test: `EMBER_BENCH_RATE` posts/s (default 1000) offered by 4 threads for
//! `EMBER_BENCH_RATE_SECS` (default 25) seconds on the database the pipelined mode left.
//!
//! `EMBER_BENCH_ROUNDS=3` runs the modes that targets compare (naive, raw-1000, ember-16,
//! pipelined, raw at their batch sizes) that many times, one round after the other, and
//! ends with each target's ratio per round and the median (the noisy shared machine moves
//! single ratios by ±10%); 1 and 4 posters run in the first round only.
//! `EMBER_BENCH_WRITER_CACHE_KIB` sets the writer's page cache (default: the engine's).
//! `EMBER_BENCH_ONLY=naive,pipelined,...` runs a subset (for profiling);
//! `EMBER_BENCH_RAW_BATCHES=6,16` adds raw runs at those batch sizes. Before each mode the
//! bench waits (up to 2 minutes) until other processes use at most
//! `EMBER_BENCH_QUIET_PERCENT` (default 10) percent of the machine's CPUs, and the table
//! shows how much they used during the mode.
//! Run: `cargo bench -p ember-benches --bench post_throughput`.

use std::path::Path;
use std::time::{Duration, Instant};

use ember_benches::drive::{PacedLatencies, Schedule, blocking_posters, paced_poster, pipelined};
use ember_benches::fixture::{
    Checkpointer, IndexPolicy, World, bytes_written, db_bytes, drive_raw, new_engine, new_raw,
    remove_db, settle, wait_indexed,
};
use ember_benches::measure::{CpuMeter, Latencies, Table, ms, wait_for_quiet};
use ember_benches::naive::Naive;
use ember_benches::text::Vocabulary;
use ember_benches::{ROOMS, USERS, env_usize};
use ember_engine::{Engine, Stats};
use rand::SeedableRng;
use rand::rngs::StdRng;

const IN_FLIGHT: usize = 256;
const RATE_THREADS: usize = 4;
const WARM_UP: Duration = Duration::from_secs(2);
/// Longest wait for a quiet machine before a mode.
const QUIET_MAX_WAIT: Duration = Duration::from_secs(120);
/// The name Ember gives its writer thread.
const WRITER_THREAD: &str = "ember-writer";

/// Writer counters over one run.
#[derive(Clone, Copy, Debug)]
struct Batches {
    commands: u64,
    transactions: u64,
    largest: u64,
    checkpoints: u64,
}

impl Batches {
    fn between(before: &Stats, after: &Stats) -> Self {
        Self {
            commands: after.commands - before.commands,
            transactions: after.transactions - before.transactions,
            largest: after.largest_batch,
            checkpoints: after.checkpoints - before.checkpoints,
        }
    }

    fn average(&self) -> f64 {
        self.commands as f64 / self.transactions.max(1) as f64
    }
}

/// The outcome of one mode.
struct Run {
    mode: String,
    posts: usize,
    /// Start to the last acknowledgement (raw and naive: to the end, indexing included).
    acked: Duration,
    /// Start to an empty full-text backlog.
    indexed: Duration,
    batches: Option<Batches>,
    latency: Option<Latencies>,
    checkpoints: u64,
    bytes: u64,
    /// Bytes the writing thread wrote (WAL; naive: WAL and checkpoints), if known.
    written: Option<u64>,
    /// Percent of the machine's CPUs that other processes used meanwhile.
    others: Option<f64>,
}

impl Run {
    fn rate(&self) -> f64 {
        self.posts as f64 / self.acked.as_secs_f64()
    }

    fn indexed_rate(&self) -> f64 {
        self.posts as f64 / self.indexed.as_secs_f64()
    }

    fn cells(&mut self) -> Vec<String> {
        let (tx, avg, largest) = match self.batches {
            Some(b) => (
                b.transactions.to_string(),
                format!("{:.1}", b.average()),
                b.largest.to_string(),
            ),
            None => ("–".into(), "–".into(), "–".into()),
        };
        let latency = self.latency.as_mut().map_or("–".into(), Latencies::summary);
        vec![
            self.mode.clone(),
            format!("{:.0}", self.rate()),
            format!("{:.0}", self.indexed_rate()),
            tx,
            avg,
            largest,
            latency,
            self.written.map_or("–".into(), |w| {
                format!("{:.1}", w as f64 / self.posts as f64 / 1024.0)
            }),
            self.checkpoints.to_string(),
            format!("{}", self.bytes / 1_000_000),
            self.others.map_or("–".into(), |p| format!("{p:.0}")),
        ]
    }
}

fn wanted(mode: &str) -> bool {
    match std::env::var("EMBER_BENCH_ONLY") {
        Ok(list) => list.split(',').any(|m| mode.starts_with(m.trim())),
        Err(_) => true,
    }
}

fn run_naive(path: &Path, posts: usize, vocab: &Vocabulary) -> Run {
    let mut db = Naive::create(path, USERS, ROOMS).expect("create naive db");
    let mut rng = StdRng::seed_from_u64(1);
    let written = bytes_written(None);
    let start = Instant::now();
    for i in 0..posts {
        let room = rand::Rng::random_range(&mut rng, 1..=ROOMS as i64);
        let content = vocab.message(&mut rng);
        db.post(room, (i % USERS) as i64 + 1, &content, now_ms())
            .expect("naive post");
    }
    let elapsed = start.elapsed();
    let written = bytes_written(None).zip(written).map(|(a, b)| a - b);
    Run {
        mode: "naive (1 txn/post, v4 ids)".into(),
        posts,
        acked: elapsed,
        indexed: elapsed,
        batches: None,
        latency: None,
        checkpoints: 0,
        bytes: settle(path),
        written,
        others: None,
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

fn run_raw(
    path: &Path,
    posts: usize,
    vocab: &Vocabulary,
    batch: usize,
    policy: IndexPolicy,
) -> Run {
    let (mut store, world) = new_raw(path);
    let checkpointer = Checkpointer::spawn(path);
    let mut rng = StdRng::seed_from_u64(2);
    let written = bytes_written(None);
    let start = Instant::now();
    drive_raw(&mut store, &world, vocab, &mut rng, posts, batch, policy);
    let elapsed = start.elapsed();
    let written = bytes_written(None).zip(written).map(|(a, b)| a - b);
    let checkpoints = checkpointer.passes();
    drop(checkpointer);
    drop(store);
    let mode = match policy {
        IndexPolicy::EachBatch => format!("raw-{batch} (index each batch)"),
        IndexPolicy::Every(d) => format!("raw-{batch} (index every {} ms)", d.as_millis()),
        IndexPolicy::LikeWriter(_) => format!("raw-w{batch} (index like the writer)"),
    };
    Run {
        mode,
        posts,
        acked: elapsed,
        indexed: elapsed,
        batches: Some(Batches {
            commands: posts as u64,
            transactions: posts.div_ceil(batch) as u64,
            largest: batch as u64,
            checkpoints,
        }),
        latency: None,
        checkpoints,
        bytes: settle(path),
        written,
        others: None,
    }
}

/// Runs `drive` against a new engine and collects the writer's counters around it.
fn run_ember(
    path: &Path,
    mode: String,
    posts: usize,
    drive: impl FnOnce(&Engine, &World) -> Latencies,
) -> Run {
    let (engine, world) = new_engine(path);
    let before = engine.stats();
    let written = bytes_written(Some(WRITER_THREAD));
    let start = Instant::now();
    let latency = drive(&engine, &world);
    let acked = start.elapsed();
    let indexed = wait_indexed(path) - start;
    let written = bytes_written(Some(WRITER_THREAD))
        .zip(written)
        .map(|(a, b)| a - b);
    let batches = Batches::between(&before, &engine.stats());
    engine.close();
    assert_eq!(latency.len(), posts);
    Run {
        mode,
        posts,
        acked,
        indexed,
        batches: Some(batches),
        latency: Some(latency),
        checkpoints: batches.checkpoints,
        bytes: db_bytes(path),
        written,
        others: None,
    }
}

/// The paced test's figures.
struct Paced {
    label: String,
    rate: usize,
    secs: usize,
    latency: PacedLatencies,
    batches: Batches,
    others: Option<f64>,
}

/// Offers `rate` posts/s from [`RATE_THREADS`] threads, each on a fixed schedule, for
/// `secs` seconds after a [`WARM_UP`] that is not recorded. `search_delay` overrides
/// Ember's default (a diagnostic: a delay longer than the test keeps full-text indexing off
/// the writer during it).
fn run_paced(
    path: &Path,
    vocab: &Vocabulary,
    rate: usize,
    secs: usize,
    search_delay: Option<Duration>,
) -> Paced {
    let meter = CpuMeter::start();
    let mut opts = ember_benches::fixture::options(path);
    let label = match search_delay {
        None => "Ember defaults".to_string(),
        Some(d) => format!(
            "diagnostic: search_delay {} s, no indexing during the test",
            d.as_secs()
        ),
    };
    opts.search_delay = search_delay.unwrap_or(opts.search_delay);
    let engine = Engine::open(opts).expect("reopen");
    let world = World::load(&engine).expect("load world");
    let period = Duration::from_secs_f64(RATE_THREADS as f64 / rate as f64);
    let t0 = Instant::now() + Duration::from_millis(10);
    let record_from = t0 + WARM_UP;
    let end = record_from + Duration::from_secs(secs as u64);
    let (before, latency) = std::thread::scope(|s| {
        let before = s.spawn(|| {
            std::thread::sleep(record_from - Instant::now());
            engine.stats()
        });
        let handles: Vec<_> = (0..RATE_THREADS)
            .map(|t| {
                let (engine, world) = (&engine, &world);
                let first = t0 + period * t as u32 / RATE_THREADS as u32;
                let schedule = Schedule {
                    first,
                    period,
                    record_from,
                    end,
                };
                s.spawn(move || paced_poster(engine, world, vocab, t, schedule))
            })
            .collect();
        let mut all = PacedLatencies::default();
        for h in handles {
            let one = h.join().expect("paced poster");
            all.from_schedule.merge(one.from_schedule);
            all.from_call.merge(one.from_call);
        }
        (before.join().expect("stats thread"), all)
    });
    let batches = Batches::between(&before, &engine.stats());
    engine.close();
    Paced {
        label,
        rate,
        secs,
        latency,
        batches,
        others: meter.others_percent(),
    }
}

fn print_paced(p: &mut Paced) {
    println!(
        "\n## Ack latency at {} posts/s offered ({} threads, {} s after {} s warm-up; {})\n",
        p.rate,
        RATE_THREADS,
        p.secs,
        WARM_UP.as_secs(),
        p.label
    );
    let mut t = Table::new(&[
        "measured from",
        "acks",
        "p50 ms",
        "p99 ms",
        "p99.9 ms",
        "max ms",
    ]);
    let l = &mut p.latency;
    for (name, l) in [
        ("call", &mut l.from_call),
        ("schedule", &mut l.from_schedule),
    ] {
        t.row(vec![
            name.into(),
            l.len().to_string(),
            ms(l.percentile(50.0)),
            ms(l.percentile(99.0)),
            ms(l.percentile(99.9)),
            ms(l.max()),
        ]);
    }
    print!("{}", t.render());
    let b = p.batches;
    println!(
        "\ntransactions {}, avg batch {:.2}, checkpoints during the test {}, others' CPU {}%",
        b.transactions,
        b.average(),
        b.checkpoints,
        p.others.map_or("–".into(), |o| format!("{o:.0}"))
    );
}

/// A target's ratio in one round.
struct Ratio {
    name: String,
    value: f64,
    target: f64,
}

fn ratio(name: &str, runs: &[Run], a: &str, b: &str, target: f64) -> Option<Ratio> {
    let find = |m: &str| runs.iter().find(|r| r.mode.starts_with(m));
    let (x, y) = (find(a)?, find(b)?);
    let r = x.rate() / y.rate();
    let ri = x.indexed_rate() / y.indexed_rate();
    let verdict = if r >= target { "met" } else { "MISSED" };
    println!("| {name} | {a} / {b} | {r:.2} (indexed: {ri:.2}) | ≥ {target} | {verdict} |");
    Some(Ratio {
        name: name.to_owned(),
        value: r,
        target,
    })
}

/// Each target's ratio in every round, and the median that decides it.
fn print_medians(rounds: &[Vec<Ratio>]) {
    println!("\n## Medians over {} rounds\n", rounds.len());
    println!("| target | ratio in each round | median | verdict |\n|---|---|---|---|");
    for first in &rounds[0] {
        let mut values: Vec<f64> = rounds
            .iter()
            .filter_map(|r| r.iter().find(|x| x.name == first.name).map(|x| x.value))
            .collect();
        let each: Vec<String> = values.iter().map(|v| format!("{v:.2}")).collect();
        values.sort_by(f64::total_cmp);
        let median = values[values.len() / 2];
        let verdict = if median >= first.target {
            "met"
        } else {
            "MISSED"
        };
        println!(
            "| {} | {} | {median:.2} | {verdict} |",
            first.name,
            each.join(", ")
        );
    }
}

/// The runs of one process, each on its own new database in a scratch directory.
struct Bench {
    dir: tempfile::TempDir,
    posts: usize,
    /// Before each mode, wait for the rest of the machine to use at most this much CPU.
    quiet_percent: f64,
    runs: Vec<Run>,
}

impl Bench {
    /// Runs mode `name` unless filtered out; deletes its database afterwards unless `keep`.
    fn step(&mut self, name: &str, keep: bool, f: impl FnOnce(&Path) -> Run) {
        if !wanted(name) {
            return;
        }
        let path = self.dir.path().join(format!("{name}.db"));
        remove_db(&path); // a kept database from an earlier round
        eprintln!("{name}: {} posts...", self.posts);
        let quiet = wait_for_quiet(self.quiet_percent, QUIET_MAX_WAIT);
        if quiet.is_some_and(|q| q > self.quiet_percent) {
            eprintln!(
                "  the machine is busy ({:.0}% used by others); running anyway",
                quiet.unwrap_or(0.0)
            );
        }
        let meter = CpuMeter::start();
        let mut run = f(&path);
        run.others = meter.others_percent();
        eprintln!("  {:.0} posts/s", run.rate());
        if !keep {
            remove_db(&path);
        }
        self.runs.push(run);
    }

    /// The rounded average batch sizes the 16-poster and pipelined modes achieved.
    fn ember_batches(&self) -> Vec<usize> {
        let mut sizes: Vec<usize> = self
            .runs
            .iter()
            .filter(|r| r.mode.starts_with("ember-16") || r.mode.starts_with("pipelined"))
            .filter_map(|r| r.batches.map(|b| b.average().round().max(1.0) as usize))
            .collect();
        sizes.dedup();
        sizes
    }
}

fn main() {
    let posts = env_usize("EMBER_BENCH_MESSAGES", 200_000);
    let rate = env_usize("EMBER_BENCH_RATE", 1000);
    let rate_secs = env_usize("EMBER_BENCH_RATE_SECS", 25);
    let v = &Vocabulary::standard();
    let mut b = Bench {
        dir: tempfile::tempdir_in(ember_benches::bench_data_dir()).expect("scratch dir"),
        posts,
        quiet_percent: env_usize("EMBER_BENCH_QUIET_PERCENT", 10) as f64,
        runs: Vec::new(),
    };
    let rounds = env_usize("EMBER_BENCH_ROUNDS", 1).max(1);
    let mut ratios = Vec::new();
    for round in 1..=rounds {
        b.runs.clear();
        b.step("naive", false, |p| run_naive(p, posts, v));
        b.step("raw-1000", false, |p| {
            run_raw(p, posts, v, 1000, IndexPolicy::EachBatch)
        });
        // 1 and 4 posters are for reference only: once is enough.
        let threads: &[usize] = if round == 1 { &[1, 4, 16] } else { &[16] };
        for &threads in threads {
            let mode = format!("ember-{threads} (blocking posters)");
            b.step(&format!("ember-{threads}"), false, |p| {
                run_ember(p, mode, posts, |e, w| {
                    blocking_posters(e, w, v, posts, threads)
                })
            });
        }
        let mode = format!("pipelined ({IN_FLIGHT} in flight)");
        b.step("pipelined", true, |p| {
            run_ember(p, mode, posts, |e, w| pipelined(e, w, v, posts, IN_FLIGHT))
        });
        let mut batches = b.ember_batches();
        // Extra raw batch sizes, e.g. EMBER_BENCH_RAW_BATCHES=6,16 (for experiments).
        if let Ok(list) = std::env::var("EMBER_BENCH_RAW_BATCHES") {
            batches.extend(
                list.split(',')
                    .filter_map(|n| n.trim().parse::<usize>().ok()),
            );
        }
        for batch in batches {
            let policy = IndexPolicy::Every(Duration::from_millis(100));
            b.step(&format!("raw-b{batch}"), false, |p| {
                run_raw(p, posts, v, batch, policy)
            });
            let policy = IndexPolicy::LikeWriter(Duration::from_millis(100));
            b.step(&format!("raw-w{batch}"), false, |p| {
                run_raw(p, posts, v, batch, policy)
            });
        }
        ratios.push(print_runs(&mut b.runs, posts, round));
    }
    if rounds > 1 {
        print_medians(&ratios);
    }
    let pipelined_db = b.dir.path().join("pipelined.db");
    if wanted("paced") && pipelined_db.exists() {
        eprintln!("paced: {rate} posts/s for {rate_secs} s...");
        wait_for_quiet(b.quiet_percent, QUIET_MAX_WAIT);
        print_paced(&mut run_paced(&pipelined_db, v, rate, rate_secs, None));
        // Longer than the test: the writer does not index during it.
        let defer = Duration::from_secs(rate_secs as u64 + 60);
        wait_for_quiet(b.quiet_percent, QUIET_MAX_WAIT);
        print_paced(&mut run_paced(
            &pipelined_db,
            v,
            rate,
            rate_secs,
            Some(defer),
        ));
    }
}

fn print_runs(runs: &mut [Run], posts: usize, round: usize) -> Vec<Ratio> {
    println!(
        "\n## Posting throughput, 0 → {posts} messages, {ROOMS} rooms, ~100-byte contents \
         (round {round})\n"
    );
    let mut t = Table::new(&[
        "mode",
        "posts/s (acked)",
        "posts/s (indexed)",
        "transactions",
        "avg batch",
        "largest batch",
        "ack p50 / p99 / max ms",
        "KiB written/post",
        "checkpoints",
        "db+wal MB",
        "others' CPU %",
    ]);
    for r in runs.iter_mut() {
        t.row(r.cells());
    }
    print!("{}", t.render());
    println!("\n| target | modes | ratio | target | verdict |\n|---|---|---|---|---|");
    let mut ratios = Vec::new();
    ratios.extend(ratio(
        "16 blocking ≥ 3 × naive",
        runs,
        "ember-16",
        "naive",
        3.0,
    ));
    ratios.extend(ratio(
        "pipelined ≥ 0.8 × raw",
        runs,
        "pipelined",
        "raw-1000",
        0.8,
    ));
    for (ember, tag) in [("ember-16", "16 blocking"), ("pipelined", "pipelined")] {
        if let Some(b) = runs
            .iter()
            .find(|r| r.mode.starts_with(ember))
            .and_then(|r| r.batches)
        {
            let size = b.average().round().max(1.0) as usize;
            ratios.extend(ratio(
                &format!("{tag} vs raw at same batch ≥ 0.9"),
                runs,
                ember,
                &format!("raw-{size} "),
                0.9,
            ));
            ratios.extend(ratio(
                &format!("{tag} vs raw at same batch, same indexing ≥ 0.9"),
                runs,
                ember,
                &format!("raw-w{size} "),
                0.9,
            ));
        }
    }
    ratios
}
