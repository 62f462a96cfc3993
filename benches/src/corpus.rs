//! The large database the read benchmarks run on, built once and cached.
//!
//! It is written with [`ember_engine::RawStore`] (Ember's schema, 1000 posts per
//! transaction, full-text indexed after each batch) into `target/bench-data/`, and marked
//! complete with a `.done` file so that an interrupted build is started over, not reused.
//! Every run of the read benchmarks posts a few probe messages into it, so it grows by
//! about 50 messages per run.

use std::path::PathBuf;
use std::time::Instant;

use rand::SeedableRng;
use rand::rngs::StdRng;

use crate::fixture::{Checkpointer, IndexPolicy, db_bytes, drive_raw, new_raw};
use crate::text::Vocabulary;

/// Bump when the corpus's content or layout changes, so that old caches are not reused.
const CORPUS_VERSION: u32 = 1;

/// Messages posted per progress line while building.
const CHUNK: usize = 100_000;

/// The path of the cached corpus of `messages` messages, building it first when missing.
pub fn ensure(messages: usize) -> PathBuf {
    let dir = crate::bench_data_dir();
    let path = dir.join(format!("corpus-{messages}-v{CORPUS_VERSION}.db"));
    let done = dir.join(format!("corpus-{messages}-v{CORPUS_VERSION}.done"));
    if done.exists() && path.exists() {
        return path;
    }
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
    eprintln!("building {} ({messages} messages, once)...", path.display());
    let started = Instant::now();
    build(&path, messages);
    eprintln!(
        "built in {:.1} s, {} MB",
        started.elapsed().as_secs_f64(),
        db_bytes(&path) / 1_000_000
    );
    std::fs::write(&done, format!("{messages} messages\n")).expect("write corpus marker");
    path
}

fn build(path: &std::path::Path, messages: usize) {
    let (mut store, world) = new_raw(path);
    let checkpointer = Checkpointer::spawn(path);
    let vocab = Vocabulary::standard();
    let mut rng = StdRng::seed_from_u64(7);
    let mut done = 0;
    while done < messages {
        let n = CHUNK.min(messages - done);
        drive_raw(
            &mut store,
            &world,
            &vocab,
            &mut rng,
            n,
            1000,
            IndexPolicy::EachBatch,
        );
        done += n;
        eprintln!("  {done} messages");
    }
    drop(checkpointer);
    store
        .connection()
        .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
        .expect("final checkpoint");
}
