//! Posting on PostgreSQL: Ember against the naive and raw baselines, Ember on SQLite beside
//! it, acknowledgement latency at a fixed rate, and two engines sharing one database.
//!
//! Every mode grows its own new database from 0 to `EMBER_BENCH_MESSAGES` (default 100k)
//! messages in 100 rooms with ~100-byte contents, all on the same PostgreSQL in one run:
//!
//! - `naive-pg`: `ember_benches::naive_pg` from 16 pooled connections (the baseline);
//! - `raw-pg`: `ember_benches::raw_pg`, Ember's schema, one thread, 1000 posts per
//!   transaction, searchable at commit;
//! - `ember-pg-16`: 16 threads calling the blocking `Engine::post` on PostgreSQL;
//! - `pipelined-pg`: one thread keeping 256 posts in flight through `Engine::pipeline()`;
//! - `ember-sqlite-16`, `pipelined-sqlite`: the same on a SQLite file (the cost of sharing);
//! - `two-engines-pg`: two processes, each an engine with 256 posts in flight, into the same
//!   100 rooms of one database (half the posts each);
//! - `paced-pg`: `EMBER_BENCH_RATE` posts/s (default 1000) offered by 4 blocking threads for
//!   `EMBER_BENCH_RATE_SECS` (default 10) s after a 2 s warm-up, on the `pipelined-pg`
//!   database.
//!
//! PostgreSQL: `EMBER_BENCH_PG_URL` or a throw-away cluster (`ember_benches::pg_server`).
//! `EMBER_BENCH_ONLY=naive-pg,raw-pg,...` runs a subset. The "others' CPU" column counts
//! PostgreSQL's own processes as others.
//! Run: `cargo bench -p ember-benches --bench pg_throughput`.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use ember_benches::drive::{PacedLatencies, Schedule, blocking_posters, paced_poster, pipelined};
use ember_benches::fixture::{World, new_engine, options};
use ember_benches::measure::{CpuMeter, Latencies, Table, ms};
use ember_benches::pg_fixture::{db_bytes, drive_raw, naive_posters, wait_indexed};
use ember_benches::pg_server::{PgServer, reset_statements, statements};
use ember_benches::raw_pg::RawPg;
use ember_benches::text::Vocabulary;
use ember_benches::{ROOMS, USERS, env_usize, naive_pg, raw_pg};
use ember_engine::{Engine, Stats};

const IN_FLIGHT: usize = 256;
const POOL: usize = 16;
const RATE_THREADS: usize = 4;
const WARM_UP: Duration = Duration::from_secs(2);
/// Longest wait for the full-text backlog after the last acknowledgement.
const INDEX_LIMIT: Duration = Duration::from_secs(120);
/// The child process of `two-engines-pg`: `url posts seed`.
const CHILD_ENV: &str = "EMBER_BENCH_PG_CHILD";

/// The outcome of one mode.
struct Run {
    mode: String,
    posts: usize,
    acked: Duration,
    indexed: Duration,
    /// (transactions, average batch) from the writer's counters.
    batches: Option<(u64, f64)>,
    latency: Latencies,
    bytes: u64,
    others: Option<f64>,
}

impl Run {
    fn rate(&self) -> f64 {
        self.posts as f64 / self.acked.as_secs_f64()
    }

