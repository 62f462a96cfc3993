//! The large database the read benchmarks run on, built once and cached.
//!
//! It is written with [`ember_engine::RawStore`] (Ember's schema, 1000 posts per
//! transaction, full-text indexed after each batch) into `target/bench-data/`, and marked
//! complete with a `.done` file so that an interrupted build is started over, not reused.
//! Its name carries a fingerprint of the schema the engine creates today, so that a changed
//! schema (even one edited in place, without a new `SCHEMA_VERSION`), page size or full-text
//! setting gets a new corpus.
//! Every run of the read benchmarks posts a few probe messages into it, so it grows by
//! about 50 messages per run.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::PathBuf;
use std::time::Instant;

use rand::SeedableRng;
use rand::rngs::StdRng;

use crate::fixture::{Checkpointer, IndexPolicy, db_bytes, drive_raw, new_engine, new_raw};
use crate::text::Vocabulary;

/// Bump when the corpus's content or layout changes, so that old caches are not reused.
const CORPUS_VERSION: u32 = 1;

/// Messages posted per progress line while building.
const CHUNK: usize = 100_000;

/// The path of the cached corpus of `messages` messages, building it first when missing.
pub fn ensure(messages: usize) -> PathBuf {
    let dir = crate::bench_data_dir();
    let stem = format!(
        "corpus-{messages}-{:016x}-v{CORPUS_VERSION}",
        schema_fingerprint()
    );
    let path = dir.join(format!("{stem}.db"));
    let done = dir.join(format!("{stem}.done"));
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

/// A hash of the schema (`sqlite_master.sql`) of a new, empty Ember database.
fn schema_fingerprint() -> u64 {
    let dir = tempfile::tempdir_in(crate::bench_data_dir()).expect("scratch dir");
    let path = dir.path().join("schema.db");
    let (engine, _) = new_engine(&path);
    engine.close();
    let conn = rusqlite::Connection::open(&path).expect("open schema probe");
    let mut stmt = conn
        .prepare("SELECT type, name, coalesce(sql, '') FROM sqlite_master ORDER BY type, name")
        .expect("read schema");
    let rows = stmt
        .query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
            ))
        })
        .expect("read schema");
    let mut h = DefaultHasher::new();
    for row in rows {
        row.expect("schema row").hash(&mut h);
    }
    let page_size: u32 = conn
        .query_row("PRAGMA page_size", [], |r| r.get(0))
        .expect("read page size");
    page_size.hash(&mut h);
    // Full-text settings (e.g. its leaf size) live in a table, not in the schema's SQL.
    let mut stmt = conn
        .prepare("SELECT k, quote(v) FROM messages_fts_config ORDER BY k")
        .expect("read full-text settings");
    let settings = stmt
        .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
        .expect("read full-text settings");
    for setting in settings {
        setting.expect("full-text setting").hash(&mut h);
    }
    h.finish()
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
