//! Shared fixtures for Ember's benchmarks.
//!
//! The bench binaries in `benches/benches/` use this crate for everything they have in
//! common:
//!
//! - [`text`]: a fixed vocabulary with Zipf-distributed word frequencies, used to make
//!   realistic ~100-byte message contents (so that full-text terms have realistic
//!   frequencies);
//! - [`naive`]: the baseline most servers use (fixed schema, random UUID v4 ids, one
//!   transaction per post, SELECT-then-INSERT dedup);
//! - [`fixture`]: Ember set-up (users, rooms), the `RawStore` driver, a background WAL
//!   checkpointer for raw runs, and waiting for the full-text backlog to drain;
//! - [`corpus`]: the cached 1M-message database for the read benchmarks;
//! - [`drive`]: posting through an engine (blocking posters, a pipeline with many posts in
//!   flight, posters on a fixed schedule), measuring acknowledgement latency;
//! - [`measure`]: latency percentiles and table printing;
//! - [`contention`]: every kind of call at once on one database, counting failed calls;
//! - [`pg_server`]: the PostgreSQL the PostgreSQL benches use (`EMBER_BENCH_PG_URL`, or a
//!   throw-away cluster), [`naive_pg`] and [`raw_pg`] (the baselines on PostgreSQL) and
//!   [`pg_fixture`] (their drivers).
//!
//! Sizes come from environment variables (see [`env_usize`]) so that every bench can be
//! smoke-run quickly, e.g. `EMBER_BENCH_MESSAGES=20000`.

pub mod contention;
pub mod corpus;
pub mod drive;
pub mod fixture;
pub mod measure;
pub mod naive;
pub mod naive_pg;
pub mod pg_fixture;
pub mod pg_server;
pub mod raw_pg;
pub mod text;

use std::path::PathBuf;

/// Rooms in every benchmark database.
pub const ROOMS: usize = 100;

/// Users in every benchmark database (one per blocking poster thread, at most 16).
pub const USERS: usize = 16;

/// Reads a positive integer from the environment variable `name`, or `default` when it is
/// unset. Panics on a value that is not a number, so that a typo is not silently ignored.
pub fn env_usize(name: &str, default: usize) -> usize {
    match std::env::var(name) {
        Ok(v) => v
            .trim()
            .replace('_', "")
            .parse()
            .unwrap_or_else(|_| panic!("{name}={v} is not a number")),
        Err(_) => default,
    }
}

/// `target/bench-data/` (or `$CARGO_TARGET_DIR/bench-data/`), created when missing. Cached
/// databases and the per-run scratch directories live here, on the same disk as the build.
pub fn bench_data_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"));
    let dir = target.join("bench-data");
    std::fs::create_dir_all(&dir).expect("cannot create target/bench-data");
    dir.canonicalize().unwrap_or(dir)
}
