//! HTTP requests through the server's request parser and router on a real server: never a panic, every complete request answered by one well-formed response with a status the server may send.
//! The check is `ember_server::fuzzing::http::check`, which the corpus replay in
//! `server-bin/tests/fuzz_corpus_replays.rs` runs too.

#![no_main]

use std::sync::OnceLock;

use ember_server::fuzzing::{Fixture, http};
use libfuzzer_sys::fuzz_target;

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<(tempfile::TempDir, Fixture)> = OnceLock::new();
    &FIXTURE
        .get_or_init(|| {
            let dir = tempfile::tempdir().expect("tempdir");
            let fixture = Fixture::open(dir.path());
            (dir, fixture)
        })
        .1
}

fuzz_target!(|data: &[u8]| http::check(fixture(), data));
