//! Every committed fuzz corpus file of the engine's targets (`fuzz/corpus/<target>/`) goes
//! through the same check as its fuzz target (`ember_engine::fuzzing`), on stable, so the
//! inputs the fuzzers found keep protecting without a nightly toolchain. A file whose check
//! panics fails the test, named.
//!
//! SQLite only: the fuzzing fixture (`ember_engine::fuzzing::Fixture`) opens a SQLite file.

mod common;

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::PathBuf;

use ember_engine::fuzzing::{Fixture, content, search, stateful};

/// The corpus files of `target`, sorted; fails when there are none (a renamed directory
/// must not turn the replay into a test that cannot fail).
fn corpus(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/corpus")
        .join(target);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
        .map(|entry| entry.expect("a corpus entry").path())
        .filter(|path| path.is_file())
        .map(|path| {
            let bytes = std::fs::read(&path).expect("read a corpus file");
            (
                path.file_name().unwrap().to_string_lossy().into_owned(),
                bytes,
            )
        })
        .collect();
    files.sort();
    assert!(!files.is_empty(), "{} holds no corpus files", dir.display());
    files
}

/// Runs `check` over every corpus file of `target` and fails naming each file that failed.
fn replay(target: &str, check: impl Fn(&[u8])) {
    common::watchdog::arm();
    let failed: Vec<String> = corpus(target)
        .into_iter()
        .filter_map(|(name, bytes)| {
            catch_unwind(AssertUnwindSafe(|| check(&bytes)))
                .err()
                .map(|_| name)
        })
        .collect();
    assert!(
        failed.is_empty(),
        "{target}: these corpus files fail: {failed:?}"
    );
}

#[test]
fn content_normalisation_corpus_passes_its_checks() {
    replay("content_normalisation", content::check);
}

#[test]
fn search_query_corpus_passes_its_checks() {
    let dir = tempfile::tempdir().unwrap();
    let fixture = Fixture::open(dir.path());
    search::seed(&fixture);
    replay("search_query", |data| search::check(&fixture, data));
}

#[test]
fn stateful_room_corpus_passes_its_checks() {
    let dir = tempfile::tempdir().unwrap();
    let fixture = Fixture::open(dir.path());
    replay("stateful_room", |data| stateful::check(&fixture, data));
}