    fn cells(&mut self) -> Vec<String> {
        let (tx, avg) = self.batches.map_or(("–".into(), "–".into()), |(t, a)| {
            (t.to_string(), format!("{a:.1}"))
        });
        vec![
            self.mode.clone(),
            format!("{:.0}", self.rate()),
            format!("{:.0}", self.posts as f64 / self.indexed.as_secs_f64()),
            tx,
            avg,
            self.latency.summary(),
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

fn run_naive(url: &str, posts: usize, v: &Vocabulary) -> Run {
    naive_pg::create(url, USERS, ROOMS).expect("naive schema");
    reset_statements(url);
    let start = Instant::now();
    let latency = naive_posters(url, v, posts, POOL, USERS, ROOMS);
    let acked = start.elapsed();
    print_statements("naive-pg", url, acked);
    Run {
        mode: format!("naive-pg ({POOL} pooled connections, 1 txn/post)"),
        posts,
        acked,
        indexed: acked,
        batches: Some((posts as u64, 1.0)),
        latency,
        bytes: db_bytes(url),
        others: None,
    }
}

fn run_raw(url: &str, posts: usize, v: &Vocabulary) -> Run {
    raw_pg::create(url, USERS, ROOMS).expect("raw schema");
    let mut raw = RawPg::connect(url).expect("raw connection");
    reset_statements(url);
    let start = Instant::now();
    let latency = drive_raw(&mut raw, v, 2, posts, 1000);
    let acked = start.elapsed();
    print_statements("raw-pg", url, acked);
    Run {
        mode: "raw-pg (1 thread, 1000/txn, searchable at commit)".into(),
        posts,
        acked,
        indexed: acked,
        batches: Some((posts.div_ceil(1000) as u64, 1000.0)),
        latency,
        bytes: db_bytes(url),
        others: None,
    }
}

/// Runs `drive` on a new engine at `at` (a URL or a file) and reads its writer's counters.
fn run_ember(
    at: &str,
    mode: String,
    posts: usize,
    drive: impl FnOnce(&Engine, &World) -> Latencies,
) -> Run {
    let (engine, world) = new_engine(Path::new(at));
    if at.starts_with("postgres") {
        reset_statements(at);
    }
    let before = engine.stats();
    let start = Instant::now();
    let latency = drive(&engine, &world);
    let acked = start.elapsed();
    let indexed = if at.starts_with("postgres") {
        wait_indexed(at, INDEX_LIMIT)
    } else {
        ember_benches::fixture::wait_indexed(Path::new(at))
    } - start;
    let after = engine.stats();
    engine.close();
    assert_eq!(latency.len(), posts);
    if at.starts_with("postgres") {
        print_statements(&mode, at, acked);
    }
    let bytes = if at.starts_with("postgres") {
        db_bytes(at)
    } else {
        ember_benches::fixture::db_bytes(Path::new(at))
    };
    Run {
        mode,
        posts,
        acked,
        indexed,
        batches: Some(batches(&before, &after)),
        latency,
        bytes,
        others: None,
    }
}

/// The profile of a PostgreSQL mode: the statements that took the most server time (from
/// `pg_stat_statements`), against the mode's wall time.
fn print_statements(mode: &str, url: &str, wall: Duration) {
    let rows = statements(url, 8);
    if rows.is_empty() {
        return;
    }
    let total: f64 = rows.iter().filter_map(|r| r[1].parse::<f64>().ok()).sum();
    println!(
        "\n### Server time by statement, {mode} (wall {:.0} ms; these statements {total:.0} ms)\n",
        wall.as_secs_f64() * 1e3
    );
    let mut t = Table::new(&["calls", "total ms", "mean ms", "rows", "statement"]);
    for r in rows {
        t.row(r);
    }
    print!("{}", t.render());
}

fn batches(before: &Stats, after: &Stats) -> (u64, f64) {
    let tx = after.transactions - before.transactions;
    let cmds = after.commands - before.commands;
    (tx, cmds as f64 / tx.max(1) as f64)
}

/// Two child processes (this binary, see [`child`]) each posting `posts / 2` pipelined into
/// the database at `url`, started together; aggregate rate from the first start to the last
/// acknowledgement, latencies merged.
fn run_two_engines(url: &str, posts: usize) -> Run {
    let (engine, _world) = new_engine(Path::new(url));
    engine.close();
    reset_statements(url);
    let exe = std::env::current_exe().expect("own path");
    let start = Instant::now();
    let children: Vec<_> = (0..2)
        .map(|i| {
            Command::new(&exe)
                .env(CHILD_ENV, format!("{url} {} {}", posts / 2, 10 + i))
                .env_remove("EMBER_BENCH_ONLY")
                .stdout(std::process::Stdio::piped())
                .spawn()
                .expect("spawn child engine")
        })
        .collect();
    let mut latency = Latencies::default();
    let mut each = Vec::new();
    let mut done = 0;
    for c in children {
        let out = c.wait_with_output().expect("child engine");
        assert!(out.status.success(), "child engine failed");
        let text = String::from_utf8_lossy(&out.stdout);
        for line in text.lines() {
            if let Some(us) = line.strip_prefix("lat ") {
                for v in us.split(',').filter_map(|x| x.parse::<u64>().ok()) {
                    latency.push(Duration::from_micros(v));
                }
            } else if let Some(r) = line.strip_prefix("rate ") {
                each.push(r.to_owned());
                done += posts / 2;
            }
        }
    }
    let acked = start.elapsed();
    let indexed = wait_indexed(url, INDEX_LIMIT) - start;
    print_statements("two-engines-pg", url, acked);
    Run {
        mode: format!(
            "two-engines-pg (2 processes × {IN_FLIGHT} in flight; each {} posts/s)",
            each.join(" and ")
        ),
        posts: done,
        acked,
        indexed,
        batches: None,
        latency,
        bytes: db_bytes(url),
        others: None,
    }
}

/// The child side of [`run_two_engines`]: opens the engine, posts, prints its rate and
/// every latency in microseconds.
fn child(spec: &str) {
    let mut parts = spec.split(' ');
    let (Some(url), Some(n), Some(_seed)) = (parts.next(), parts.next(), parts.next()) else {
        panic!("{CHILD_ENV}={spec}: expected `url posts seed`");
    };
    let posts: usize = n.parse().expect("posts");
    let engine = Engine::open(options(Path::new(url))).expect("child open");
    let world = World::load(&engine).expect("child world");
    let v = Vocabulary::standard();
    let start = Instant::now();
    let lat = pipelined(&engine, &world, &v, posts, IN_FLIGHT);
    let rate = posts as f64 / start.elapsed().as_secs_f64();
    engine.close();
    println!("rate {rate:.0}");
    let mut lat = lat;
    let us: Vec<String> = (1..=1000)
        .map(|i| lat.percentile(i as f64 / 10.0).as_micros().to_string())
        .collect();
    // A thousand quantiles stand for the child's samples (enough for p50 / p99 / max).
    println!("lat {}", us.join(","));
}

/// Offers `rate` posts/s from [`RATE_THREADS`] blocking threads for `secs` s after a
/// [`WARM_UP`], on the existing database at `url`.
fn run_paced(url: &str, v: &Vocabulary, rate: usize, secs: usize) -> (PacedLatencies, (u64, f64)) {
    let engine = Engine::open(options(Path::new(url))).expect("reopen");
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
                let schedule = Schedule {
                    first: t0 + period * t as u32 / RATE_THREADS as u32,
                    period,
                    record_from,
                    end,
                };
                s.spawn(move || paced_poster(engine, world, v, t, schedule))
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
    let b = batches(&before, &engine.stats());
    engine.close();
    (latency, b)
}

fn main() {
    if let Ok(spec) = std::env::var(CHILD_ENV) {
        child(&spec);
        return;
    }
    let posts = env_usize("EMBER_BENCH_MESSAGES", 100_000);
    let v = &Vocabulary::standard();
    let mut pg = PgServer::start();
    let scratch = tempfile::tempdir_in(ember_benches::bench_data_dir()).expect("scratch dir");
    let mut runs: Vec<Run> = Vec::new();
    let mut step = |name: &str, f: &mut dyn FnMut(&str) -> Run, at: String| {
        if !wanted(name) {
            return;
        }
        eprintln!("{name}: {posts} posts...");
        let meter = CpuMeter::start();
        let mut run = f(&at);
        run.others = meter.others_percent();
        eprintln!("  {:.0} posts/s", run.rate());
        runs.push(run);
    };
    let sqlite = |name: &str| {
        scratch
            .path()
            .join(format!("{name}.db"))
            .display()
            .to_string()
    };
    step(
        "naive-pg",
        &mut |u| run_naive(u, posts, v),
        pg.database("naive_pg"),
    );
    step(
        "raw-pg",
        &mut |u| run_raw(u, posts, v),
        pg.database("raw_pg"),
    );
    let mode = format!("ember-pg-{POOL} (blocking posters)");
    step(
        "ember-pg-16",
        &mut |u| {
            run_ember(u, mode.clone(), posts, |e, w| {
                blocking_posters(e, w, v, posts, POOL)
            })
        },
        pg.database("ember_pg_16"),
    );
    let mode = format!("pipelined-pg ({IN_FLIGHT} in flight)");
    step(
        "pipelined-pg",
        &mut |u| {
            run_ember(u, mode.clone(), posts, |e, w| {
                pipelined(e, w, v, posts, IN_FLIGHT)
            })
        },
        pg.database("pipelined_pg"),
    );
    let mode = format!("ember-sqlite-{POOL} (blocking posters)");
    step(
        "ember-sqlite-16",
        &mut |p| {
            run_ember(p, mode.clone(), posts, |e, w| {
                blocking_posters(e, w, v, posts, POOL)
            })
        },
        sqlite("ember_sqlite_16"),
    );
    let mode = format!("pipelined-sqlite ({IN_FLIGHT} in flight)");
    step(
        "pipelined-sqlite",
        &mut |p| {
            run_ember(p, mode.clone(), posts, |e, w| {
                pipelined(e, w, v, posts, IN_FLIGHT)
            })
        },
        sqlite("pipelined_sqlite"),
    );
    step(
        "two-engines-pg",
        &mut |u| run_two_engines(u, posts),
        pg.database("two_engines_pg"),
    );
    print_runs(&mut runs, posts);
    if wanted("paced-pg") && runs.iter().any(|r| r.mode.starts_with("pipelined-pg")) {
        let rate = env_usize("EMBER_BENCH_RATE", 1000);
        let secs = env_usize("EMBER_BENCH_RATE_SECS", 10);
        eprintln!("paced-pg: {rate} posts/s for {secs} s...");
        let url = pg.database("pipelined_pg_paced");
        let (engine, _) = new_engine(Path::new(&url));
        engine.close();
        reset_statements(&url);
        let (mut l, (tx, avg)) = run_paced(&url, v, rate, secs);
        println!(
            "\n## Ack latency on PostgreSQL at {rate} posts/s offered ({RATE_THREADS} threads, \
             {secs} s after {} s warm-up; {tx} transactions, avg batch {avg:.2})\n",
            WARM_UP.as_secs()
        );
        let mut t = Table::new(&[
            "measured from",
            "acks",
            "p50 ms",
            "p99 ms",
            "p99.9 ms",
            "max ms",
        ]);
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
        let p99 = l.from_schedule.percentile(99.0);
        let verdict = if p99 <= Duration::from_millis(5) {
            "met"
        } else {
            "MISSED"
        };
        println!(
            "\np99 ack ≤ 5 ms at {rate} posts/s: {} ms, {verdict}",
            ms(p99)
        );
    }
    if let Some(dir) = pg.data_dir() {
        eprintln!("(throw-away PostgreSQL in {}, removed now)", dir.display());
    }
}

fn print_runs(runs: &mut [Run], posts: usize) {
    println!(
        "\n## Posting on PostgreSQL, 0 → {posts} messages, {ROOMS} rooms, ~100-byte contents\n"
    );
    let mut t = Table::new(&[
        "mode",
        "posts/s (acked)",
        "posts/s (indexed)",
        "transactions",
        "avg batch",
        "ack p50 / p99 / max ms",
        "db MB",
        "others' CPU % (PostgreSQL included)",
    ]);
    for r in runs.iter_mut() {
        t.row(r.cells());
    }
    print!("{}", t.render());
    println!("\n| modes | ratio | target | verdict |\n|---|---|---|---|");
    ratio(runs, "ember-pg-16", "naive-pg", 3.0);
    ratio(runs, "pipelined-pg", "raw-pg", 0.7);
    ratio(runs, "ember-pg-16", "ember-sqlite-16", 0.0);
    ratio(runs, "pipelined-pg", "pipelined-sqlite", 0.0);
    ratio(runs, "two-engines-pg", "pipelined-pg", 0.0);
}

/// Prints `a`'s rate over `b`'s against `target` (0: no target, for information).
fn ratio(runs: &[Run], a: &str, b: &str, target: f64) {
    let find = |m: &str| runs.iter().find(|r| r.mode.starts_with(m));
    let (Some(x), Some(y)) = (find(a), find(b)) else {
        return;
    };
    let r = x.rate() / y.rate();
    let (t, verdict) = if target <= 0.0 {
        ("–".to_string(), "(information)")
    } else if r >= target {
        (format!("≥ {target}"), "met")
    } else {
        (format!("≥ {target}"), "MISSED")
    };
    println!("| {a} / {b} | {r:.2} | {t} | {verdict} |");
}
