//! Every committed corpus file of the server's fuzz targets (`fuzz/corpus/<target>/`) goes
//! through the same check as its fuzz target (`ember_server::fuzzing`), against a real
//! server over a real engine, on stable, so the inputs the fuzzers found keep protecting
//! without a nightly toolchain. A file whose check panics fails the test, named.

mod common;

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::PathBuf;

use ember_server::fuzzing::{Fixture, frames, http, upgrade};

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
            let name = path.file_name().expect("a file name");
            let name = name.to_string_lossy().into_owned();
            (name, std::fs::read(&path).expect("read a corpus file"))
        })
        .collect();
    files.sort();
    assert!(!files.is_empty(), "{} holds no corpus files", dir.display());
    files
}

/// Runs `check` over every corpus file of `target` on one fresh server and fails naming
/// each file that failed.
fn replay(target: &str, check: fn(&Fixture, &[u8])) {
    common::watchdog::arm();
    let dir = tempfile::tempdir().expect("tempdir");
    let fixture = Fixture::open(dir.path());
    let failed: Vec<String> = corpus(target)
        .into_iter()
        .filter_map(|(name, bytes)| {
            catch_unwind(AssertUnwindSafe(|| check(&fixture, &bytes)))
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
fn server_ws_frames_corpus_passes_its_checks() {
    replay("server_ws_frames", frames::check);
}

#[test]
fn server_http_requests_corpus_passes_its_checks() {
    replay("server_http_requests", http::check);
}

#[test]
fn server_ws_upgrade_corpus_passes_its_checks() {
    replay("server_ws_upgrade", upgrade::check);
}
